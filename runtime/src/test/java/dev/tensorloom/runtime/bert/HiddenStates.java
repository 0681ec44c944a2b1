package dev.tensorloom.runtime.bert;

import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.TokenBatch;

/** Test inputs and comparisons in the shapes ONNX Runtime takes and gives: [text][token] ids, [text][token][hidden] states. */
public final class HiddenStates {

    private HiddenStates() {
    }

    /** The encoder's input for [text][token] ids, token types and a 0/1 mask. */
    public static TokenBatch batch(long[][] ids, long[][] types, long[][] mask) {
        int texts = ids.length;
        int seq = ids[0].length;
        int[] flatIds = new int[texts * seq];
        int[] flatTypes = new int[texts * seq];
        float[] flatMask = new float[texts * seq];
        int[] lengths = new int[texts];
        for (int b = 0; b < texts; b++) {
            for (int t = 0; t < seq; t++) {
                flatIds[b * seq + t] = (int) ids[b][t];
                flatTypes[b * seq + t] = (int) types[b][t];
                flatMask[b * seq + t] = mask[b][t];
                lengths[b] += (int) mask[b][t];
            }
        }
        return new TokenBatch(texts, seq, flatIds, flatTypes, flatMask, lengths);
    }

    /** The largest |hidden - expected| over the real tokens of every text; hidden is [texts·seq, width]. */
    public static double maxDifference(Tensor hidden, TokenBatch batch, float[][][] expected) {
        double worst = 0;
        for (int b = 0; b < batch.batch(); b++) {
            for (int t = 0; t < batch.lengths()[b]; t++) {
                for (int j = 0; j < hidden.cols(); j++) {
                    worst = Math.max(worst, Math.abs(hidden.get((long) b * batch.seqLength() + t, j)
                            - expected[b][t][j]));
                }
            }
        }
        return worst;
    }
}
