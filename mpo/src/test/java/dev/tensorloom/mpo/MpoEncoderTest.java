package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.lang.foreign.Arena;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bundled MiniLM with every projection an {@link MpoMatrix}, through runtime's {@link BertEncoder} unchanged,
 * against the same encoder on the dense matrices.
 */
class MpoEncoderTest {

    /** "[CLS] the quick brown fox jumps [SEP]" and a shorter, padded second text. */
    private static final int[][] IDS = {{101, 1996, 4248, 2829, 4419, 14523, 102}, {101, 7592, 2088, 102, 0, 0, 0}};
    private static final int[] LENGTHS = {7, 4};

    private static BertWeights weights;
    private static Backend backend;
    private static float[] dense;

    @BeforeAll
    static void denseHiddenStates() throws Exception {
        weights = BertOnnxLoader.load(ModelFiles.bundledMiniLm().onnx());
        backend = BackendProvider.byName("vector");
        dense = hiddenStates(MatrixPreparer.dense(backend));
    }

    @AfterAll
    static void closeWeights() {
        weights.close();
    }

    /**
     * With every bond whole the MPO is W up to fp32 rounding of its cores ((n·√d + 1)·u·||W||_F, about 1e-6
     * relative here; TtSvdTest), far below the rounding of the GEMMs themselves, so the tolerance is the one
     * runtime's parity tests hold the dense encoder to against ONNX Runtime, 1e-4.
     */
    @Test
    void untruncatedMpoMatricesKeepTheDenseHiddenStates() {
        MpoPreparer mpo = new MpoPreparer(backend, 3, Truncation.none(), MpoCostModel.defaults(), null);
        float[] hidden = hiddenStates(mpo);
        assertEquals(24, mpo.decompositions().size());
        for (Decomposition d : mpo.decompositions().values()) {
            assertEquals(0, d.bound());
        }
        double largest = maxDifference(dense, hidden);
        assertTrue(largest <= 1e-4, "largest difference from the dense encoder " + largest);
    }

    /**
     * Truncated to bonds of 16 and forced onto the direct path, the encoder computes what the dense encoder
     * computes on the MPO's own matrices W' (contracted once), within the same 1e-4: what truncation changes is
     * W → W', which TtSvdTest bounds by sqrt(Σε²); the encoder adds nothing of its own. The hidden states do move
     * away from the original model's, as a cut this deep must.
     */
    @Test
    void truncatedMpoMatricesOnTheDirectPathMatchTheDenseEncoderOnTheirOwnMatrices() {
        MpoPreparer mpo = new MpoPreparer(backend, 3, Truncation.bondCap(16), MpoCostModel.defaults(),
                MpoCostModel.Path.DIRECT);
        float[] direct = hiddenStates(mpo);
        MpoKernels kernels = MpoKernels.FAMILY.on(backend);
        MatrixPreparer reconstructed = (name, weight, arena) -> {
            Mpo cores = mpo.decompositions().get(name).toMpo(arena);
            Tensor w = Tensor.allocate(arena, weight.rows(), weight.cols());
            kernels.contractToDense(cores, w);
            return MatrixPreparer.dense(backend).prepare(name, w, arena);
        };
        float[] denseOfMpo = hiddenStates(reconstructed);
        double largest = maxDifference(denseOfMpo, direct);
        assertTrue(largest <= 1e-4, "largest difference from the dense encoder on W' " + largest);
        assertTrue(maxDifference(dense, direct) > 1e-2, "a cut to bonds of 16 changes the model");
    }

    private static float[] hiddenStates(MatrixPreparer preparer) {
        int seq = IDS[0].length;
        int[] ids = new int[2 * seq];
        float[] mask = new float[2 * seq];
        for (int b = 0; b < 2; b++) {
            for (int t = 0; t < seq; t++) {
                ids[b * seq + t] = IDS[b][t];
                mask[b * seq + t] = t < LENGTHS[b] ? 1 : 0;
            }
        }
        TokenBatch batch = new TokenBatch(2, seq, ids, new int[2 * seq], mask, LENGTHS.clone());
        try (BertEncoder encoder = new BertEncoder(weights, backend, preparer); Arena arena = Arena.ofConfined()) {
            Tensor hidden = encoder.forward(batch, arena);
            // Only real tokens: padding positions are not compared.
            float[] all = hidden.toArray();
            int width = hidden.cols();
            for (int b = 0; b < 2; b++) {
                for (int t = LENGTHS[b]; t < seq; t++) {
                    Arrays.fill(all, (b * seq + t) * width, (b * seq + t + 1) * width, 0);
                }
            }
            return all;
        }
    }

    private static double maxDifference(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst;
    }

}
