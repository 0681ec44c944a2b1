package dev.tensorloom.bench.cli;

/**
 * How far an engine's outputs are from the reference's on the same sentences: the largest absolute
 * difference of any token's last hidden state, and the smallest cosine between pooled embeddings.
 */
record Parity(String engine, int sentences, double maxHiddenDifference, double minCosine) {

    /** The bars of the issue: 1e-4 on hidden states, 0.99999 cosine on embeddings. */
    static final double MAX_HIDDEN_DIFFERENCE = 1e-4;
    static final double MIN_COSINE = 0.99999;

    boolean passes() {
        return maxHiddenDifference <= MAX_HIDDEN_DIFFERENCE && minCosine >= MIN_COSINE;
    }

    /** Compares one chunk of sentences and folds it into this result. */
    Parity plus(float[][][] states, float[][][] expectedStates, float[][] vectors, float[][] expectedVectors) {
        double diff = maxHiddenDifference;
        double cos = minCosine;
        for (int s = 0; s < states.length; s++) {
            if (states[s].length != expectedStates[s].length) {
                throw new IllegalStateException(engine + " saw " + states[s].length + " tokens where the reference saw "
                        + expectedStates[s].length + " (sentence " + (sentences + s) + ")");
            }
            for (int t = 0; t < states[s].length; t++) {
                for (int j = 0; j < states[s][t].length; j++) {
                    diff = Math.max(diff, Math.abs(states[s][t][j] - expectedStates[s][t][j]));
                }
            }
            cos = Math.min(cos, cosine(vectors[s], expectedVectors[s]));
        }
        return new Parity(engine, sentences + states.length, diff, cos);
    }

    static Parity start(String engine) {
        return new Parity(engine, 0, 0, 1);
    }

    private static double cosine(float[] a, float[] b) {
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / Math.sqrt(na * nb);
    }
}
