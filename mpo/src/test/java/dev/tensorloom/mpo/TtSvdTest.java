package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.SingularOps_DDRM;
import org.junit.jupiter.api.Test;

/**
 * TT-SVD against independent facts: exact reconstruction, the Frobenius bound, the unfoldings' singular values
 * (EJML on the unfolding itself), the closed-form parameter count and REFERENCE.md's worked example.
 *
 * <p>Rounding allowance: storing a core in fp32 perturbs it by at most u·||core||_F (u = 2⁻²⁴). Every core but
 * the last has orthonormal columns (spectral norm 1, Frobenius norm √d), the last carries ||W||, so rounding core
 * k moves the product by at most u·√d_max·||W||_F; n cores and the fp32 result add up to
 * (n·√d_max + 1)·u·||W||_F. Tests allow twice that.
 */
class TtSvdTest {

    private static final double U = Math.ulp(1.0f) / 2;
    private static final ScalarMpoKernels ORACLE = new ScalarMpoKernels(new ScalarBackend());

    private static final List<MpoShape> SHAPES = List.of(
            new MpoShape(new int[] {3, 4}, new int[] {5, 2}),
            new MpoShape(new int[] {2, 3, 4}, new int[] {4, 3, 2}),
            new MpoShape(new int[] {2, 2, 3, 2}, new int[] {3, 2, 2, 2}),
            new MpoShape(new int[] {4, 4, 4}, new int[] {3, 4, 5}),
            new MpoShape(new int[] {1, 5, 3}, new int[] {7, 1, 2}));

    @Test
    void withoutTruncationTheMpoIsTheMatrix() {
        Random random = new Random(1);
        for (MpoShape shape : SHAPES) {
            float[] w = RandomMpos.gaussian(random, shape.rows() * shape.cols());
            Decomposition dec = TtSvd.decompose(w, shape, Truncation.none());
            assertArrayEquals(shape.fullBonds(), dec.bonds(), shape.toString());
            assertEquals(0, dec.bound(), 0, shape.toString());
            double error = frobeniusError(w, dec);
            assertTrue(error <= rounding(dec), shape + ": error " + error + " above rounding " + rounding(dec));
        }
    }

    @Test
    void truncatedErrorNeverExceedsTheBound() {
        Random random = new Random(2);
        for (MpoShape shape : SHAPES) {
            float[] w = RandomMpos.gaussian(random, shape.rows() * shape.cols());
            int largest = Arrays.stream(shape.fullBonds()).max().orElseThrow();
            long fullParameters = shape.parameters(shape.fullBonds());
            for (Truncation t : List.of(Truncation.bondCap(1), Truncation.bondCap(2), Truncation.bondCap(largest - 1),
                    Truncation.relativeError(0.3), Truncation.relativeError(0.6),
                    Truncation.parameterBudget(fullParameters / 2))) {
                Decomposition dec = TtSvd.decompose(w, shape, t);
                double error = frobeniusError(w, dec);
                assertTrue(dec.bound() > 0, shape + " " + t + ": nothing was cut");
                assertTrue(error <= dec.bound() + rounding(dec),
                        shape + " " + t + ": error " + error + " above bound " + dec.bound());
            }
        }
    }

