package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A tiny BERT (2 layers) in MPOBERT's form, through runtime's encoder unchanged. */
class SharedCentralModelTest {

    private static BertWeights weights;
    private static final Backend BACKEND = BackendProvider.byName("vector");

    @BeforeAll
    static void load() throws Exception {
        weights = BertOnnxLoader.load(OnnxModel.read(TinyBertOnnx.build(TinyBertOnnx.Spec.small()).bytes(), "tiny"));
    }

    @AfterAll
    static void close() {
        weights.close();
    }

    /**
     * One layer per group and bonds that keep everything: nothing is shared and nothing cut, so the encoder computes
     * the dense model.
     */
    @Test
    void singleLayerGroupsWithWholeBondsAreTheDenseModel() {
        SharedCentralModel model = SharedCentralModel.fit(weights, List.of(List.of(0), List.of(1)), 3, 1000, BACKEND,
                MpoCostModel.defaults());
        assertEquals(8, model.fits().size());
        for (SharedCentralModel.MatrixFidelity f : model.fidelity()) {
            assertTrue(f.sharedError() <= 1e-6, f.toString());
        }
        assertEquals(model.unsharedParameters(), model.sharedParameters());
        float[] dense = hidden(MatrixPreparer.dense(BACKEND));
        float[] shared = hidden(model.preparer());
        for (int e = 0; e < dense.length; e++) {
            assertEquals(dense[e], shared[e], 1e-4, "element " + e);
        }
    }

    /**
     * Both layers sharing: each matrix's measured error is the one the fit reports, the parameters shrink by one
     * central core per type, and the encoder on the shared MPOs computes what the dense encoder computes on their
     * contracted matrices.
     */
    @Test
    void sharedCentralTensorsRunThroughTheEncoder() {
        SharedCentralModel model = SharedCentralModel.fit(weights, List.of(List.of(0, 1)), 3, 4, BACKEND,
                MpoCostModel.defaults());
        Map<String, LayerSharing.Fit> fits = model.fits();
        assertEquals(4, fits.size());
        long central = fits.values().stream().mapToLong(LayerSharing.Fit::centralParameters).sum();
        assertEquals(model.unsharedParameters() - central, model.sharedParameters());
        MpoKernels oracle = MpoKernels.FAMILY.on(BackendProvider.byName("scalar"));
        MatrixPreparer contracted = (name, weight, arena) -> {
            Tensor w = Tensor.allocate(arena, weight.rows(), weight.cols());
            oracle.contractToDense(model.mpo(name, arena), w);
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < weight.rows(); i++) {
                for (int j = 0; j < weight.cols(); j++) {
                    diff += Math.pow(weight.get(i, j) - w.get(i, j), 2);
                    norm += Math.pow(weight.get(i, j), 2);
                }
            }
            double measured = Math.sqrt(diff / norm);
            double reported = model.fidelity().stream().filter(f -> f.name().equals(name)).findFirst().orElseThrow()
                    .sharedError();
            assertEquals(measured, reported, 1e-5, name);
            return MatrixPreparer.dense(BACKEND).prepare(name, w, arena);
        };
        float[] expected = hidden(contracted);
        float[] actual = hidden(model.preparer());
        for (int e = 0; e < expected.length; e++) {
            assertEquals(expected[e], actual[e], 1e-4, "element " + e);
        }
    }

    @Test
    void groupsMustCoverEveryLayerOnce() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SharedCentralModel.fit(
                weights, List.of(List.of(0)), 3, 4, BACKEND, MpoCostModel.defaults()));
        assertTrue(e.getMessage().contains("leave out layer 1"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> SharedCentralModel.fit(
                weights, List.of(List.of(0, 1), List.of(1)), 3, 4, BACKEND, MpoCostModel.defaults()));
        assertTrue(e.getMessage().contains("layer 1 is out of range or repeated"), e.getMessage());
    }

    private static float[] hidden(MatrixPreparer preparer) {
        int[] ids = {1, 7, 9, 3, 12, 2};
        TokenBatch batch = new TokenBatch(1, ids.length, ids, new int[ids.length], new float[] {1, 1, 1, 1, 1, 1},
                new int[] {ids.length});
        try (BertEncoder encoder = new BertEncoder(weights, BACKEND, preparer); Arena arena = Arena.ofConfined()) {
            return BACKEND.toHost(encoder.forward(batch, arena), arena).toArray();
        }
    }
}
