package dev.tensorloom.mpo.vector;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.RandomMpos;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The direct product hands the backend's kernels native memory only: its states are heap arrays, and a heap segment
 * given to the Vector API once slows every kernel of the process that reads native memory (see
 * {@code DirectProduct.Scratch#staging}). Each case runs steps of many rows, which go to the backend's GEMM, through
 * a {@link Kernels} that records every tensor it is given.
 */
class DirectProductNativeOperandsTest {

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
     * 4096×4096 with bonds of 35 at one row: its first step is a GEMM per block (wide blocks), its third the state
     * transposed around one GEMM (blocks 8 wide); 1024×1024 in two cores of bond 64 at 4 rows: its last step is one
     * GEMM on the state as it lies (Q = 1).
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
}
