package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.QRDecomposition;
import org.junit.jupiter.api.Test;

/**
 * The shared central tensor against errors measured by contracting every layer's MPO (the scalar oracle), on
 * small random matrices.
 */
class LayerSharingTest {

    private static final ScalarMpoKernels ORACLE = new ScalarMpoKernels(new ScalarBackend());

    /**
     * Layers built as A_l·C·B_l with one C and their own isometric auxiliary cores: each layer's TT-SVD lands in its
     * own gauge (signs, rotations), and the fit must undo them to share C with no error beyond fp32 rounding. Without
     * the gauge alignment the mean of the layers' central cores would cancel.
     */
    @Test
    void aCentralTensorSharedByConstructionIsRecoveredExactly() {
        Random random = new Random(41);
        for (Object[] c : new Object[][] {
                {new MpoShape(new int[] {2, 3, 2}, new int[] {3, 2, 2}), new int[] {1, 4, 4, 1}},
                {new MpoShape(new int[] {2, 2, 3, 2}, new int[] {2, 3, 2, 2}), new int[] {1, 4, 5, 4, 1}}}) {
            MpoShape shape = (MpoShape) c[0];
            int[] bonds = (int[]) c[1];
            float[] central = RandomMpos.gaussian(random, (int) shape.coreSize(bonds, shape.centralCore()));
            List<float[]> layers = new ArrayList<>();
            for (int l = 0; l < 4; l++) {
                layers.add(sharedByConstruction(shape, bonds, central, random));
            }
            int cap = bonds[shape.centralCore()];
            LayerSharing.Fit fit = LayerSharing.fit(layers, shape, Truncation.bondCap(cap));
            double[] measured = measuredErrors(fit, layers);
            for (int l = 0; l < layers.size(); l++) {
                assertTrue(measured[l] <= 1e-5, shape + " layer " + l + ": relative error " + measured[l]);
                assertTrue(fit.errors()[l] <= 1e-5, shape + " layer " + l + ": reported " + fit.errors()[l]);
            }
        }
    }

    /**
     * Unrelated random matrices: the least-squares central tensor costs less total squared error than sharing any one
     * layer's, strictly less than the best of them, and the errors the fit reports are the ones measured.
     */
    @Test
    void theLeastSquaresFitIsNeverWorseThanPickingOneLayer() {
        Random random = new Random(42);
        MpoShape shape = new MpoShape(new int[] {2, 3, 2}, new int[] {2, 2, 3});
        List<float[]> layers = new ArrayList<>();
        for (int l = 0; l < 4; l++) {
            layers.add(RandomMpos.gaussian(random, shape.rows() * shape.cols()));
        }
        Truncation cap = Truncation.bondCap(3);
        LayerSharing.Fit fit = LayerSharing.fit(layers, shape, cap);
        double fitted = totalSquared(measuredErrors(fit, layers), layers);
        double bestPick = Double.POSITIVE_INFINITY;
        for (int m = 0; m < layers.size(); m++) {
            LayerSharing.Fit pick = LayerSharing.pick(layers, shape, cap, m);
            double picked = totalSquared(measuredErrors(pick, layers), layers);
            assertTrue(fitted <= picked * (1 + 1e-6), "fit " + fitted + " against layer " + m + "'s " + picked);
            bestPick = Math.min(bestPick, picked);
        }
        assertTrue(fitted < 0.99 * bestPick, "fit " + fitted + " against the best pick " + bestPick);
        double[] measured = measuredErrors(fit, layers);
        for (int l = 0; l < layers.size(); l++) {
            assertEquals(measured[l], fit.errors()[l], 1e-5, "layer " + l);
            assertTrue(fit.ownErrors()[l] <= fit.errors()[l], "sharing cannot beat the layer's own central tensor");
        }
    }

    @Test
    void parametersCountOneCentralCore() {
        MpoShape shape = new MpoShape(new int[] {2, 3, 2}, new int[] {2, 2, 3});
        Random random = new Random(43);
        List<float[]> layers = List.of(RandomMpos.gaussian(random, 144), RandomMpos.gaussian(random, 144),
                RandomMpos.gaussian(random, 144));
        LayerSharing.Fit fit = LayerSharing.fit(layers, shape, Truncation.bondCap(3));
        int[] bonds = {1, 3, 3, 1};
        long central = 3 * 6 * 3;
        long aux = 4 * 3 + 3 * 6;
        assertEquals(central, fit.centralParameters());
        assertEquals(3 * aux + central, fit.parameters());
        assertEquals(3 * (aux + central), fit.unsharedParameters());
        assertEquals(shape.parameters(bonds), aux + central);
    }

