package dev.tensorloom.runtime.bert;

import static dev.tensorloom.runtime.bert.GraphNavigator.describeNodes;
import static dev.tensorloom.runtime.bert.GraphNavigator.isOp;

import dev.tensorloom.runtime.onnx.OnnxFormatException;
import dev.tensorloom.runtime.onnx.OnnxNode;
import dev.tensorloom.runtime.onnx.OnnxTensor;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Finds the LayerNorm applied to a value, in either form an export writes it:
 * <ul>
 * <li>one LayerNormalization node (opset 17 and later), epsilon from its attribute;</li>
 * <li>decomposed, as PyTorch exports at lower opsets:
 * {@code d = x - ReduceMean(x); y = d / Sqrt(ReduceMean(d^2) + eps) * gamma + beta}, where the square may be
 * Pow(d, 2) or Mul(d, d) and the division may be a Mul by Reciprocal, operands of Mul and Add in either
 * order; epsilon from the constant of the Add.</li>
 * </ul>
 * Both normalize over the last axis of [batch, seq, hidden] hidden states, written -1 or 2.
 */
final class LayerNormMatcher {

    /** LayerNormalization's default epsilon, in the ONNX operator specification. */
    private static final float DEFAULT_EPSILON = 1e-5f;

    private final GraphNavigator graph;

    LayerNormMatcher(GraphNavigator graph) {
        this.graph = graph;
    }

    /** The LayerNorm whose input is {@code x}; {@code where} names it in messages. */
    BertGraphMatch.Norm match(String x, String where) throws OnnxFormatException {
        List<OnnxNode> consumers = graph.dataConsumers(x);
        for (OnnxNode n : consumers) {
            if (isOp(n, "LayerNormalization") && n.input(0).equals(x)) {
                return fused(n, where);
            }
        }
        for (OnnxNode n : consumers) {
            if (isOp(n, "ReduceMean") && n.input(0).equals(x)) {
                return decomposed(x, n, consumers, where);
            }
        }
        throw graph.fail(where + ": expected a LayerNormalization or the ReduceMean of a decomposed LayerNorm"
                + " consuming " + graph.describeValue(x) + ", found " + describeNodes(consumers));
    }

    private BertGraphMatch.Norm fused(OnnxNode ln, String where) throws OnnxFormatException {
        long axis = graph.integer(ln, "axis", -1);
        if (!isLastAxis(axis)) {
            throw graph.fail(where + ": " + ln + " normalizes axis " + axis + ", expected the last axis (-1)");
        }
        float eps = ln.attribute("epsilon").isPresent() ? ln.attribute("epsilon").get().asFloat() : DEFAULT_EPSILON;
        OnnxTensor gamma = graph.requireConstant(ln.input(1), where + " scale (input 1 of " + ln + ")");
        OnnxTensor beta = ln.input(2).isEmpty() ? null
                : graph.requireConstant(ln.input(2), where + " bias (input 2 of " + ln + ")");
        return new BertGraphMatch.Norm(gamma, beta, eps, ln.output(0), where);
    }

    private BertGraphMatch.Norm decomposed(String x, OnnxNode mean, List<OnnxNode> xConsumers, String where)
            throws OnnxFormatException {
        requireLastAxisMean(mean, where);
        String meanOut = mean.output(0);
        OnnxNode sub = xConsumers.stream()
                .filter(n -> isOp(n, "Sub") && n.input(0).equals(x) && n.input(1).equals(meanOut))
                .findFirst()
                .orElseThrow(() -> graph.fail(where + ": expected Sub(" + x + ", " + meanOut + ") after " + mean
                        + ", found " + describeNodes(xConsumers)));
        String centered = sub.output(0);
        List<OnnxNode> centeredUsers = graph.dataConsumers(centered);

        OnnxNode square = null;
        OnnxNode divide = null;
        for (OnnxNode n : centeredUsers) {
            if (isOp(n, "Pow") && n.input(0).equals(centered)) {
                float exponent = graph.scalar(n.input(1), where + " exponent of " + n);
                if (exponent != 2f) {
                    throw graph.fail(where + ": expected " + n + " to square, found exponent " + exponent);
                }
                square = n;
            } else if (isOp(n, "Mul") && n.input(0).equals(centered) && n.input(1).equals(centered)) {
                square = n;
            } else if ((isOp(n, "Div") && n.input(0).equals(centered)) || isOp(n, "Mul")) {
                divide = n;
            }
        }
        if (square == null || divide == null || centeredUsers.size() != 2) {
            throw graph.fail(where + ": expected the centered value " + graph.describeValue(centered)
                    + " to be squared (Pow or Mul) and divided (Div or Mul by Reciprocal), found "
                    + describeNodes(centeredUsers));
        }

        OnnxNode variance = graph.next(square, "ReduceMean", "ReduceMean of the squares", where);
        requireLastAxisMean(variance, where);
        OnnxNode addEps = graph.next(variance, "Add", "Add(variance, epsilon)", where);
        float eps = graph.scalar(graph.otherInput(addEps, variance.output(0)), where + " epsilon in " + addEps);
        OnnxNode sqrt = graph.next(addEps, "Sqrt", "Sqrt", where);
        String std = sqrt.output(0);
        if (isOp(divide, "Div")) {
            if (!divide.input(1).equals(std)) {
                throw graph.fail(where + ": expected " + divide + " to divide by '" + std + "'");
            }
        } else {
            OnnxNode reciprocal = graph.soleDataConsumer(std, where + " Reciprocal");
            if (!isOp(reciprocal, "Reciprocal") || !graph.otherInput(divide, centered).equals(reciprocal.output(0))) {
                throw graph.fail(where + ": expected " + divide + " to multiply by the Reciprocal of '" + std
                        + "', found " + reciprocal);
            }
        }

        OnnxNode scale = graph.next(divide, "Mul", "Mul by gamma", where);
        OnnxTensor gamma = graph.requireConstant(graph.otherInput(scale, divide.output(0)), where + " gamma in " + scale);
        OnnxNode shift = graph.next(scale, "Add", "Add of beta", where);
        OnnxTensor beta = graph.requireConstant(graph.otherInput(shift, scale.output(0)), where + " beta in " + shift);
        return new BertGraphMatch.Norm(gamma, beta, eps, shift.output(0), where);
    }

    private void requireLastAxisMean(OnnxNode mean, String where) throws OnnxFormatException {
        // Up to opset 17 the axes are an attribute; from opset 18 they are the optional second input.
        Optional<OnnxTensor> axesInput = graph.constant(mean.input(1));
        long[] axes = axesInput.isPresent() ? axesInput.get().toLongArray() : graph.longs(mean, "axes", new long[0]);
        if (axes.length != 1 || !isLastAxis(axes[0])) {
            throw graph.fail(where + ": expected " + mean + " over the last axis, found axes " + Arrays.toString(axes));
        }
        if (graph.integer(mean, "keepdims", 1) != 1) {
            throw graph.fail(where + ": expected " + mean + " to keep the reduced axis (keepdims=1)");
        }
    }

    /** Hidden states are [batch, seq, hidden] in every BERT export, so axis 2 is the last one too. */
    private static boolean isLastAxis(long axis) {
        return axis == -1 || axis == 2;
    }
}
