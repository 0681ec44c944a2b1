package dev.tensorloom.runtime.bert;

import static dev.tensorloom.runtime.bert.GraphNavigator.isOp;

import dev.tensorloom.runtime.onnx.OnnxFormatException;
import dev.tensorloom.runtime.onnx.OnnxNode;
import dev.tensorloom.runtime.onnx.OnnxTensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Finds linear layers as PyTorch exports them for 3-D inputs: MatMul(x, W) with W a constant [in, out]
 * matrix, then Add of a constant bias, in either operand order. The weights are anonymous
 * ({@code onnx::MatMul_787}), so this is the only way to know what a weight is: by where it is used.
 */
final class LinearMatcher {

    private final GraphNavigator graph;

    LinearMatcher(GraphNavigator graph) {
        this.graph = graph;
    }

    /** The MatMuls that multiply {@code x} from the left by a constant matrix, in file order. */
    List<OnnxNode> projectionsOf(String x) throws OnnxFormatException {
        List<OnnxNode> out = new ArrayList<>();
        for (OnnxNode n : graph.dataConsumers(x)) {
            if (isProjection(n, x)) {
                out.add(n);
            }
        }
        return out;
    }

    boolean isProjection(OnnxNode n, String x) throws OnnxFormatException {
        if (!isOp(n, "MatMul") || !n.input(0).equals(x) || n.input(1).equals(x)) {
            return false;
        }
        Optional<OnnxTensor> w = graph.constant(n.input(1));
        return w.isPresent() && w.get().rank() == 2;
    }

    /** The weight of {@code matMul} and the bias of the Add that follows it; {@code where} names the layer. */
    BertGraphMatch.Linear match(OnnxNode matMul, String where) throws OnnxFormatException {
        OnnxTensor weight = graph.requireConstant(matMul.input(1), where + " weight (input 1 of " + matMul + ")");
        String product = matMul.output(0);
        OnnxNode add = graph.next(matMul, "Add", "the bias Add", where);
        OnnxTensor bias = graph.requireConstant(graph.otherInput(add, product), where + " bias in " + add);
        return new BertGraphMatch.Linear(weight, bias, add.output(0));
    }
}