    @Test
    void eachTruncationKeepsItsPromise() {
        Random random = new Random(3);
        MpoShape shape = new MpoShape(new int[] {4, 4, 4}, new int[] {3, 4, 5});
        float[] w = RandomMpos.gaussian(random, shape.rows() * shape.cols());
        Decomposition capped = TtSvd.decompose(w, shape, Truncation.bondCap(5));
        assertArrayEquals(new int[] {1, 5, 5, 1}, capped.bonds());

        Decomposition targeted = TtSvd.decompose(w, shape, Truncation.relativeError(0.4));
        assertTrue(targeted.relativeBound() <= 0.4, targeted.toString());
        assertTrue(targeted.relativeBound() > 0.2, "drops what the target allows: " + targeted);

        long budget = shape.parameters(shape.fullBonds()) / 3;
        Decomposition budgeted = TtSvd.decompose(w, shape, Truncation.parameterBudget(budget));
        assertTrue(budgeted.parameters() <= budget, budgeted.parameters() + " > " + budget);
        assertTrue(budgeted.parameters() > budget * 0.8, "uses the budget: " + budgeted.parameters());

        // A ratio is the budget I·J / ratio: 2x keeps at most half the dense matrix's numbers, as a budget would.
        long half = (long) shape.rows() * shape.cols() / 2;
        Decomposition halved = TtSvd.decompose(w, shape, Truncation.parameterRatio(2));
        assertTrue(halved.parameters() <= half && halved.parameters() > half * 0.8, halved.toString());
        assertArrayEquals(TtSvd.decompose(w, shape, Truncation.parameterBudget(half)).bonds(), halved.bonds());

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TtSvd.decompose(w, shape, Truncation.parameterBudget(10)));
        assertTrue(e.getMessage().contains("parameter budget 10 is below the"), e.getMessage());
    }

    @Test
    void anMpoOfSmallBondsComesBackExactlyUnderThatCap() {
        // W contracted from random cores with bonds (1, 2, 3, 1): its unfoldings have ranks 2 and 3.
        MpoShape shape = new MpoShape(new int[] {3, 2, 4}, new int[] {2, 5, 3});
        int[] bonds = {1, 2, 3, 1};
        Random random = new Random(4);
        try (Arena arena = Arena.ofConfined()) {
            Tensor dense = Tensor.allocate(arena, shape.rows(), shape.cols());
            ORACLE.contractToDense(RandomMpos.mpo(shape, bonds, random, arena), dense);
            float[] w = dense.toArray();
            Decomposition capped = TtSvd.decompose(w, shape, Truncation.bondCap(3));
            assertArrayEquals(new int[] {1, 3, 3, 1}, capped.bonds());
            assertTrue(capped.bound() <= 1e-6 * capped.norm(), "discarded only rounding noise: " + capped.bound());
            assertTrue(frobeniusError(w, capped) <= capped.bound() + rounding(capped));
            // A tiny error target drops the rank-2 unfolding's third singular value, which is rounding noise.
            Decomposition targeted = TtSvd.decompose(w, shape, Truncation.relativeError(1e-6));
            assertArrayEquals(new int[] {1, 2, 3, 1}, targeted.bonds());
            assertTrue(frobeniusError(w, targeted) <= targeted.bound() + rounding(targeted));
        }
    }

    @Test
    void theCanonicalSpectraAreTheUnfoldingsSingularValuesDescending() {
        Random random = new Random(5);
        MpoShape shape = new MpoShape(new int[] {2, 3, 4}, new int[] {4, 3, 2});
        float[] w = RandomMpos.gaussian(random, shape.rows() * shape.cols());
        Decomposition dec = TtSvd.decompose(w, shape, Truncation.bondCap(3));
        double[] t = shape.interleave(w);
        long left = 1;
        for (int k = 1; k < shape.cores(); k++) {
            left *= shape.rowFactor(k - 1) * shape.colFactor(k - 1);
            DMatrixRMaj unfolding = DMatrixRMaj.wrap((int) left, (int) (t.length / left), t.clone());
            double[] expected = SingularOps_DDRM.singularValues(unfolding);
            Arrays.sort(expected);
            double[] actual = dec.spectra()[k];
            for (int r = 0; r < actual.length; r++) {
                double e = expected[expected.length - 1 - r];
                assertEquals(e, actual[r], 1e-9 * expected[expected.length - 1], "bond " + k + " value " + r);
                assertTrue(r == 0 || actual[r] <= actual[r - 1], "descending");
            }
        }
    }

    @Test
    void theWorkedExampleOf768By768InFiveCores() {
        MpoShape shape = MpoShape.of(768, 768, 5);
        float[] w = RandomMpos.gaussian(new Random(6), 768 * 768);
        Decomposition full = TtSvd.decompose(w, shape, Truncation.none());
        assertEquals(663_840, full.parameters());
        Decomposition capped = TtSvd.decompose(w, shape, Truncation.bondCap(64));
        assertArrayEquals(new int[] {1, 12, 64, 64, 12, 1}, capped.bonds());
        assertEquals(90_400, capped.parameters());
        try (Arena arena = Arena.ofConfined()) {
            Mpo mpo = full.toMpo(arena);
            assertEquals(589_824, mpo.centralParameters());
            assertEquals(74_016, mpo.auxiliaryParameters());
        }
    }

    @Test
    void aZeroMatrixIsAnMpoOfZeros() {
        MpoShape shape = new MpoShape(new int[] {2, 3, 2}, new int[] {3, 2, 2});
        float[] w = new float[shape.rows() * shape.cols()];
        for (Truncation t : List.of(Truncation.none(), Truncation.relativeError(0.1))) {
            Decomposition dec = TtSvd.decompose(w, shape, t);
            assertEquals(0, dec.norm());
            assertEquals(0, frobeniusError(w, dec));
        }
    }

    @Test
    void badInputIsNamed() {
        MpoShape shape = new MpoShape(new int[] {2, 2}, new int[] {2, 2});
        float[] w = new float[16];
        w[6] = Float.NaN;
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> TtSvd.decompose(w, shape, Truncation.none()));
        assertTrue(e.getMessage().contains("NaN at (1, 2)"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Truncation.bondCap(0));
        assertTrue(e.getMessage().contains("bond cap must be >= 1, got 0"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Truncation.parameterRatio(0.5));
        assertTrue(e.getMessage().contains("parameter ratio must be a finite number >= 1, got 0.5"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> TtSvd.decompose(new float[15], shape, Truncation.none()));
        assertTrue(e.getMessage().contains("15 elements is not 4 × 4"), e.getMessage());
    }

    private static double frobeniusError(float[] w, Decomposition dec) {
        try (Arena arena = Arena.ofConfined()) {
            Tensor back = Tensor.allocate(arena, dec.shape().rows(), dec.shape().cols());
            ORACLE.contractToDense(dec.toMpo(arena), back);
            float[] r = back.toArray();
            double sum = 0;
            for (int e = 0; e < w.length; e++) {
                double diff = (double) w[e] - r[e];
                sum += diff * diff;
            }
            return Math.sqrt(sum);
        }
    }

    private static double rounding(Decomposition dec) {
        int largest = Arrays.stream(dec.bonds()).max().orElseThrow();
        return 2 * (dec.shape().cores() * Math.sqrt(largest) + 1) * U * dec.norm();
    }
}
