package dev.tensorloom.runtime.bert;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.FloatAssertions;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.lang.foreign.Arena;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The edges of the encoder's input on the fused paths (the epilogues and the streaming attention of the
 * vector and cuda backends, cuda on the CPU emulation in the build) against the scalar oracle's unfused
 * kernels: a batch of one padded token (no real key to attend to), a full text beside one of padding alone,
 * texts of several lengths padded to the longest (computed on their real tokens only, {@link TokenPacking}) against
 * each text alone, and the refusals of an empty batch and of a sequence longer than the model's positions.
 */
class BertEncoderEdgeCasesTest {

    private static BertWeights weights;
    private static BertEncoder scalar;
    private static BertEncoder vector;
    private static BertEncoder cuda;

    @BeforeAll
    static void load() throws Exception {
        try (OnnxModel model = OnnxModel.read(TinyBertOnnx.build(TinyBertOnnx.Spec.small()).bytes(), "tiny.onnx")) {
            weights = BertOnnxLoader.load(model);
        }
        scalar = new BertEncoder(weights, BackendProvider.byName("scalar"));
        vector = new BertEncoder(weights, BackendProvider.byName("vector"));
        cuda = new BertEncoder(weights, BackendProvider.byName("cuda"));
    }

    @AfterAll
    static void close() {
        cuda.close();
        vector.close();
        scalar.close();
        weights.close();
    }

    @Test
    void anEmptyBatchIsRefusedByEveryBackend() {
        TokenBatch empty = new TokenBatch(0, 4, new int[0], new int[0], new float[0], new int[0]);
        try (Arena arena = Arena.ofShared()) {
            for (BertEncoder encoder : new BertEncoder[] {scalar, vector, cuda}) {
                var e = assertThrows(IllegalArgumentException.class, () -> encoder.forward(empty, arena));
                assertTrue(e.getMessage().contains("empty batch"), e.getMessage());
            }
        }
    }

    @Test
    void aBatchOfOnePaddedTokenMatchesTheOracle() {
        // No real key: attention gives zeros, and the layer goes on from the biases and the residual.
        TokenBatch padded = new TokenBatch(1, 1, new int[] {0}, new int[] {0}, new float[] {0f}, new int[] {0});
        try (Arena arena = Arena.ofShared()) {
            float[] expected = scalar.forward(padded, arena).toArray();
            for (BertEncoder encoder : new BertEncoder[] {vector, cuda}) {
                float[] actual = encoder.forward(padded, arena).toArray();
                // Two layers of O(1) LayerNormed values; the bound of the kernel contract's LayerNorm, per layer.
                FloatAssertions.assertClose(expected, actual, expected.length, 1e-5, 1e-5);
            }
        }
    }

    @Test
    void aPaddedBatchOfAFullAndAnAllPaddingTextMatchesTheOracle() {
        int seq = weights.config().maxPositions();
        int[] ids = new int[2 * seq];
        float[] mask = new float[2 * seq];
        for (int t = 0; t < seq; t++) {
            ids[t] = 1 + t % (weights.config().vocabSize() - 1);
            mask[t] = 1f;
        }
        TokenBatch batch = new TokenBatch(2, seq, ids, new int[2 * seq], mask, new int[] {seq, 0});
        try (Arena arena = Arena.ofShared()) {
            float[] expected = scalar.forward(batch, arena).toArray();
            for (BertEncoder encoder : new BertEncoder[] {vector, cuda}) {
                float[] actual = encoder.forward(batch, arena).toArray();
                FloatAssertions.assertClose(expected, actual, weights.config().hiddenSize(), 1e-5, 1e-5);
            }
        }
    }

    @Test
    void textsPaddedToTheLongestGetTheStatesEachGetsAlone() {
        int[] lengths = {5, 1, 9, 3};
        int seq = 9;
        int[] ids = new int[lengths.length * seq];
        int[] types = new int[ids.length];
        float[] mask = new float[ids.length];
        for (int b = 0; b < lengths.length; b++) {
            for (int t = 0; t < lengths[b]; t++) {
                ids[b * seq + t] = 1 + (7 * b + 3 * t) % (weights.config().vocabSize() - 1);
                types[b * seq + t] = t % 2;
                mask[b * seq + t] = 1f;
            }
        }
        TokenBatch padded = new TokenBatch(lengths.length, seq, ids, types, mask, lengths);
        int hidden = weights.config().hiddenSize();
        try (Arena arena = Arena.ofShared()) {
            for (BertEncoder encoder : new BertEncoder[] {scalar, vector, cuda}) {
                float[] together = encoder.forward(padded, arena).toArray();
                for (int b = 0; b < lengths.length; b++) {
                    int n = lengths[b];
                    float[] one = new float[n];
                    Arrays.fill(one, 1f);
                    TokenBatch alone = new TokenBatch(1, n, Arrays.copyOfRange(ids, b * seq, b * seq + n),
                            Arrays.copyOfRange(types, b * seq, b * seq + n), one, new int[] {n});
                    float[] expected = encoder.forward(alone, arena).toArray();
                    float[] actual = Arrays.copyOfRange(together, b * seq * hidden, (b * seq + n) * hidden);
                    FloatAssertions.assertClose(expected, actual, hidden, 1e-5, 1e-5);
                }
            }
        }
    }

    @Test
    void aSequenceLongerThanThePositionsIsRefusedByEveryBackend() {
        int seq = weights.config().maxPositions() + 1;
        float[] mask = new float[seq];
        Arrays.fill(mask, 1f);
        TokenBatch tooLong = new TokenBatch(1, seq, new int[seq], new int[seq], mask, new int[] {seq});
        try (Arena arena = Arena.ofShared()) {
            for (BertEncoder encoder : new BertEncoder[] {scalar, vector, cuda}) {
                var e = assertThrows(IllegalArgumentException.class, () -> encoder.forward(tooLong, arena));
                assertTrue(e.getMessage().contains(seq + " tokens exceeds the model's " + (seq - 1) + " positions"),
                        e.getMessage());
            }
        }
    }
}
