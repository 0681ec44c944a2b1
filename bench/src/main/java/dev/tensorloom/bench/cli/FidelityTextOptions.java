package dev.tensorloom.bench.cli;

import java.util.List;
import picocli.CommandLine.Option;

/**
 * The text the fidelity studies (quant-study, mpo-study's compression) judge a changed model on: held-out glosses for
 * the cosines and a retrieval corpus whose first glosses are the queries, all from {@link CalibrationText}'s
 * evaluation slice, so no calibration gloss judges a model.
 */
final class FidelityTextOptions {

    @Option(names = "--held-out", defaultValue = "256", paramLabel = "N",
            description = "held-out glosses for the cosines (default: ${DEFAULT-VALUE})")
    int heldOut;

    @Option(names = "--corpus", defaultValue = "2000", paramLabel = "N",
            description = "glosses in the retrieval corpus (default: ${DEFAULT-VALUE})")
    int corpus;

    @Option(names = "--queries", defaultValue = "200", paramLabel = "N",
            description = "retrieval queries, the corpus's first (default: ${DEFAULT-VALUE})")
    int queries;

    /** The held-out glosses, then the corpus: {@link #heldOut} + {@link #corpus} of them. */
    List<String> texts() {
        if (queries < 1 || queries > corpus) {
            throw new IllegalArgumentException("--queries must be 1 to --corpus (" + corpus + "), got " + queries);
        }
        return CalibrationText.evaluation(heldOut + corpus);
    }
}
