package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;
import org.ejml.dense.row.SingularOps_DDRM;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;
import org.junit.jupiter.api.Test;

/** Stable rank by power iteration against EJML's singular values and closed forms. */
class StableRankTest {

    @Test
    void matchesTheSingularValuesOfRandomAndLowRankMatrices() {
        Random random = new Random(11);
        for (int[] shape : new int[][] {{37, 53}, {60, 20}, {1, 9}, {64, 64}}) {
            float[] w = RandomMpos.gaussian(random, shape[0] * shape[1]);
            assertMatchesSvd(w, shape[0], shape[1]);
        }
        // Rank 3: a 40 × 3 times 3 × 50 product; its stable rank lies in [1, 3].
        float[] a = RandomMpos.gaussian(random, 40 * 3);
        float[] b = RandomMpos.gaussian(random, 3 * 50);
        float[] w = new float[40 * 50];
        for (int i = 0; i < 40; i++) {
            for (int j = 0; j < 50; j++) {
                for (int r = 0; r < 3; r++) {
                    w[i * 50 + j] += a[i * 3 + r] * b[r * 50 + j];
                }
            }
        }
        double rank = assertMatchesSvd(w, 40, 50);
        assertTrue(rank >= 1 && rank <= 3, "stable rank " + rank + " of a rank-3 matrix");
    }

