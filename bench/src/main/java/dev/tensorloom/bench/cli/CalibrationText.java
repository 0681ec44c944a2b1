package dev.tensorloom.bench.cli;

import dev.tensorloom.testkit.WordNetSentences;
import java.util.List;

/**
 * Where quantization's text comes from: WordNet glosses, calibration from the front of testkit's fixed order,
 * evaluation from {@link #EVALUATION_START} on, so no sentence a model was calibrated on ever judges it (the
 * glosses are distinct; CalibrationTextTest checks the two slices share none).
 */
final class CalibrationText {

    /** The most calibration glosses asked for; evaluation starts after them. */
    static final int MAX_CALIBRATION = 10_000;
    /** Index of the first evaluation gloss. */
    static final int EVALUATION_START = MAX_CALIBRATION;

    private CalibrationText() {
    }

    /** The first {@code count} glosses (at most {@link #MAX_CALIBRATION}). */
    static List<String> calibration(int count) {
        if (count < 1 || count > MAX_CALIBRATION) {
            throw new IllegalArgumentException("calibration takes 1 to " + MAX_CALIBRATION + " glosses, got " + count);
        }
        return WordNetSentences.glosses(count);
    }

    /** {@code count} glosses from {@link #EVALUATION_START} on, none of them a calibration gloss. */
    static List<String> evaluation(int count) {
        if (count < 1 || EVALUATION_START + count > WordNetSentences.available()) {
            throw new IllegalArgumentException("evaluation takes 1 to " + (WordNetSentences.available()
                    - EVALUATION_START) + " glosses, got " + count);
        }
        return WordNetSentences.glosses(EVALUATION_START + count).subList(EVALUATION_START, EVALUATION_START + count);
    }
}
