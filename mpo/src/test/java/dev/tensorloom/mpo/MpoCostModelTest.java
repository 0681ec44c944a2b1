package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
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
        // Left to right, REFERENCE.md's sweep: Σ_k 2·(∏_{l<k} j_l)·(∏_{l>k} i_l)·d_{k-1}·i_k·j_k·d_k, worked by
        // hand with rows (3,4,4,4,4), columns (4,4,4,4,3), bonds (12,16,16,12): 2·(36864 + 786432 + 1048576 + 786432
        // + 36864).
        assertEquals(5_390_336, 2 * MpoCost.leftToRightMultiplyAdds(shape, mpo.bonds(), 1));
        // The model counts the cheapest order, here right to left (the column factors run the other way):
        // Σ_k 2·(∏_{l<k} i_l)·(∏_{l>k} j_l)·|core k| = 2·(192·144 + 144·3072 + 144·4096 + 144·3072 + 192·144).
        assertArrayEquals(new int[] {4, 3, 2, 1, 0}, MpoSweep.cheapestOrder(shape, mpo.bonds()));
        assertEquals(3_059_712, c.directFlops());
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
    void theCallCostIsAddedOncePerStepDirectAndOnceDense() {
        MpoShape shape = MpoShape.of(1536, 384, 4);
        Mpo mpo = mpo(shape, shape.cappedBonds(8));
        MpoCostModel rates = new MpoCostModel(40e9, 10e9, 8e9);
        MpoCostModel withCalls = new MpoCostModel(40e9, 10e9, 8e9, 5e-6);
        MpoCostModel.Choice a = rates.choose(mpo, 2);
        MpoCostModel.Choice b = withCalls.choose(mpo, 2);
        assertEquals(a.directSeconds() + 4 * 5e-6, b.directSeconds(), 1e-15);
        assertEquals(a.denseSeconds() + 5e-6, b.denseSeconds(), 1e-15);
    }

    @Test
    void theCrossoverBatchIsWhereTheChoiceTurnsDense() {
        MpoShape shape = MpoShape.of(4096, 4096, 4);
        Mpo mpo = mpo(shape, shape.cappedBonds(16));
        MpoCostModel model = new MpoCostModel(50e9, 25e9, 10e9, 2e-6);
        int crossover = model.crossoverBatch(mpo, 4096);
        assertTrue(crossover > 1 && crossover <= 4096, "crossover " + crossover);
        assertEquals(MpoCostModel.Path.DIRECT, model.choose(mpo, crossover - 1).path());
        assertEquals(MpoCostModel.Path.DENSE, model.choose(mpo, crossover).path());
        assertEquals(Math.min(crossover, 5), model.crossoverBatch(mpo, 4), "limit + 1 while still direct");
    }

    @Test
    void measuredConstantsArePositiveAndPropertiesOverrideThem() {
        // The vector backend: the scalar one measures the same way but takes seconds for its GEMM.
        VectorBackend backend = new VectorBackend(Parallelism.of(2));
        MpoCostModel measured = MpoCostModel.forBackend(backend);
        assertTrue(measured.denseFlopsPerSecond() > 0 && measured.directFlopsPerSecond() > 0
                && measured.bytesPerSecond() > 0 && measured.secondsPerCall() >= 0, measured.toString());
        assertTrue(measured.directFlopsPerSecond() <= measured.denseFlopsPerSecond(), measured.toString());
        System.setProperty(MpoCostModel.BANDWIDTH_PROPERTY, "12.5");
        System.setProperty(MpoCostModel.CALL_PROPERTY, "3");
        try {
            MpoCostModel given = MpoCostModel.forBackend(backend);
            assertEquals(12.5e9, given.bytesPerSecond(), 1);
            assertEquals(3e-6, given.secondsPerCall(), 1e-18);
            assertEquals(measured.denseFlopsPerSecond(), given.denseFlopsPerSecond());
            assertTrue(given.toString().contains("12.5 GB/s"), given.toString());
            System.setProperty(MpoCostModel.DENSE_PROPERTY, "fast");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MpoCostModel.forBackend(backend));
            assertTrue(e.getMessage().contains("-Dtensorloom.mpo.denseGflops=fast is not a number"), e.getMessage());
        } finally {
            System.clearProperty(MpoCostModel.BANDWIDTH_PROPERTY);
            System.clearProperty(MpoCostModel.CALL_PROPERTY);
            System.clearProperty(MpoCostModel.DENSE_PROPERTY);
        }
    }

    @Test
    void theStartOfAStreamIsPaidOnceByTheDensePathWhereBytesBound() {
        // 4096×4096 at bond 16: both paths read weights for few FLOPs at one row, so both are bound by bytes.
        MpoShape shape = MpoShape.of(4096, 4096, 4);
        Mpo mpo = mpo(shape, shape.cappedBonds(16));
        MpoCostModel.Choice without = new MpoCostModel(1e12, 1e12, 8e9, 0, 0).choose(mpo, 1);
        MpoCostModel.Choice with = new MpoCostModel(1e12, 1e12, 8e9, 0, 40e-6).choose(mpo, 1);
        assertEquals(without.denseSeconds() + 40e-6, with.denseSeconds(), 1e-15);
        assertEquals(with.directBytes() / 8e9, with.directSeconds(), 1e-15);
        // The direct rate is measured with the cores cold: it holds the start of their stream already.
        assertEquals(without.directSeconds(), with.directSeconds());
    }

    @Test
    void aMeasuredDirectRateReplacesTheModelsOwnAndNothingElse() {
        MpoShape shape = MpoShape.of(1536, 384, 4);
        Mpo mpo = mpo(shape, shape.cappedBonds(24));
        MpoCostModel model = new MpoCostModel(300e9, 120e9, 60e9, 1e-6, 30e-6);
        MpoCostModel slower = model.withDirectRate(30e9);
        assertEquals(new MpoCostModel(300e9, 30e9, 60e9, 1e-6, 30e-6), slower);
        // Compute-bound at 64 rows: the direct estimate grows by the ratio of the rates.
        MpoCostModel.Choice fast = model.choose(mpo, 64);
        MpoCostModel.Choice slow = slower.choose(mpo, 64);
        assertEquals(fast.directFlops() / 30e9 + 4 * 1e-6, slow.directSeconds(), 1e-12);
        assertEquals(fast.denseSeconds(), slow.denseSeconds());
    }

    @Test
    void aCalibratedMatrixChoosesByItsOwnDirectRate() {
        VectorBackend backend = new VectorBackend(Parallelism.of(2));
        try (Arena shared = Arena.ofShared()) {
            MpoShape shape = MpoShape.of(1536, 384, 4);
            Mpo mpo = RandomMpos.mpo(shape, shape.cappedBonds(9), new java.util.Random(4), shared);
            MpoCostModel model = new MpoCostModel(300e9, 1e3, 60e9, 1e-6, 30e-6);
            MpoMatrix matrix = new MpoMatrix(backend, mpo, model, null);
            assertEquals(MpoCostModel.Path.DENSE, matrix.choice(1).path(), "at 1 kFLOP/s the direct path never wins");
            MpoCostModel calibrated = matrix.calibrate();
            assertTrue(calibrated.directFlopsPerSecond() > 1e6 && Double.isFinite(calibrated.directFlopsPerSecond()),
                    calibrated.toString());
            assertEquals(model.withDirectRate(calibrated.directFlopsPerSecond()), calibrated);
            assertEquals(calibrated.choose(mpo, 1), matrix.choice(1));
        }
    }

    @Test
    void ratesMustBePositive() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MpoCostModel(1, 0, 1));
        assertTrue(e.getMessage().contains("must be positive"), e.getMessage());
    }
}
