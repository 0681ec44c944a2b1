package dev.tensorloom.outside;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.KernelFamily;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.kernel.cuda.CudaBackend;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import org.junit.jupiter.api.Test;

/** A family of another module gets its implementation for each backend by name, with that backend's context. */
class KernelFamilyTest {

    private static final float[] VALUES = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
    private static final float SUM_OF_SQUARES = 2470; // n(n+1)(2n+1)/6 for n = 19

    @Test
    void eachBackendGetsItsOwnImplementationAndContext() {
        assertInstanceOf(ScalarSumOfSquares.class, SumOfSquares.FAMILY.on(new ScalarBackend()));
        VectorBackend vector = new VectorBackend(Parallelism.of(3));
        SumOfSquares onVector = SumOfSquares.FAMILY.on(vector);
        assertSame(Parallelism.of(3), assertInstanceOf(VectorSumOfSquares.class, onVector).parallelism());
        CudaBackend cuda = CudaBackend.open();
        assertSame(cuda.device(), assertInstanceOf(CudaSumOfSquares.class, SumOfSquares.FAMILY.on(cuda)).device());
    }

    @Test
    void everyImplementationComputesTheSameSum() {
        for (Backend backend : new Backend[] {new ScalarBackend(), new VectorBackend(Parallelism.of(2)),
            CudaBackend.open()}) {
            try (Arena arena = Arena.ofConfined()) {
                Tensor x = backend.toDevice(Tensor.of(arena, VALUES, VALUES.length), arena);
                assertEquals(SUM_OF_SQUARES, SumOfSquares.FAMILY.on(backend).of(x), backend.name());
            }
        }
    }

    @Test
    void aMissingImplementationIsNamed() {
        var family = new KernelFamily<>(SumOfSquares.class, "dev.tensorloom.nowhere.ScalarSumOfSquares",
                "v", "c");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> family.on(new ScalarBackend()));
        assertTrue(e.getMessage().contains("dev.tensorloom.nowhere.ScalarSumOfSquares"), e.getMessage());
        assertTrue(e.getMessage().contains("scalar backend"), e.getMessage());
    }

    @Test
    void anImplementationForTheWrongBackendIsRefused() {
        var family = new KernelFamily<>(SumOfSquares.class, VectorSumOfSquares.class.getName(), "v", "c");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> family.on(new ScalarBackend()));
        assertTrue(e.getMessage().contains("no public constructor taking " + ScalarBackend.class.getName()),
                e.getMessage());
    }
}
