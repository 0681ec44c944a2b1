package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** MpoLinear as a dense linear layer, its central/auxiliary split, freezing, and MPOP's accounting on BERT-base. */
class MpoLinearTest {

    private final Backend backend = BackendProvider.byName("vector");

    @Test
    void forwardIsXTimesWPlusB() {
        Random random = new Random(41);
        int in = 24;
        int out = 18;
        float[] w = RandomMpos.gaussian(random, in * out);
        float[] b = RandomMpos.gaussian(random, out);
        float[] x = RandomMpos.gaussian(random, 3 * in);
        try (Arena arena = Arena.ofShared()) {
            MpoLinear layer = MpoLinear.decompose(backend, Tensor.of(arena, w, in, out), Tensor.of(arena, b, out), 2,
                    Truncation.none(), MpoCostModel.defaults(), arena);
            Tensor y = Tensor.allocate(arena, 3, out);
            layer.forward(Tensor.of(arena, x, 3, in), y);
            for (int r = 0; r < 3; r++) {
                for (int j = 0; j < out; j++) {
                    double expected = b[j];
                    double scale = Math.abs(b[j]);
                    for (int i = 0; i < in; i++) {
                        expected += (double) x[r * in + i] * w[i * out + j];
                        scale += Math.abs((double) x[r * in + i] * w[i * out + j]);
                    }
                    assertEquals(expected, y.get(r, j), 1e-5 * scale, "(" + r + ", " + j + ")");
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new MpoLinear(backend, layer.weight(), Tensor.allocate(arena, out + 1)));
            assertTrue(e.getMessage().contains("does not fit the 18 outputs"), e.getMessage());
        }
    }

    @Test
    void freezingTheCentralTensorLeavesTheAuxiliaryOnesAndTheBiasTrainable() {
        try (Arena arena = Arena.ofShared()) {
            Tensor w = Tensor.of(arena, RandomMpos.gaussian(new Random(42), 768 * 768), 768, 768);
            Tensor b = Tensor.allocate(arena, 768);
            MpoLinear layer = MpoLinear.decompose(backend, w, b, 5, Truncation.none(), MpoCostModel.defaults(), arena);
            MpoLinear.Parameters all = layer.parameters();
            // REFERENCE.md's worked example, plus the bias.
            assertEquals(new MpoLinear.Parameters(589_824, 74_016, 768, 589_824 + 74_016 + 768), all);
            assertEquals(6, layer.trainable().size());

            layer.freezeCentral();
            MpoLinear.Parameters frozen = layer.parameters();
            assertEquals(74_016 + 768, frozen.trainable());
            List<Tensor> trainable = layer.trainable();
            assertEquals(5, trainable.size());
            Mpo mpo = layer.weight().mpo();
            for (int k : new int[] {0, 1, 3, 4}) {
                assertTrue(trainable.contains(mpo.core(k)), "core " + k);
            }
            assertTrue(!trainable.contains(mpo.core(2)), "the central core is frozen");
            assertEquals(trainable.stream().mapToLong(Tensor::size).sum(), frozen.trainable());
            layer.unfreezeCentral();
            assertEquals(all, layer.parameters());
        }
    }

    /**
     * MPOP fine-tunes only the auxiliary tensors. On BERT-base sizes (12 layers of four 768×768 projections and the
     * 768×3072 and 3072×768 feed-forward matrices), with {@link MpoShape#of}'s factors in 5 cores, untruncated, the
     * closed form gives each matrix's central and auxiliary count; the test sums them over the model.
     */
    @Test
    void mpopFineTunesAboutATenthOfBertBaseMatrixParameters() {
        long square = auxiliaryAndTotal(768, 768)[0];
        long[] up = auxiliaryAndTotal(768, 3072);
        long[] down = auxiliaryAndTotal(3072, 768);
        assertEquals(74_016, square);
        long auxiliary = 12 * (4 * square + up[0] + down[0]);
        long total = 12 * (4 * 663_840 + up[1] + down[1]);
        long dense = 12 * (4L * 768 * 768 + 2L * 768 * 3072);
        double fewerThanFullFineTuning = 1 - (double) auxiliary / total;
        double fewerThanDense = 1 - (double) auxiliary / dense;
        System.out.printf("BERT-base, 5 cores: %,d auxiliary of %,d MPO (%,d dense) parameters: %.1f%% fewer "
                + "fine-tuned than all MPO parameters, %.1f%% fewer than the dense matrices%n", auxiliary, total, dense,
                100 * fewerThanFullFineTuning, 100 * fewerThanDense);
        // Worked by hand from the closed form: the feed-forward matrices are (3,4,4,4,4) × (8,6,4,4,4) and its
        // transpose, bonds (1, 24, 576, 256, 16, 1): 2,359,296 central and 398,144 auxiliary each.
        assertEquals(398_144, up[0]);
        assertEquals(2_757_440, up[1]);
        assertEquals(up[0], down[0]);
        assertEquals(13_108_224, auxiliary);
        assertEquals(98_042_880, total);
        // 86.6% fewer with these factors. MPOP reports 91%: the share depends on where the factors sit (the odd
        // factors 3 and 12 in the middle core give 90.0%), so the figure is matched in kind, not to the digit.
        assertTrue(fewerThanFullFineTuning > 0.86 && fewerThanFullFineTuning < 0.87, "" + fewerThanFullFineTuning);
    }

    /** {auxiliary, total} parameters of an untruncated 5-core MPO of rows × cols with the automatic factors. */
    private static long[] auxiliaryAndTotal(int rows, int cols) {
        MpoShape shape = MpoShape.of(rows, cols, 5);
        int[] d = shape.fullBonds();
        long total = shape.parameters(d);
        return new long[] {total - shape.coreSize(d, shape.centralCore()), total};
    }

    @Test
    void theMatrixOfALayerIsTheOneItMultipliesBy() {
        try (Arena arena = Arena.ofShared()) {
            MpoLinear layer = MpoLinear.decompose(backend, Tensor.allocate(arena, 8, 6), null, 2, Truncation.none(),
                    MpoCostModel.defaults(), arena);
            assertSame(layer.weight(), layer.weight());
            assertEquals(8, layer.in());
            assertEquals(6, layer.out());
            assertEquals(0, layer.parameters().bias());
        }
    }
}