    @Test
    void unequalBondsAreRefusedByName() {
        MpoShape shape = new MpoShape(new int[] {2, 3, 2}, new int[] {2, 2, 3});
        Random random = new Random(44);
        float[] rankOne = new float[144];
        for (int i = 0; i < 12; i++) {
            for (int j = 0; j < 12; j++) {
                rankOne[i * 12 + j] = (i + 1) * (j - 5.5f);
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> LayerSharing.fit(
                List.of(RandomMpos.gaussian(random, 144), rankOne), shape, Truncation.relativeError(0.01)));
        assertTrue(e.getMessage().matches(
                "matrix 1 has bonds \\[.*\\] but matrix 0 has \\[.*\\]; a shared central tensor needs equal bonds.*"),
                e.getMessage());
    }

    /** A_l·C·B_l with left-orthogonal cores before the centre and right-orthogonal ones after it. */
    private static float[] sharedByConstruction(MpoShape shape, int[] bonds, float[] central, Random random) {
        int c = shape.centralCore();
        try (Arena arena = Arena.ofConfined()) {
            Tensor[] cores = new Tensor[shape.cores()];
            for (int k = 0; k < cores.length; k++) {
                int p = shape.rowFactor(k) * shape.colFactor(k);
                float[] values;
                if (k == c) {
                    values = central;
                } else if (k < c) {
                    values = orthonormalColumns(bonds[k] * p, bonds[k + 1], random);
                } else {
                    values = transpose(orthonormalColumns(p * bonds[k + 1], bonds[k], random), p * bonds[k + 1],
                            bonds[k]);
                }
                cores[k] = Tensor.of(arena, values, bonds[k], shape.rowFactor(k), shape.colFactor(k), bonds[k + 1]);
            }
            Tensor w = Tensor.allocate(arena, shape.rows(), shape.cols());
            ORACLE.contractToDense(new Mpo(shape, bonds, cores), w);
            return w.toArray();
        }
    }

    private static float[] orthonormalColumns(int rows, int cols, Random random) {
        DMatrixRMaj a = new DMatrixRMaj(rows, cols);
        for (int e = 0; e < a.data.length; e++) {
            a.data[e] = random.nextGaussian();
        }
        QRDecomposition<DMatrixRMaj> qr = DecompositionFactory_DDRM.qr(rows, cols);
        qr.decompose(a);
        DMatrixRMaj q = qr.getQ(null, true);
        float[] f = new float[rows * cols];
        for (int e = 0; e < f.length; e++) {
            f[e] = (float) q.data[e];
        }
        return f;
    }

    private static float[] transpose(float[] a, int rows, int cols) {
        float[] t = new float[a.length];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                t[j * rows + i] = a[i * cols + j];
            }
        }
        return t;
    }

    /** ||W_l − MPO_l||_F / ||W_l||_F, each MPO contracted by the scalar oracle. */
    private static double[] measuredErrors(LayerSharing.Fit fit, List<float[]> layers) {
        double[] errors = new double[layers.size()];
        try (Arena arena = Arena.ofConfined()) {
            Tensor central = fit.centralTensor(arena);
            for (int l = 0; l < layers.size(); l++) {
                Tensor back = Tensor.allocate(arena, fit.shape().rows(), fit.shape().cols());
                ORACLE.contractToDense(fit.mpo(l, central, arena), back);
                float[] r = back.toArray();
                float[] w = layers.get(l);
                double diff = 0;
                double norm = 0;
                for (int e = 0; e < w.length; e++) {
                    diff += Math.pow((double) w[e] - r[e], 2);
                    norm += (double) w[e] * w[e];
                }
                errors[l] = Math.sqrt(diff / norm);
            }
        }
        return errors;
    }

    private static double totalSquared(double[] relative, List<float[]> layers) {
        double total = 0;
        for (int l = 0; l < layers.size(); l++) {
            double norm = 0;
            for (float v : layers.get(l)) {
                norm += (double) v * v;
            }
            total += relative[l] * relative[l] * norm;
        }
        return total;
    }

}