    /** U·diag(σ)·Vᵀ with orthogonal U and V: Σσ²/σ₁², whatever the rotation. */
    @Test
    void aRotatedDiagonalHasTheClosedForm() {
        double[] sigma = {5, 4, 3, 2, 1, 0.5};
        double expected = (25 + 16 + 9 + 4 + 1 + 0.25) / 25;
        Random random = new Random(12);
        DMatrixRMaj u = orthogonal(20, random);
        DMatrixRMaj v = orthogonal(6, random);
        DMatrixRMaj s = new DMatrixRMaj(20, 6);
        for (int i = 0; i < sigma.length; i++) {
            s.set(i, i, sigma[i]);
        }
        DMatrixRMaj us = new DMatrixRMaj(20, 6);
        CommonOps_DDRM.mult(u, s, us);
        DMatrixRMaj w = new DMatrixRMaj(20, 6);
        CommonOps_DDRM.multTransB(us, v, w);
        StableRank.Estimate e = StableRank.of(toFloats(w), 20, 6);
        assertEquals(expected, e.stableRank(), 1e-5 * expected);
        assertEquals(25, e.spectralSquared(), 1e-5 * 25);
        // The identity: n; a rank-one outer product: 1.
        float[] identity = new float[7 * 7];
        for (int i = 0; i < 7; i++) {
            identity[i * 7 + i] = 1;
        }
        assertEquals(7, StableRank.of(identity, 7, 7).stableRank(), 1e-12);
        float[] outer = new float[4 * 5];
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 5; j++) {
                outer[i * 5 + j] = (i + 1) * (j - 2.5f);
            }
        }
        assertEquals(1, StableRank.of(outer, 4, 5).stableRank(), 1e-6);
    }

    @Test
    void aStepLimitTooShortIsAnErrorNotAnEstimate() {
        float[] w = RandomMpos.gaussian(new Random(13), 30 * 30);
        ArithmeticException e = assertThrows(ArithmeticException.class, () -> StableRank.of(w, 30, 30, 1e-9, 3));
        assertTrue(e.getMessage().contains("did not converge in 3 steps"), e.getMessage());
    }

    @Test
    void badInputIsNamed() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> StableRank.of(new float[6], 2, 3));
        assertTrue(e.getMessage().contains("zero 2 × 3 matrix is undefined"), e.getMessage());
        float[] w = {1, 2, Float.NaN, 4};
        e = assertThrows(IllegalArgumentException.class, () -> StableRank.of(w, 2, 2));
        assertTrue(e.getMessage().contains("NaN at (1, 0)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> StableRank.of(new float[5], 2, 3));
        assertTrue(e.getMessage().contains("5 elements is not 2 × 3"), e.getMessage());
    }

    @Test
    void selectionComparesMatricesOnlyWithinTheirType() {
        StableRank.Estimate one = new StableRank.Estimate(1, 1, 1, 0);
        List<ModelStableRanks.MatrixRank> ranks = List.of(
                rank("layers.0.query", "query", 0, 5), rank("layers.0.output", "output", 0, 50),
                rank("layers.1.query", "query", 1, 9), rank("layers.1.output", "output", 1, 20),
                rank("layers.2.query", "query", 2, 7), rank("layers.2.output", "output", 2, 30));
        Map<String, List<ModelStableRanks.MatrixRank>> top = ModelStableRanks.topPerType(ranks, 2,
                ModelStableRanks.Order.HIGHEST);
        assertEquals(List.of("query", "output"), List.copyOf(top.keySet()));
        assertEquals(List.of(1, 2), top.get("query").stream().map(ModelStableRanks.MatrixRank::layer).toList());
        assertEquals(List.of(0, 2), top.get("output").stream().map(ModelStableRanks.MatrixRank::layer).toList());
        Map<String, List<ModelStableRanks.MatrixRank>> bottom = ModelStableRanks.topPerType(ranks, 1,
                ModelStableRanks.Order.LOWEST);
        assertEquals(0, bottom.get("query").getFirst().layer());
        assertEquals(1, bottom.get("output").getFirst().layer());
        assertEquals(1, one.stableRank());
    }

    /** The report over a tiny BERT (random weights, 2 layers): every matrix, named by layer and type, against EJML. */
    @Test
    void everyMatrixOfAModel() throws Exception {
        TinyBertOnnx tiny = TinyBertOnnx.build(TinyBertOnnx.Spec.small());
        try (BertWeights weights = BertOnnxLoader.load(OnnxModel.read(tiny.bytes(), "tiny"))) {
            List<ModelStableRanks.MatrixRank> ranks = ModelStableRanks.of(weights);
            assertEquals(6 * weights.layers().size(), ranks.size());
            assertEquals("layers.1.attention.output", ranks.get(6 + 3).name());
            for (ModelStableRanks.MatrixRank r : ranks) {
                assertEquals(r.name(), "layers." + r.layer() + "." + r.type());
                assertMatchesSvd(weightOf(weights, r), r.rows(), r.cols());
            }
        }
    }

    private static float[] weightOf(BertWeights weights, ModelStableRanks.MatrixRank r) {
        BertWeights.Layer l = weights.layers().get(r.layer());
        return switch (r.type()) {
            case "query" -> l.query().weight().toArray();
            case "key" -> l.key().weight().toArray();
            case "value" -> l.value().weight().toArray();
            case "attention.output" -> l.attentionOutput().weight().toArray();
            case "intermediate" -> l.intermediate().weight().toArray();
            default -> l.output().weight().toArray();
        };
    }

    private static ModelStableRanks.MatrixRank rank(String name, String type, int layer, double value) {
        return new ModelStableRanks.MatrixRank(name, type, layer, 4, 4, new StableRank.Estimate(value, 1, 1, 0));
    }

    /** The estimate against Σσ²/σ₁² from EJML's SVD; returns the stable rank. */
    private static double assertMatchesSvd(float[] w, int rows, int cols) {
        DMatrixRMaj m = new DMatrixRMaj(rows, cols);
        for (int e = 0; e < w.length; e++) {
            m.data[e] = w[e];
        }
        double[] sigma = SingularOps_DDRM.singularValues(m);
        double top = 0;
        double sum = 0;
        for (double s : sigma) {
            top = Math.max(top, s);
            sum += s * s;
        }
        double expected = sum / (top * top);
        StableRank.Estimate e = StableRank.of(w, rows, cols);
        assertEquals(expected, e.stableRank(), 1e-6 * expected, rows + " × " + cols);
        assertTrue(e.residual() <= StableRank.DEFAULT_TOLERANCE);
        return e.stableRank();
    }

    private static DMatrixRMaj orthogonal(int n, Random random) {
        DMatrixRMaj a = new DMatrixRMaj(n, n);
        for (int e = 0; e < a.data.length; e++) {
            a.data[e] = random.nextGaussian();
        }
        QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(n, n);
        qr.decompose(a);
        return qr.getQ(null, false);
    }

    private static float[] toFloats(DMatrixRMaj m) {
        float[] f = new float[m.data.length];
        for (int e = 0; e < f.length; e++) {
            f[e] = (float) m.data[e];
        }
        return f;
    }
}
