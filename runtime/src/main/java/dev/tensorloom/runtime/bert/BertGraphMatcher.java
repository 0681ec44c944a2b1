package dev.tensorloom.runtime.bert;

import static dev.tensorloom.runtime.bert.GraphNavigator.describeNodes;
import static dev.tensorloom.runtime.bert.GraphNavigator.isOp;

import dev.tensorloom.runtime.onnx.OnnxFormatException;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.onnx.OnnxNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Walks a BERT encoder's ONNX graph from the inputs to the last layer: embeddings, then layer after layer
 * as long as the current hidden state feeds the three projections of an attention block. Each layer is
 * matched in data-flow order: attention, residual Add with the layer input, LayerNorm, intermediate
 * projection, exact (erf) GELU, output projection, residual Add, LayerNorm.
 */
final class BertGraphMatcher {

    private final GraphNavigator graph;
    private final LinearMatcher linears;
    private final LayerNormMatcher norms;
    private final EmbeddingMatcher embeddings;
    private final AttentionMatcher attention;
    private final GeluMatcher gelu;

    BertGraphMatcher(OnnxModel model) {
        this.graph = new GraphNavigator(model);
        this.linears = new LinearMatcher(graph);
        this.norms = new LayerNormMatcher(graph);
        this.embeddings = new EmbeddingMatcher(graph, norms);
        this.attention = new AttentionMatcher(graph, linears);
        this.gelu = new GeluMatcher(graph, linears);
    }

    BertGraphMatch match() throws OnnxFormatException {
        EmbeddingMatcher.Embeddings e = embeddings.match();
        long hiddenDim = e.word().dims()[1];
        if (hiddenDim < 1 || hiddenDim > Integer.MAX_VALUE) {
            throw graph.fail("the word embedding table " + e.word() + " has no usable hidden width");
        }
        int hidden = (int) hiddenDim;

        List<BertGraphMatch.Layer> layers = new ArrayList<>();
        Set<String> layerInputs = new HashSet<>();
        String h = e.norm().output();
        while (true) {
            List<OnnxNode> projections = linears.projectionsOf(h);
            if (projections.isEmpty()) {
                break;
            }
            String where = "layer " + layers.size();
            if (projections.size() != 3) {
                throw graph.fail(where + ": expected " + graph.describeValue(h) + " to feed the three projections"
                        + " query, key and value, found " + describeNodes(projections));
            }
            if (!layerInputs.add(h)) {
                throw graph.fail(where + ": the graph loops back to the input of an earlier layer, "
                        + graph.describeValue(h));
            }
            layers.add(matchLayer(h, projections, hidden, where));
            h = layers.getLast().outputNorm().output();
        }
        if (layers.isEmpty()) {
            throw graph.fail("expected the embedding LayerNorm output " + graph.describeValue(h)
                    + " to feed the query, key and value projections of the first layer, found "
                    + describeNodes(graph.dataConsumers(h)));
        }
        int heads = layers.getFirst().heads();
        for (BertGraphMatch.Layer layer : layers) {
            if (layer.heads() != heads) {
                throw graph.fail("layers differ in their number of attention heads: " + heads + " and "
                        + layer.heads());
            }
        }
        return new BertGraphMatch(e.word(), e.position(), e.tokenType(), e.norm(), layers, heads);
    }

    private BertGraphMatch.Layer matchLayer(String x, List<OnnxNode> projections, int hidden, String where)
            throws OnnxFormatException {
        AttentionMatcher.Attention a = attention.match(x, projections, hidden, where);
        String attended = residual(a.output().output(), x, where + " attention");
        BertGraphMatch.Norm attentionNorm = norms.match(attended, where + " attention LayerNorm");

        List<OnnxNode> up = linears.projectionsOf(attentionNorm.output());
        if (up.size() != 1) {
            throw graph.fail(where + ": expected one intermediate MatMul consuming "
                    + graph.describeValue(attentionNorm.output()) + ", found " + describeNodes(up));
        }
        BertGraphMatch.Linear intermediate = linears.match(up.getFirst(), where + " intermediate");
        OnnxNode down = gelu.followToOutputProjection(intermediate.output(), where);
        BertGraphMatch.Linear output = linears.match(down, where + " output");
        String fed = residual(output.output(), attentionNorm.output(), where + " output");
        BertGraphMatch.Norm outputNorm = norms.match(fed, where + " output LayerNorm");
        return new BertGraphMatch.Layer(a.query(), a.key(), a.value(), a.output(), attentionNorm, intermediate,
                output, outputNorm, a.heads());
    }

    /** The output of the residual Add of {@code branch} and {@code skip}. */
    private String residual(String branch, String skip, String where) throws OnnxFormatException {
        OnnxNode add = graph.soleDataConsumer(branch, "the residual Add (" + where + ")");
        if (!isOp(add, "Add") || !graph.otherInput(add, branch).equals(skip)) {
            throw graph.fail(where + ": expected the residual Add of " + graph.describeValue(branch) + " and "
                    + graph.describeValue(skip) + ", found " + add);
        }
        return add.output(0);
    }
}
