package dev.tensorloom.hyperbolic.hierarchy;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;

/** Suggestions for a name that is not there: the known names nearest to it, for error messages. */
public final class CloseNames {

    private CloseNames() {
    }

    /**
     * ": did you mean a, b, c?" from up to five known names that share the name's stem (the part before its
     * first '.', so "dog" suggests "dog.n.01") or lie within a third of its length in edit distance; "" when
     * none is close.
     */
    public static String suggest(String name, Collection<String> known) {
        record Scored(String name, int distance) {
        }
        String stem = name.contains(".") ? name.substring(0, name.indexOf('.')) : name;
        List<Scored> close = new ArrayList<>();
        int limit = Math.max(2, name.length() / 3);
        for (String candidate : known) {
            boolean sameStem = candidate.startsWith(stem + ".");
            if (!sameStem && Math.abs(candidate.length() - name.length()) > limit) {
                continue;
            }
            int d = sameStem ? 0 : editDistance(name, candidate, limit);
            if (d <= limit) {
                close.add(new Scored(candidate, d));
            }
        }
        if (close.isEmpty()) {
            return "";
        }
        close.sort(Comparator.comparingInt(Scored::distance).thenComparing(Scored::name));
        return ": did you mean " + String.join(", ", close.stream().limit(5).map(Scored::name).toList()) + "?";
    }

    /**
     * The edit distance with adjacent transpositions (optimal string alignment: "dgo" is one edit from "dog"), or
     * limit + 1 when it exceeds limit.
     */
    static int editDistance(String a, String b, int limit) {
        int[] before = new int[b.length() + 1];
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    cur[j] = Math.min(cur[j], before[j - 2] + 1);
                }
            }
            int[] t = before;
            before = prev;
            prev = cur;
            cur = t;
        }
        return Math.min(prev[b.length()], limit + 1);
    }
}
