package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** OPF: deep exact MPOs that contract back to the matrix, and a merged model that is the dense model again. */
class OverparameterizationTest {

    @Test
    void bertBaseSizesGoIntoFifteenCores() {
        MpoShape square = MpoShape.deep(768, 768, 15);
        assertArrayEquals(new int[] {2, 2, 2, 2, 2, 2, 2, 2, 3, 1, 1, 1, 1, 1, 1}, square.rowFactors());
        assertArrayEquals(new int[] {1, 1, 1, 1, 1, 1, 3, 2, 2, 2, 2, 2, 2, 2, 2}, square.colFactors());
        for (MpoShape shape : List.of(square, MpoShape.deep(768, 3072, 15), MpoShape.deep(3072, 768, 15),
                MpoShape.deep(384, 1536, 15), MpoShape.deep(384, 384, 15))) {
            assertEquals(15, shape.cores());
            for (int k = 0; k < 15; k++) {
                assertTrue(shape.rowFactor(k) * shape.colFactor(k) >= 2, shape + " core " + k);
            }
        }
        // 3072 = 2¹⁰·3 has 11 primes: with 20 cores it is split evenly instead.
        assertEquals(3072, MpoShape.deep(3072, 3072, 12).rows());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MpoShape.deep(6, 6, 5));
        assertTrue(e.getMessage().contains("6 × 6 has 4 prime factors in all and cannot be cut into 5 cores"),
                e.getMessage());
    }

    /**
     * 24 × 32 in 9 cores (every prime factor its own core): the MPO holds many times the matrix's parameters, and the
     * merged matrix is the matrix within 1e-5 relative Frobenius error, on every host backend.
     */
    @ParameterizedTest
    @ValueSource(strings = {"scalar", "vector"})
    void aDeepMpoContractsBackExactly(String backendName) {
        Backend backend = BackendProvider.byName(backendName);
        int rows = 24;
        int cols = 32;
        float[] w = RandomMpos.gaussian(new Random(31), rows * cols);
        Decomposition d = Overparameterization.expand(w, rows, cols, 9);
        assertEquals(9, d.shape().cores());
        assertTrue(d.parameters() > 2L * rows * cols, "over-parameterized: " + d.parameters());
        try (Arena arena = Arena.ofShared()) {
            PreparedMatrix merged = Overparameterization.merge(backend, d.toMpo(arena), arena);
            Tensor identity = backend.toDevice(identity(arena, rows), arena);
            Tensor back = backend.allocate(arena, rows, cols);
            merged.multiply(identity, back);
            float[] actual = backend.toHost(back, arena).toArray();
            double error = 0;
            double norm = 0;
            for (int e = 0; e < w.length; e++) {
                error += Math.pow((double) w[e] - actual[e], 2);
                norm += (double) w[e] * w[e];
            }
            assertTrue(Math.sqrt(error / norm) <= 1e-5, "relative error " + Math.sqrt(error / norm));

            // Inference cost: the merged matrix is the backend's dense prepared matrix of the same shape.
            PreparedMatrix dense = backend.kernels().prepare(backend.toDevice(Tensor.of(arena, w, rows, cols), arena));
            assertEquals(dense.getClass(), merged.getClass());
            assertEquals(dense.bytes(), merged.bytes());
            assertEquals(rows, merged.rows());
            assertEquals(cols, merged.cols());
        }
    }

    /**
     * A tiny BERT with every matrix expanded into 10 cores and merged back runs the dense model: same hidden states
     * (within the tolerance the dense encoder is held to against ONNX Runtime) and the same bytes per matrix.
     */
    @Test
    void theMergedModelIsTheDenseModel() throws Exception {
        Backend backend = BackendProvider.byName("vector");
        TinyBertOnnx tiny = TinyBertOnnx.build(TinyBertOnnx.Spec.small());
        try (BertWeights weights = BertOnnxLoader.load(OnnxModel.read(tiny.bytes(), "tiny"))) {
            List<Long> denseBytes = new ArrayList<>();
            List<Long> mergedBytes = new ArrayList<>();
            MatrixPreparer dense = MatrixPreparer.dense(backend);
            Overparameterization.RoundTrip opf = Overparameterization.roundTrip(backend, 10);
            float[] expected = hidden(weights, backend, (name, w, arena) -> record(dense.prepare(name, w, arena), denseBytes));
            float[] actual = hidden(weights, backend, (name, w, arena) -> record(opf.prepare(name, w, arena), mergedBytes));
            assertEquals(denseBytes, mergedBytes);
            assertEquals(8, opf.expansions().size());
            for (Decomposition d : opf.expansions().values()) {
                assertEquals(10, d.shape().cores());
            }
            for (int e = 0; e < expected.length; e++) {
                assertEquals(expected[e], actual[e], 1e-4, "element " + e);
            }
        }
    }

    private static PreparedMatrix record(PreparedMatrix m, List<Long> bytes) {
        bytes.add(m.bytes());
        return m;
    }

    private static float[] hidden(BertWeights weights, Backend backend, MatrixPreparer preparer) {
        int[] ids = {1, 7, 9, 3, 12, 2};
        TokenBatch batch = new TokenBatch(1, ids.length, ids, new int[ids.length], new float[] {1, 1, 1, 1, 1, 1},
                new int[] {ids.length});
        try (BertEncoder encoder = new BertEncoder(weights, backend, preparer); Arena arena = Arena.ofConfined()) {
            return backend.toHost(encoder.forward(batch, arena), arena).toArray();
        }
    }

    private static Tensor identity(Arena arena, int n) {
        Tensor t = Tensor.allocate(arena, n, n);
        for (int i = 0; i < n; i++) {
            t.set(1, i, i);
        }
        return t;
    }
}
