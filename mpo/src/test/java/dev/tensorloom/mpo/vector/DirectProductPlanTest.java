package dev.tensorloom.mpo.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.RandomMpos;
import dev.tensorloom.mpo.vector.StepProduct.Orientation;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The vector direct product's plan: which orientation steps of few rows take (the choices asserted hold at 4, 8 and
 * 16 lanes), a forced orientation that names none, and native memory only for the backend's kernels: the states are
 * heap arrays, and a heap segment given to the Vector API once slows every kernel of the process that reads native
 * memory (see {@code DirectProduct.Scratch#staging}). {@link ForcedOrientationContractTest} holds
 * each orientation, forced on every step, to the contract.
 */
class DirectProductPlanTest {

    private static final MpoShape SMALL = new MpoShape(new int[] {4, 6, 8, 8}, new int[] {6, 4, 4, 4});

    private Arena arena;
    private VectorBackend backend;

    @BeforeEach
    void open() {
        arena = Arena.ofShared();
        backend = new VectorBackend(Parallelism.of(2));
    }

    @AfterEach
    void close() {
        arena.close();
    }

    /**
     * At 100× the third step multiplies a core 36 columns wide over 64 rows: as rows it fills 36 of 64 (or 48, 40)
     * columns of its panels, transposed two whole panels (or four, eight) of rows, and the step before writes its
     * tiles into the transposed layout. (Which of the other steps follow depends on the vector width.)
     */
    @Test
    void aNarrowCoreOverManyRowsIsMultipliedTransposed() {
        DirectProduct plan = plan(new int[] {1, 9, 9, 9, 1});
        assertEquals(Orientation.COLUMNS, plan.orientation(2), plan.toString());
        assertTrue(plan.toString().contains("core 1 columns [64x54]·[54x36]"), plan.toString());
    }

    /** At 10× the first step (192 rows, 128 columns) fills its panels as rows and keeps them. */
    @Test
    void aStepThatFillsItsPanelsKeepsItsRows() {
        DirectProduct plan = plan(new int[] {1, 24, 35, 32, 1});
        assertEquals(Orientation.ROWS, plan.orientation(0), plan.toString());
    }

    @Test
    void anUnknownForcedOrientationIsNamed() {
        String before = System.getProperty(DirectProduct.ORIENTATION_PROPERTY);
        System.setProperty(DirectProduct.ORIENTATION_PROPERTY, "diagonal");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> plan(new int[] {1, 9, 9, 9, 1}));
            assertTrue(e.getMessage().contains("tensorloom.mpo.orientation=diagonal"), e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(DirectProduct.ORIENTATION_PROPERTY);
            } else {
                System.setProperty(DirectProduct.ORIENTATION_PROPERTY, before);
            }
        }
    }

    /**
     * Steps of many rows go to the backend's GEMM, here through a {@link Kernels} that records every tensor it is
     * given. 4096×4096 with bonds of 35 at one row: its first step is a GEMM per block (wide blocks), its third the
     * state transposed around one GEMM (blocks 8 wide); 1024×1024 in two cores of bond 64 at 4 rows: its last step is
     * one GEMM on the state as it lies (Q = 1).
     */
    @ParameterizedTest
    @CsvSource({"8-8-8-8, 8-8-8-8, 1-35-35-35-1, 1", "32-32, 32-32, 1-64-1, 4"})
    void everyTensorTheKernelsSeeIsNative(String rowFactors, String colFactors, String bonds, int m) {
        Mpo mpo = RandomMpos.mpo(new MpoShape(ints(rowFactors), ints(colFactors)), ints(bonds), new Random(5), arena);
        List<Tensor> seen = new ArrayList<>();
        Kernels kernels = backend.kernels();
        Kernels recording = (Kernels) Proxy.newProxyInstance(Kernels.class.getClassLoader(),
                new Class<?>[] {Kernels.class}, (proxy, method, args) -> {
                    for (Object arg : args == null ? new Object[0] : args) {
                        if (arg instanceof Tensor t) {
                            seen.add(t);
                        }
                    }
                    try {
                        return method.invoke(kernels, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
        Tensor x = Tensor.of(arena, RandomMpos.gaussian(new Random(6), m * mpo.rows()), m, mpo.rows());
        Tensor y = Tensor.allocate(arena, m, mpo.cols());

        new DirectProduct(mpo, backend.parallelism(), recording).multiply(x, y);

        assertTrue(!seen.isEmpty(), "no step of " + mpo + " at " + m + " rows went to the backend's kernels");
        for (Tensor t : seen) {
            assertTrue(t.segment().isNative(), "a heap tensor " + t + " reached the kernels");
        }
    }

    private static int[] ints(String dashed) {
        String[] parts = dashed.split("-");
        int[] values = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            values[i] = Integer.parseInt(parts[i]);
        }
        return values;
    }

    private DirectProduct plan(int[] bonds) {
        return new DirectProduct(RandomMpos.mpo(SMALL, bonds, new Random(3), arena), backend.parallelism(),
                backend.kernels());
    }
}
