package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The cost model's counts against REFERENCE.md's closed forms and its choice against its own estimates. */
class MpoCostModelTest {

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    /** Zero cores of the given shape and bonds: the model reads only shapes. */
    private Mpo mpo(MpoShape shape, int[] bonds) {
        Tensor[] cores = new Tensor[shape.cores()];
        for (int k = 0; k < cores.length; k++) {
            cores[k] = Tensor.allocate(arena, bonds[k], shape.rowFactor(k), shape.colFactor(k), bonds[k + 1]);
        }
        return new Mpo(shape, bonds, cores);
    }

    @Test
    void theWorkedExampleCosts5Point4MflopDirectAgainst1Point18Dense() {
        // REFERENCE.md: 768×768 with d ≤ 16 costs 5.4 MFLOP direct vs 1.18 MFLOP dense for one vector.
        MpoShape shape = MpoShape.of(768, 768, 5);
        Mpo mpo = mpo(shape, shape.cappedBonds(16));
        MpoCostModel.Choice c = MpoCostModel.defaults().choose(mpo, 1);
        // Σ_k 2·(∏_{l<k} j_l)·(∏_{l>k} i_l)·d_{k-1}·i_k·j_k·d_k, worked by hand: 2·(36864 + 786432 + 1048576 + 786432 + 36864).
        assertEquals(5_390_336, c.directFlops());
        assertEquals(2L * 768 * 768, c.denseFlops());
    }

    @Test
    void theEstimateIsTheRooflineOfEachPath() {
        MpoCostModel model = new MpoCostModel(40e9, 10e9, 8e9);
        MpoShape shape = MpoShape.of(1536, 384, 3);
        Mpo mpo = mpo(shape, shape.cappedBonds(8));
        for (int m : new int[] {1, 8, 64}) {
            MpoCostModel.Choice c = model.choose(mpo, m);
            assertEquals(Math.max(c.directFlops() / 10e9, c.directBytes() / 8e9), c.directSeconds(), 0);
            assertEquals(Math.max(c.denseFlops() / 40e9, c.denseBytes() / 8e9), c.denseSeconds(), 0);
            assertEquals(c.directSeconds() <= c.denseSeconds() ? MpoCostModel.Path.DIRECT : MpoCostModel.Path.DENSE,
                    c.path());
            assertTrue(c.directBytes() > mpo.bytes() && c.denseBytes() > 1536L * 384 * 4, "weights are read");
        }
    }

    @Test
    void aHighlyCompressedMatrixGoesDirectForOneRowAndDenseForMany() {
        // 4096×4096 as 4 cores of 8×8 with bonds 16: 34,816 parameters against 16.8 million.
        MpoShape shape = MpoShape.of(4096, 4096, 4);
        Mpo mpo = mpo(shape, shape.cappedBonds(16));
        MpoCostModel model = MpoCostModel.defaults();
        assertEquals(MpoCostModel.Path.DIRECT, model.choose(mpo, 1).path());
        assertEquals(MpoCostModel.Path.DENSE, model.choose(mpo, 4096).path());
        // One crossover: once dense wins, it keeps winning for larger batches.
        boolean dense = false;
        for (int m = 1; m <= 4096; m *= 2) {
            boolean now = model.choose(mpo, m).path() == MpoCostModel.Path.DENSE;
            assertTrue(now || !dense, "direct again at batch " + m);
            dense = now;
        }
        // An untruncated MPO does more FLOPs and reads more bytes than W itself: never direct.
        Mpo full = mpo(MpoShape.of(384, 384, 3), MpoShape.of(384, 384, 3).fullBonds());
        assertEquals(MpoCostModel.Path.DENSE, model.choose(full, 1).path());
    }

    @Test
    void ratesMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MpoCostModel(1, 0, 1));
        assertTrue(e.getMessage().contains("must be positive"), e.getMessage());
    }
}
