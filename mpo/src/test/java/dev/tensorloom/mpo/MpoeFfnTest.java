package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.Erf;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The MPOE layer against dense experts computed one by one, and its weight traffic against the closed form. */
class MpoeFfnTest {

    private static final int HIDDEN = 12;
    private static final int INTERMEDIATE = 24;
    private static final ScalarMpoKernels ORACLE = new ScalarMpoKernels(new ScalarBackend());

    /** The dense FFN the layers are built from. */
    private static final Random DENSE = new Random(51);
    private static final float[] W1 = RandomMpos.gaussian(DENSE, HIDDEN * INTERMEDIATE);
    private static final float[] B1 = RandomMpos.gaussian(DENSE, INTERMEDIATE);
    private static final float[] W2 = RandomMpos.gaussian(DENSE, INTERMEDIATE * HIDDEN);
    private static final float[] B2 = RandomMpos.gaussian(DENSE, HIDDEN);

    private static MpoeFfn layer(int experts, int topK) {
        return MpoeFfn.fromDense(W1, B1, W2, B2, HIDDEN, INTERMEDIATE, experts, topK, 3, 3, 0.2, 52);
    }

    /** Σ over a token's experts of gate·(GELU(x·W1_e + b1)·W2_e + b2), each W contracted by the scalar oracle. */
    @Test
    void theForwardPassIsTheGatedSumOfItsExperts() {
        Random random = new Random(53);
        MpoeFfn ffn = layer(4, 2);
        int m = 9;
        float[] x = RandomMpos.gaussian(random, m * HIDDEN);
        float[] y = ffn.forward(x, m, null);
        MpoeFfn.Routing routing = ffn.route(x, m);
        try (Arena arena = Arena.ofConfined()) {
            double worst = 0;
            double scale = 0;
            for (int t = 0; t < m; t++) {
                double gateSum = 0;
                double[] expected = new double[HIDDEN];
                for (int k = 0; k < 2; k++) {
                    int e = routing.experts()[t][k];
                    double g = routing.gates()[t][k];
                    assertTrue(k == 0 || g <= routing.gates()[t][k - 1], "gates follow the ranking");
                    gateSum += g;
                    float[] w1 = dense(ffn.expert(e, true, arena), arena);
                    float[] w2 = dense(ffn.expert(e, false, arena), arena);
                    double[] h = new double[INTERMEDIATE];
                    for (int j = 0; j < INTERMEDIATE; j++) {
                        double v = B1[j];
                        for (int i = 0; i < HIDDEN; i++) {
                            v += (double) x[t * HIDDEN + i] * w1[i * INTERMEDIATE + j];
                        }
                        h[j] = 0.5 * v * (1 + Erf.erf(v / Math.sqrt(2)));
                    }
                    for (int o = 0; o < HIDDEN; o++) {
                        double v = B2[o];
                        for (int j = 0; j < INTERMEDIATE; j++) {
                            v += h[j] * w2[j * HIDDEN + o];
                        }
                        expected[o] += g * v;
                    }
                }
                assertEquals(1, gateSum, 1e-12);
                for (int o = 0; o < HIDDEN; o++) {
                    worst = Math.max(worst, Math.abs(expected[o] - y[t * HIDDEN + o]));
                    scale = Math.max(scale, Math.abs(expected[o]));
                }
            }
            assertTrue(worst <= 1e-5 * scale, "largest difference " + worst + " of " + scale);
        }
    }

    /**
     * Weight bytes counted while the forward pass reads the cores equal the closed form: both central cores once per
     * batch, auxiliary cores once per active expert. The layer is (2,2,3)×(4,3,2) and (2,3,4)×(3,2,2), bonds 3:
     * central cores 54 + 54 parameters, auxiliary 42 + 42 per expert.
     */
    @Test
    void weightTrafficIsTheClosedForm() {
        MpoeFfn ffn = layer(8, 2);
        for (int active = 1; active <= 8; active++) {
            assertEquals(4L * (108 + active * 84), ffn.weightBytes(active, false));
            assertEquals(4L * active * 2 * HIDDEN * INTERMEDIATE, ffn.weightBytes(active, true));
        }
        Random random = new Random(54);
        for (int m : new int[] {1, 3, 40}) {
            float[] x = RandomMpos.gaussian(random, m * HIDDEN);
            MpoeFfn.Traffic traffic = new MpoeFfn.Traffic();
            ffn.forward(x, m, traffic);
            int active = ffn.route(x, m).activeExperts();
            assertTrue(m > 1 || active == 2, "one token uses its two experts");
            assertEquals(ffn.weightBytes(active, false), traffic.bytes(), m + " tokens, " + active + " experts");
        }
        assertEquals(108 + 8 * 84, ffn.parameters());
        assertEquals(8L * 2 * HIDDEN * INTERMEDIATE, ffn.denseParameters());
    }

    /**
     * The float32 layer on each backend against the float64 pass, for a lone token and for batches: the same routing,
     * outputs within float rounding. On the vector backend the kernels read the closed form's bytes (each central
     * core once per batch); the scalar backend's products read the central core once per routed expert.
     */
    @ParameterizedTest
    @ValueSource(strings = {"scalar", "vector"})
    void float32MatchesTheFloat64Pass(String backendName) {
        Backend backend = BackendProvider.byName(backendName);
        MpoeFfn ffn = layer(8, 2);
        Random random = new Random(55);
        try (Arena arena = Arena.ofShared()) {
            MpoeFfn.Float32 float32 = ffn.float32(backend, arena);
            for (int m : new int[] {1, 9, 40}) {
                float[] x = RandomMpos.gaussian(random, m * HIDDEN);
                float[] expected = ffn.forward(x, m, null);
                MpoeFfn.Traffic traffic = new MpoeFfn.Traffic();
                float[] y = float32.forward(x, m, traffic);
                double scale = 0;
                double worst = 0;
                for (int e = 0; e < y.length; e++) {
                    scale = Math.max(scale, Math.abs(expected[e]));
                    worst = Math.max(worst, Math.abs(expected[e] - y[e]));
                }
                assertTrue(worst <= 1e-5 * scale, m + " tokens: largest difference " + worst + " of " + scale);
                int active = ffn.route(x, m).activeExperts();
                long perExpert = ffn.weightBytes(1, false);
                assertEquals(backendName.equals("vector") ? ffn.weightBytes(active, false) : active * perExpert,
                        traffic.bytes(), m + " tokens, " + active + " experts");
            }
        }
    }

    @Test
    void badRoutingIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> layer(2, 3));
        assertTrue(e.getMessage().contains("top-3 of 2 experts is not a routing"), e.getMessage());
        MpoeFfn ffn = layer(4, 1);
        e = assertThrows(IllegalArgumentException.class, () -> ffn.forward(new float[13], 1, null));
        assertTrue(e.getMessage().contains("input of 13 floats is not 1 rows of 12"), e.getMessage());
    }

    private static float[] dense(Mpo mpo, Arena arena) {
        Tensor w = Tensor.allocate(arena, mpo.rows(), mpo.cols());
        ORACLE.contractToDense(mpo, w);
        return w.toArray();
    }
}
