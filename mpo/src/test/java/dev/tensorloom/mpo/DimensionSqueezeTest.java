package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class DimensionSqueezeTest {

    private static final MpoShape SHAPE = new MpoShape(new int[] {4, 4, 4}, new int[] {4, 4, 4});

    @Test
    void stopsAtTheLastCapThatHoldsTheTarget() {
        // Six Kronecker products of falling weight plus a little noise: a spectrum that decays, then flattens.
        Random random = new Random(51);
        float[] w = RandomMpos.gaussian(random, 64 * 64);
        for (int e = 0; e < w.length; e++) {
            w[e] *= 0.01f;
        }
        for (int t = 0; t < 6; t++) {
            float[] k = kronecker(RandomMpos.gaussian(random, 16), RandomMpos.gaussian(random, 16),
                    RandomMpos.gaussian(random, 16));
            for (int e = 0; e < w.length; e++) {
                w[e] += (float) Math.pow(0.5, t) * k[e];
            }
        }
        DimensionSqueeze.Result r = DimensionSqueeze.squeeze(w, SHAPE, 0.3, 0.75);
        Decomposition last = r.steps().get(r.steps().size() - 1);
        assertTrue(last.relativeBound() > 0.3, "the search stops on the first miss: " + last);
        assertTrue(r.result().relativeBound() <= 0.3, r.result().toString());
        for (int s = 0; s + 1 < r.steps().size(); s++) {
            assertTrue(r.steps().get(s).relativeBound() <= 0.3);
            assertTrue(r.caps().get(s + 1) < r.caps().get(s), "caps go down: " + r.caps());
        }
        assertEquals(r.steps().get(r.steps().size() - 2), r.result());
        assertTrue(r.result().parameters() < SHAPE.parameters(SHAPE.fullBonds()), "something was squeezed");
    }

    @Test
    void aKroneckerProductSqueezesToBondsOfOne() {
        // A ⊗ B ⊗ C with 4×4 factors is exactly an MPO with every bond 1 (each core one factor).
        Random random = new Random(52);
        float[] w = kronecker(RandomMpos.gaussian(random, 16), RandomMpos.gaussian(random, 16), RandomMpos.gaussian(random, 16));
        DimensionSqueeze.Result r = DimensionSqueeze.squeeze(w, SHAPE, 1e-5, 0.5);
        assertEquals(1, r.caps().get(r.caps().size() - 1));
        assertTrue(r.result().relativeBound() <= 1e-5);
        assertEquals(3 * 16, r.result().parameters());
    }

    /** A ⊗ B ⊗ C for three 4×4 matrices, as a 64×64 row-major matrix. */
    private static float[] kronecker(float[] a, float[] b, float[] c) {
        float[] w = new float[64 * 64];
        for (int i = 0; i < 64; i++) {
            for (int j = 0; j < 64; j++) {
                w[i * 64 + j] = a[(i / 16) * 4 + j / 16] * b[((i / 4) % 4) * 4 + (j / 4) % 4] * c[(i % 4) * 4 + j % 4];
            }
        }
        return w;
    }

    @Test
    void badArgumentsAreNamed() {
        float[] w = new float[64 * 64];
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DimensionSqueeze.squeeze(w, SHAPE, 2, 0.5))
                .getMessage().contains("fidelity target"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> DimensionSqueeze.squeeze(w, SHAPE, 0.1, 1))
                .getMessage().contains("shrink factor"));
    }
}
