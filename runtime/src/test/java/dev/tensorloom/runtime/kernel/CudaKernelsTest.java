package dev.tensorloom.runtime.kernel;

import static dev.tensorloom.runtime.kernel.KernelAssertions.absoluteProducts;
import static dev.tensorloom.runtime.kernel.KernelAssertions.assertClose;
import static dev.tensorloom.runtime.kernel.KernelAssertions.assertProductClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.bindings.MemoryInUse;
import dev.tensorloom.runtime.kernel.cuda.CudaKernels;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The cuda backend against the scalar oracle, through whichever native library is configured: the CPU
 * emulation of the same kernel sources in CI ({@code -Dtensorloom.native.library=emu}, set by the build),
 * the GPU build on a GPU machine. kernels-cuda/tests covers the kernels on many awkward sizes; this covers
 * what the Java side adds: operands passed as offsets and leading dimensions of strided device views,
 * margins left untouched, shape checks, copies in and out, and device memory given back.
 */
class CudaKernelsTest {

    private static final Kernels SCALAR = new ScalarKernels();
    private static final CudaKernels CUDA = CudaKernels.open();

    private Arena arena;
    private Matrices matrices;

    @BeforeEach
    void openArena() {
        arena = Arena.ofShared();
        matrices = new Matrices(arena, new Random(7));
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    /** The same view as {@code host} (offset and leading dimension too) over a device copy of its parent. */
    private Tensor onDevice(Tensor host) {
        return viewLike(CUDA.toDevice(Matrices.parentOf(host), arena), host);
    }

    /**
     * The values of a view made by {@link #onDevice}, after checking that the kernel left the rest of its
     * parent as {@code hostBefore}'s parent holds it.
     */
    private Tensor fetch(Tensor deviceView, Tensor hostBefore) {
        Tensor parent = Matrices.parentOf(hostBefore);
        Tensor hostParent = CUDA.toHost(Tensor.onDevice(deviceView.deviceMemory(), parent.shape()), arena);
        Tensor after = viewLike(hostParent, hostBefore);
        Matrices.assertMarginsUntouched(Matrices.snapshot(hostBefore), after);
        return after;
    }

    /** The view of {@code parent} at the offset and shape {@code view} has in its own parent. */
    private static Tensor viewLike(Tensor parent, Tensor view) {
        if (Matrices.parentOf(view) == view) {
            return parent;
        }
        long ld = parent.dim(1);
        long row = view.offset() / ld;
        long col = view.offset() % ld;
        return parent.slice(0, row, row + view.rows()).slice(1, col, col + view.cols());
    }

    static Stream<Arguments> products() {
        return Stream.of(Arguments.of(1, 1, 1, false), Arguments.of(7, 13, 1, true), Arguments.of(13, 31, 97, true),
                Arguments.of(65, 129, 70, false), Arguments.of(3, 1030, 5, true), Arguments.of(130, 67, 131, true));
    }

    @ParameterizedTest(name = "[{0}x{1}]·[{1}x{2}] strided={3}")
    @MethodSource("products")
    void matmulMatchesScalar(int m, int k, int n, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor b = matrices.random(k, n, strided);
        Tensor c = matrices.random(m, n, strided);
        Tensor expected = Tensor.allocate(arena, m, n);
        SCALAR.matmul(a, b, expected);
        Tensor deviceC = onDevice(c);
        CUDA.matmul(onDevice(a), CUDA.prepare(b), deviceC);
        assertProductClose(expected, fetch(deviceC, c), absoluteProducts(arena, a, b, false));
    }

    @Test
    void aMatrixPreparedFromTheHostLivesAsLongAsThePreparedMatrix() throws InterruptedException {
        Tensor a = matrices.random(3, 5, false);
        Tensor b = matrices.random(5, 4, false);
        Tensor expected = Tensor.allocate(arena, 3, 4);
        SCALAR.matmul(a, b, expected);
        PreparedMatrix prepared = CUDA.prepare(b);
        for (int i = 0; i < 3; i++) { // a collection must not free the upload while the matrix is in use
            System.gc();
            Thread.sleep(20);
        }
        Tensor c = CUDA.allocate(arena, 3, 4);
        CUDA.matmul(CUDA.toDevice(a, arena), prepared, c);
        assertProductClose(expected, CUDA.toHost(c, arena), absoluteProducts(arena, a, b, false));
    }

    @ParameterizedTest(name = "[{0}x{1}]·[{2}x{1}]ᵀ strided={3}")
    @MethodSource("products")
    void matmulTransposedBMatchesScalar(int m, int k, int n, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor b = matrices.random(n, k, strided);
        Tensor c = matrices.random(m, n, strided);
        Tensor expected = Tensor.allocate(arena, m, n);
        SCALAR.matmulTransposedB(a, b, expected);
        Tensor deviceC = onDevice(c);
        CUDA.matmulTransposedB(onDevice(a), onDevice(b), deviceC);
        assertProductClose(expected, fetch(deviceC, c), absoluteProducts(arena, a, b, true));
    }

    @ParameterizedTest(name = "[{0}x{1}]·x strided={3}")
    @MethodSource("products")
    void gemvMatchesScalar(int m, int k, int unused, boolean strided) {
        Tensor a = matrices.random(m, k, strided);
        Tensor x = matrices.vector(k);
        Tensor expected = Tensor.allocate(arena, m);
        SCALAR.gemv(a, x, expected);
        Tensor y = CUDA.allocate(arena, m);
        CUDA.gemv(onDevice(a), CUDA.toDevice(x, arena), y);
        assertProductClose(expected.reshape(m, 1), CUDA.toHost(y, arena).reshape(m, 1),
                absoluteProducts(arena, a, x.reshape(k, 1), false));
    }

    static Stream<Arguments> rows() {
        return Stream.of(Arguments.of(1, 1, false), Arguments.of(3, 384, true), Arguments.of(5, 1031, true),
                Arguments.of(33, 17, false));
    }

    @ParameterizedTest(name = "[{0}x{1}] strided={2}")
    @MethodSource("rows")
    void elementwiseKernelsMatchScalar(int m, int n, boolean strided) {
        Tensor x = matrices.random(m, n, strided);
        Tensor y = matrices.random(m, n, !strided);
        Tensor bias = matrices.vector(n);
        Tensor gamma = matrices.vector(n);
        Tensor beta = matrices.vector(n);
        Tensor expected = matrices.copyOf(x, strided);
        Tensor deviceX = onDevice(x);

        SCALAR.add(expected, y);
        SCALAR.addBias(expected, bias);
        CUDA.add(deviceX, onDevice(y));
        CUDA.addBias(deviceX, CUDA.toDevice(bias, arena));
        // Elementwise sums round the same way everywhere: exact.
        assertArrayEquals(expected.toArray(), fetch(deviceX, x).toArray());

        SCALAR.layerNorm(expected, gamma, beta, 1e-12f);
        CUDA.layerNorm(deviceX, CUDA.toDevice(gamma, arena), CUDA.toDevice(beta, arena), 1e-12f);
        assertClose(expected, fetch(deviceX, x), 1e-5, 1e-5);

        Tensor reference = fetch(deviceX, x);
        SCALAR.gelu(reference);
        CUDA.gelu(deviceX);
        assertClose(reference, fetch(deviceX, x), 1e-6, 1e-5);

        SCALAR.softmaxRows(reference);
        CUDA.softmaxRows(deviceX);
        assertClose(reference, fetch(deviceX, x), 1e-7, 1e-5);

        SCALAR.l2NormalizeRows(reference);
        CUDA.l2NormalizeRows(deviceX);
        assertClose(reference, fetch(deviceX, x), 1e-7, 1e-5);
    }

    @Test
    void gatherRowsCopiesExactly() {
        Tensor table = matrices.random(50, 19, true);
        int[] ids = {49, 0, 7, 7, 23};
        Tensor expected = Tensor.allocate(arena, ids.length, 19);
        SCALAR.gatherRows(table, ids, expected);
        Tensor out = CUDA.allocate(arena, ids.length, 19);
        CUDA.gatherRows(onDevice(table), ids, out);
        assertArrayEquals(expected.toArray(), CUDA.toHost(out, arena).toArray());
        Tensor one = CUDA.allocate(arena, 1, 19);
        assertThrows(IndexOutOfBoundsException.class, () -> CUDA.gatherRows(onDevice(table), new int[] {50}, one));
    }

    static Stream<Arguments> attentionShapes() {
        return Stream.of(Arguments.of(1, 1, 16, 1), Arguments.of(3, 13, 48, 4), Arguments.of(2, 40, 96, 3));
    }

    @ParameterizedTest(name = "batch={0} seq={1} hidden={2} heads={3}")
    @MethodSource("attentionShapes")
    void attentionAndPoolingMatchScalar(int batch, int seq, int hidden, int heads) {
        int tokens = batch * seq;
        Tensor qkv = matrices.random(tokens, 3 * hidden, false);
        float[] mask = new float[tokens];
        for (int b = 0; b < batch; b++) {
            // Text 2 is all padding: its queries attend to nothing and pool to zero.
            int length = b == 2 ? 0 : Math.max(1, seq - b * 5);
            for (int t = 0; t < length; t++) {
                mask[b * seq + t] = 1f;
            }
        }
        Tensor keyMask = Tensor.of(arena, mask, batch, seq);
        Tensor expected = Tensor.allocate(arena, tokens, hidden);
        SCALAR.attention(qkv.slice(1, 0, hidden), qkv.slice(1, hidden, 2L * hidden),
                qkv.slice(1, 2L * hidden, 3L * hidden), keyMask, heads, expected);

        Tensor deviceQkv = CUDA.toDevice(qkv, arena);
        Tensor deviceMask = CUDA.toDevice(keyMask, arena);
        Tensor out = CUDA.allocate(arena, tokens, hidden);
        CUDA.attention(deviceQkv.slice(1, 0, hidden), deviceQkv.slice(1, hidden, 2L * hidden),
                deviceQkv.slice(1, 2L * hidden, 3L * hidden), deviceMask, heads, out);
        assertClose(expected, CUDA.toHost(out, arena), 1e-5, 1e-5);

        Tensor pooled = Tensor.allocate(arena, batch, hidden);
        SCALAR.meanPool(expected, keyMask, pooled);
        Tensor devicePooled = CUDA.allocate(arena, batch, hidden);
        CUDA.meanPool(out, deviceMask, devicePooled);
        assertClose(pooled, CUDA.toHost(devicePooled, arena), 1e-6, 1e-5);
    }

    @Test
    void hostOperandsAreRefusedWithAMessage() {
        Tensor host = matrices.random(2, 3, false);
        Tensor device = CUDA.toDevice(host, arena);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CUDA.add(device, host));
        assertTrue(e.getMessage().contains("host memory"), e.getMessage());
        IllegalStateException read = assertThrows(IllegalStateException.class, () -> device.get(0, 0));
        assertTrue(read.getMessage().contains("device memory"), read.getMessage());
    }

