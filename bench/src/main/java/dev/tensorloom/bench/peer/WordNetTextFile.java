package dev.tensorloom.bench.peer;

import dev.tensorloom.testkit.WordNetSentences;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Writes real English texts for the memory comparison (bench/embed-memory.sh), one per line: WordNet glosses in
 * {@link WordNetSentences}' fixed order, consecutive ones joined until each text reaches a length drawn evenly
 * from {@value #MIN_WORDS} to {@value #MAX_WORDS} words with a fixed seed, never past {@value #MAX_WORDS}. The
 * file is the same on every machine.
 *
 * <p>{@code java ... WordNetTextFile OUT [COUNT]} (default 1,000 texts).
 */
public final class WordNetTextFile {

    static final int MIN_WORDS = 5;
    static final int MAX_WORDS = 60;
    private static final long SEED = 60_05L;

    private WordNetTextFile() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length < 1 || args.length > 2) {
            System.err.println("usage: WordNetTextFile OUT [COUNT]");
            System.exit(2);
        }
        int count = args.length == 2 ? Integer.parseInt(args[1]) : 1000;
        Files.write(Path.of(args[0]), texts(count), StandardCharsets.UTF_8);
    }

    /** {@code count} texts of {@value #MIN_WORDS} to {@value #MAX_WORDS} words. */
    static List<String> texts(int count) {
        Random random = new Random(SEED);
        List<String> texts = new ArrayList<>(count);
        StringBuilder text = new StringBuilder();
        int words = 0;
        int target = target(random);
        for (String gloss : WordNetSentences.glosses(WordNetSentences.available())) {
            if (texts.size() == count) {
                break;
            }
            int glossWords = gloss.split(" ").length;
            if (glossWords > MAX_WORDS) {
                continue;
            }
            if (words + glossWords > MAX_WORDS) {
                // This gloss would overshoot: close the text (if long enough) and start the next with it.
                if (words >= MIN_WORDS) {
                    texts.add(text.toString());
                    target = target(random);
                }
                text.setLength(0);
                words = 0;
            }
            text.append(words == 0 ? "" : " ").append(gloss);
            words += glossWords;
            if (words >= target) {
                texts.add(text.toString());
                text.setLength(0);
                words = 0;
                target = target(random);
            }
        }
        if (texts.size() < count) {
            throw new IllegalStateException("WordNet ran out after " + texts.size() + " of " + count + " texts");
        }
        return List.copyOf(texts.subList(0, count));
    }

    private static int target(Random random) {
        return MIN_WORDS + random.nextInt(MAX_WORDS - MIN_WORDS + 1);
    }
}
