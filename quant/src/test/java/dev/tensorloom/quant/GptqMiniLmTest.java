package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.testkit.WordNetSentences;
import java.lang.foreign.Arena;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.junit.jupiter.api.Test;

/**
 * GPTQ's claim on a real layer: the FFN up-projection of MiniLM's third layer (384 → 1536), calibrated on the
 * inputs that layer really sees when the fp32 encoder reads 128 WordNet glosses, and judged on the inputs of 64
 * other glosses: the output error ||XW - XŴ||_F is below RTN's at 2, 3, 4 and 8 bits (group 128, zero points).
 */
class GptqMiniLmTest {

    private static final String LAYER = "layers.2.intermediate";

    @Test
    void gptqBeatsRtnOnHeldOutInputsAtEveryBitWidth() {
        List<String> all = WordNetSentences.glosses(1064);
        List<String> calibration = all.subList(0, 128);
        List<String> evaluation = all.subList(1000, 1064);
        Set<String> overlap = new HashSet<>(calibration);
        overlap.retainAll(evaluation);
        assertTrue(overlap.isEmpty(), "calibration and evaluation share " + overlap);

        VectorBackend backend = new VectorBackend(Parallelism.of(2));
        try (MiniLm model = MiniLm.open(); Arena arena = Arena.ofConfined()) {
            float[][] calibrationInputs = model.capture(backend, LAYER, calibration);
            float[][] heldOut = model.capture(backend, LAYER, evaluation);
            Tensor w = model.weights.layers().get(2).intermediate().weight();
            int k = w.rows();
            Hessian h = new Hessian(k);
            h.accumulate(Tensor.of(arena, flatten(calibrationInputs), calibrationInputs.length, k));
            DMatrixRMaj gram = gram(heldOut, k);

            StringBuilder report = new StringBuilder();
            for (int bits : new int[] {2, 3, 4, 8}) {
                GroupFormat format = GroupFormat.asymmetric(bits, 128);
                double rtn = outputError(gram, w, Rtn.quantize(w, format));
                double gptq = outputError(gram, w, Gptq.quantize(w, h, format, Gptq.Options.defaults()));
                report.append(String.format("%s: RTN %.4g, GPTQ %.4g (%.2fx)%n", format, rtn, gptq, rtn / gptq));
                assertTrue(gptq < rtn, format + ": GPTQ " + gptq + " is not below RTN " + rtn + "\n" + report);
            }
            GroupFormat four = GroupFormat.asymmetric(4, 128);
            double inOrder = outputError(gram, w, Gptq.quantize(w, h, four, Gptq.Options.defaults().withActOrder(false)));
            double rtn = outputError(gram, w, Rtn.quantize(w, four));
            report.append(String.format("%s without act-order: GPTQ %.4g%n", four, inOrder));
            assertTrue(inOrder < rtn, "without act-order: GPTQ " + inOrder + " is not below RTN " + rtn);
            System.out.print("MiniLM " + LAYER + ", ||XW - XŴ||_F on " + heldOut.length + " held-out token inputs ("
                    + calibrationInputs.length + " for calibration):\n" + report);
        }
    }

    private static float[] flatten(float[][] rows) {
        int k = rows[0].length;
        float[] out = new float[rows.length * k];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * k, k);
        }
        return out;
    }

    /** XᵀX in float64. */
    private static DMatrixRMaj gram(float[][] x, int k) {
        DMatrixRMaj m = new DMatrixRMaj(x.length, k);
        for (int i = 0; i < x.length; i++) {
            for (int p = 0; p < k; p++) {
                m.set(i, p, x[i][p]);
            }
        }
        DMatrixRMaj g = new DMatrixRMaj(k, k);
        CommonOps_DDRM.multTransA(m, m, g);
        return g;
    }

    /** ||X(W - Ŵ)||_F = sqrt(Σ_j d_jᵀ (XᵀX) d_j), d_j the error of output channel j. */
    private static double outputError(DMatrixRMaj gram, Tensor w, PackedWeights q) {
        int k = q.rows();
        int n = q.cols();
        DMatrixRMaj d = new DMatrixRMaj(k, n);
        for (int p = 0; p < k; p++) {
            for (int j = 0; j < n; j++) {
                d.set(p, j, (double) w.get(p, j) - q.value(p, j));
            }
        }
        DMatrixRMaj gd = new DMatrixRMaj(k, n);
        CommonOps_DDRM.mult(gram, d, gd);
        double sum = 0;
        for (int i = 0; i < d.getNumElements(); i++) {
            sum += d.get(i) * gd.get(i);
        }
        return Math.sqrt(sum);
    }
}