    @Test
    void badShapesFailWithTheScalarMessage() {
        Tensor a = matrices.random(2, 3, false);
        Tensor b = matrices.random(4, 5, false);
        Tensor c = Tensor.allocate(arena, 2, 5);
        IllegalArgumentException expected = assertThrows(IllegalArgumentException.class, () -> SCALAR.matmul(a, b, c));
        IllegalArgumentException actual = assertThrows(IllegalArgumentException.class,
                () -> CUDA.matmul(CUDA.toDevice(a, arena), CUDA.toDevice(b, arena), CUDA.toDevice(c, arena)));
        assertEquals(expected.getMessage().replaceAll(" on .*? \\(.*?\\)", ""),
                actual.getMessage().replaceAll(" on \\S+ \\([^)]*\\)", ""));
    }

    @Test
    void deviceMemoryReturnsToItsStartAfterThousandsOfCycles() {
        CUDA.releaseCachedMemory();
        MemoryInUse start = CUDA.device().memoryInUse();
        Tensor host = matrices.random(3, 8, false);
        for (int i = 0; i < 1000; i++) {
            try (Arena cycle = Arena.ofConfined()) {
                Tensor x = CUDA.toDevice(host, cycle);
                Tensor y = CUDA.allocate(cycle, 3, 8);
                CUDA.add(y, x);
                if (i % 250 == 0) {
                    assertArrayEquals(host.toArray(), CUDA.toHost(y, cycle).toArray());
                }
            }
        }
        // The cycles reuse two cached buffers; releasing the cache gives the device back its memory.
        assertEquals(start.buffers() + 2, CUDA.device().memoryInUse().buffers());
        CUDA.releaseCachedMemory();
        assertEquals(start, CUDA.device().memoryInUse());
    }

    @Test
    void cachedBuffersAreReusedButNeverShared() {
        Tensor ones = Tensor.of(arena, new float[] {1, 1, 1}, 1, 3);
        Tensor twos = Tensor.of(arena, new float[] {2, 2, 2}, 1, 3);
        CUDA.releaseCachedMemory();
        try (Arena first = Arena.ofConfined()) {
            CUDA.toDevice(ones, first);
        }
        long buffers = CUDA.device().memoryInUse().buffers();
        try (Arena second = Arena.ofConfined()) {
            Tensor a = CUDA.toDevice(twos, second); // takes the buffer the first arena gave back
            assertEquals(buffers, CUDA.device().memoryInUse().buffers());
            Tensor b = CUDA.allocate(second, 1, 3); // a live buffer of the same size is not handed out twice
            assertEquals(buffers + 1, CUDA.device().memoryInUse().buffers());
            assertArrayEquals(new float[] {2, 2, 2}, CUDA.toHost(a, second).toArray());
            assertArrayEquals(new float[] {0, 0, 0}, CUDA.toHost(b, second).toArray());
        }
    }

    @Test
    void reportsItsName() {
        assertEquals("cuda", CUDA.name());
    }
}
