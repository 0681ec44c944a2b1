package dev.tensorloom.hyperbolic.reasoning;

import dev.tensorloom.hyperbolic.hierarchy.CloseNames;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The index of each name in a list of distinct names, and the one wording of a name that is not there. */
final class NameIndex {

    private final String kind;
    private final List<String> names;
    private final Map<String, Integer> index = new HashMap<>();

    /** @throws IllegalArgumentException for a name that appears twice */
    NameIndex(String kind, List<String> names) {
        this.kind = kind;
        this.names = names;
        for (int i = 0; i < names.size(); i++) {
            Integer earlier = index.put(names.get(i), i);
            if (earlier != null) {
                throw new IllegalArgumentException(kind + " name '" + names.get(i) + "' appears twice (at " + earlier
                        + " and " + i + ")");
            }
        }
    }

    /** The index of name, or an exception naming it with close matches (or, when none is close, every name if few). */
    int of(String name) {
        Integer i = index.get(name);
        if (i == null) {
            String close = CloseNames.suggest(name, names);
            throw new IllegalArgumentException("unknown " + kind + " '" + name + "'" + (close.isEmpty()
                    && names.size() <= 50 ? "; the " + kind + "s are " + names : close));
        }
        return i;
    }
}
