package dev.tensorloom.runtime.bert;

import static dev.tensorloom.runtime.bert.GraphNavigator.MAX_CHAIN;
import static dev.tensorloom.runtime.bert.GraphNavigator.isOp;

import dev.tensorloom.runtime.onnx.OnnxFormatException;
import dev.tensorloom.runtime.onnx.OnnxNode;
import dev.tensorloom.runtime.onnx.OnnxTensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Finds the self-attention block of one layer and tells query, key and value apart by what the graph does
 * with them, never by names or order. The layer input feeds three projections; each is reshaped from
 * [batch, seq, hidden] into [batch, seq, heads, headDim] and transposed. Query and key meet in the score
 * MatMul, query on the left and key, transposed to [batch, heads, headDim, seq], on the right; the scores
 * are scaled, masked and softmaxed, and multiply value in the context MatMul; the context is transposed
 * back, merged to [batch, seq, hidden] and projected by the attention output layer.
 *
 * <p>Everything on the way is checked: the head split is the same for all three, the transposes compose
 * to the layouts above, there is exactly one Softmax over the last axis, and the scores are scaled by
 * 1/sqrt(headDim) in total, wherever the export put the factor.
 */
final class AttentionMatcher {

    /** What attention looks like to the rest of the layer. */
    record Attention(BertGraphMatch.Linear query, BertGraphMatch.Linear key, BertGraphMatch.Linear value,
            BertGraphMatch.Linear output, int heads) {
    }

    /** Where one projection goes after it is split into heads. */
    private record HeadPath(OnnxNode projection, BertGraphMatch.Linear linear, OnnxNode target, int operand,
            int[] layout, int heads, int headDim, double scale) {

        String describe() {
            return "projection " + projection.opType() + " '" + projection.name() + "' reaches " + target.opType()
                    + " '" + target.name() + "' as operand " + operand;
        }
    }

    /** Axes after the head split: 0 batch, 1 seq, 2 head, 3 headDim. */
    private static final int[] SPLIT = {0, 1, 2, 3};
    private static final int[] HEADS_FIRST = {0, 2, 1, 3};
    private static final int[] KEY_TRANSPOSED = {0, 2, 3, 1};
    private static final double SCALE_TOLERANCE = 1e-3;

    private final GraphNavigator graph;
    private final LinearMatcher linears;

    AttentionMatcher(GraphNavigator graph, LinearMatcher linears) {
        this.graph = graph;
        this.linears = linears;
    }

    /** The attention of the layer whose input is {@code x} and whose projections are {@code projections}. */
    Attention match(String x, List<OnnxNode> projections, int hidden, String where) throws OnnxFormatException {
        List<HeadPath> paths = new ArrayList<>();
        for (OnnxNode p : projections) {
            BertGraphMatch.Linear linear = linears.match(p, where + " projection " + p.name());
            paths.add(followIntoHeads(p, linear, hidden, where));
        }
        HeadPath query = null;
        HeadPath key = null;
        HeadPath value = null;
        for (HeadPath a : paths) {
            for (HeadPath b : paths) {
                if (a != b && a.target == b.target && a.operand == 0 && b.operand == 1) {
                    query = a;
                    key = b;
                }
            }
        }
        for (HeadPath p : paths) {
            if (p != query && p != key) {
                value = p;
            }
        }
        if (query == null || value.operand != 1 || value.target == query.target) {
            throw graph.fail(where + ": expected two of the projections of " + graph.describeValue(x)
                    + " to meet in the score MatMul (query left, key right) and the third to enter another MatMul"
                    + " on the right (value), found: " + paths.stream().map(HeadPath::describe).toList());
        }
        requireLayout(query, HEADS_FIRST, "query", where);
        requireLayout(key, KEY_TRANSPOSED, "key", where);
        requireLayout(value, HEADS_FIRST, "value", where);
        for (HeadPath p : List.of(key, value)) {
            if (p.heads != query.heads || p.headDim != query.headDim) {
                throw graph.fail(where + ": query splits into " + query.heads + " heads of " + query.headDim
                        + ", but " + p.describe() + " after splitting into " + p.heads + " of " + p.headDim);
            }
        }
        followScores(query, key, value, where);
        BertGraphMatch.Linear output = followContext(value.target, hidden, where);
        return new Attention(query.linear, key.linear, value.linear, output, query.heads);
    }

    private HeadPath followIntoHeads(OnnxNode projection, BertGraphMatch.Linear linear, int hidden, String where)
            throws OnnxFormatException {
        String cur = linear.output();
        int[] layout = null;
        int heads = 0;
        int headDim = 0;
        double scale = 1;
        for (int step = 0; step < MAX_CHAIN; step++) {
            OnnxNode n = graph.soleDataConsumer(cur,
                    "a Reshape into heads, a Transpose, a scaling or the attention MatMul (" + where + ")");
            if (isOp(n, "Reshape") && n.input(0).equals(cur) && layout == null) {
                long[] split = headSplit(n, hidden, where);
                heads = (int) split[0];
                headDim = (int) split[1];
                layout = SPLIT;
            } else if (isOp(n, "Transpose") && layout != null) {
                layout = compose(layout, n, where);
            } else if (isScaling(n, cur)) {
                scale *= factor(n, cur, where);
            } else if (isOp(n, "MatMul") && layout != null && !graph.isConstant(n.input(0))
                    && !graph.isConstant(n.input(1)) && !n.input(0).equals(n.input(1))) {
                return new HeadPath(projection, linear, n, n.input(0).equals(cur) ? 0 : 1, layout, heads, headDim,
                        scale);
            } else {
                throw graph.fail(where + ": after " + projection + " expected "
                        + (layout == null ? "a Reshape into heads" : "a Transpose, a scaling or the attention MatMul")
                        + " consuming " + graph.describeValue(cur) + ", found " + n);
            }
            cur = n.output(0);
        }
        throw graph.fail(where + ": the path from " + projection + " is longer than " + MAX_CHAIN + " nodes");
    }

    /**
     * [heads, headDim] from the shape a Reshape splits the hidden width with: a constant, or a Concat
     * whose trailing inputs are constants (exports compute batch and sequence from Shape). One of the two
     * may be -1.
     */
    private long[] headSplit(OnnxNode reshape, int hidden, String where) throws OnnxFormatException {
        long[] tail = trailingShape(reshape.input(1));
        if (tail.length < 2) {
            throw graph.fail(where + ": expected " + reshape + " to split the hidden width by a shape whose last two"
                    + " entries are constants, found " + graph.describeValue(reshape.input(1)));
        }
        long heads = tail[tail.length - 2];
        long headDim = tail[tail.length - 1];
        if (heads == -1 && headDim > 0 && hidden % headDim == 0) {
            heads = hidden / headDim;
        } else if (headDim == -1 && heads > 0 && hidden % heads == 0) {
            headDim = hidden / heads;
        }
        if (heads < 1 || headDim < 1 || heads > hidden || heads * headDim != hidden) {
            throw graph.fail(where + ": expected " + reshape + " to split the hidden width " + hidden
                    + " into heads × headDim, found shape entries " + Arrays.toString(tail));
        }
        return new long[] {heads, headDim};
    }

    /** The entries at the end of a shape value that are known without running the graph. */
    private long[] trailingShape(String shape) throws OnnxFormatException {
        Optional<OnnxTensor> constant = graph.constant(shape);
        if (constant.isPresent()) {
            long[] s = constant.get().toLongArray();
            return s.length == 4 ? s : new long[0];
        }
        Optional<OnnxNode> producer = graph.producer(shape);
        if (producer.isEmpty() || !isOp(producer.get(), "Concat")) {
            return new long[0];
        }
        List<String> parts = producer.get().inputs();
        long[] tail = new long[0];
        for (int i = parts.size() - 1; i >= 0; i--) {
            Optional<OnnxTensor> part = graph.constant(parts.get(i));
            if (part.isEmpty()) {
                break;
            }
            long[] values = part.get().toLongArray();
            long[] joined = Arrays.copyOf(values, values.length + tail.length);
            System.arraycopy(tail, 0, joined, values.length, tail.length);
            tail = joined;
        }
        return tail;
    }

    private void followScores(HeadPath query, HeadPath key, HeadPath value, String where) throws OnnxFormatException {
        String cur = query.target.output(0);
        double scale = query.scale * key.scale;
        boolean softmax = false;
        for (int step = 0; step < MAX_CHAIN; step++) {
            OnnxNode n = graph.soleDataConsumer(cur, "the scaling, masking or Softmax of the attention scores ("
                    + where + ")");
            if (isScaling(n, cur)) {
                scale *= factor(n, cur, where);
            } else if ((isOp(n, "Add") || isOp(n, "Where")) && !softmax) {
                // The attention mask: added as a large negative number, or selected with Where.
                requireOperand(n, cur, where);
            } else if (isOp(n, "Cast") || isOp(n, "Identity")) {
                requireOperand(n, cur, where);
            } else if (isOp(n, "Softmax") && !softmax) {
                requireLastAxisSoftmax(n, where);
                softmax = true;
            } else if (n == value.target && softmax && n.input(0).equals(cur)) {
                double expected = 1 / Math.sqrt(query.headDim);
                if (Math.abs(scale - expected) > SCALE_TOLERANCE * expected) {
                    throw graph.fail(where + ": attention scores are scaled by " + scale + " in total, expected"
                            + " 1/sqrt(" + query.headDim + ") = " + expected);
                }
                return;
            } else {
                throw graph.fail(where + ": after the score " + query.target + " expected "
                        + (softmax ? "the context MatMul with the value heads " + value.target
                                : "scaling, the mask, or the Softmax")
                        + " consuming " + graph.describeValue(cur) + ", found " + n);
            }
            cur = n.output(0);
        }
        throw graph.fail(where + ": the path from " + query.target + " is longer than " + MAX_CHAIN + " nodes");
    }

    private BertGraphMatch.Linear followContext(OnnxNode context, int hidden, String where)
            throws OnnxFormatException {
        String cur = context.output(0);
        // The context is [batch, heads, seq, headDim]; merging needs [batch, seq, heads, headDim].
        int[] layout = {0, 1, 2, 3};
        boolean merged = false;
        for (int step = 0; step < MAX_CHAIN; step++) {
            OnnxNode n = graph.soleDataConsumer(cur, "the merge of heads after " + context + " (" + where + ")");
            if (isOp(n, "Transpose") && !merged) {
                layout = compose(layout, n, where);
            } else if (isOp(n, "Reshape") && !merged && n.input(0).equals(cur)) {
                long[] tail = trailingShape3(n.input(1));
                if (tail.length == 0 || (tail[tail.length - 1] != hidden && tail[tail.length - 1] != -1)) {
                    throw graph.fail(where + ": expected " + n + " to merge the heads into the hidden width " + hidden
                            + ", found shape entries " + Arrays.toString(tail));
                }
                merged = true;
            } else if (merged && linears.isProjection(n, cur)) {
                if (!Arrays.equals(layout, HEADS_FIRST)) {
                    throw graph.fail(where + ": the context of " + context + " is transposed to "
                            + Arrays.toString(layout) + " before the merge, expected " + Arrays.toString(HEADS_FIRST));
                }
                return linears.match(n, where + " attention output");
            } else {
                throw graph.fail(where + ": after the context " + context + " expected "
                        + (merged ? "the attention output MatMul" : "a Transpose or the Reshape that merges the heads")
                        + " consuming " + graph.describeValue(cur) + ", found " + n);
            }
            cur = n.output(0);
        }
        throw graph.fail(where + ": the path from " + context + " is longer than " + MAX_CHAIN + " nodes");
    }

    /** Trailing constant entries of the 3-D shape that merges heads back. */
    private long[] trailingShape3(String shape) throws OnnxFormatException {
        Optional<OnnxTensor> constant = graph.constant(shape);
        if (constant.isPresent()) {
            long[] s = constant.get().toLongArray();
            return s.length == 3 ? s : new long[0];
        }
        Optional<OnnxNode> producer = graph.producer(shape);
        if (producer.isEmpty() || !isOp(producer.get(), "Concat")) {
            return new long[0];
        }
        List<String> parts = producer.get().inputs();
        Optional<OnnxTensor> last = parts.isEmpty() ? Optional.empty() : graph.constant(parts.getLast());
        return last.isPresent() ? last.get().toLongArray() : new long[0];
    }

    private void requireLayout(HeadPath p, int[] expected, String role, String where) throws OnnxFormatException {
        if (!Arrays.equals(p.layout, expected)) {
            throw graph.fail(where + ": the " + role + " heads of " + p.projection + " are laid out as "
                    + Arrays.toString(p.layout) + " (of batch, seq, head, headDim), expected " + Arrays.toString(expected));
        }
    }

    private void requireLastAxisSoftmax(OnnxNode softmax, String where) throws OnnxFormatException {
        long opset = graph.model().defaultOpsetVersion().orElse(0);
        // Before opset 13 the default axis is 1 and the input is flattened to 2-D from there.
        long axis = graph.integer(softmax, "axis", opset >= 13 ? -1 : 1);
        if (axis != -1 && axis != 3) {
            throw graph.fail(where + ": expected " + softmax + " over the last axis of the scores, found axis " + axis);
        }
    }

    private void requireOperand(OnnxNode n, String cur, String where) throws OnnxFormatException {
        if (!n.inputs().contains(cur)) {
            throw graph.fail(where + ": expected " + n + " to consume '" + cur + "'");
        }
    }

    private boolean isScaling(OnnxNode n, String cur) throws OnnxFormatException {
        if (isOp(n, "Div")) {
            return n.input(0).equals(cur) && graph.isScalarConstant(n.input(1));
        }
        if (isOp(n, "Mul") && n.inputs().size() == 2) {
            return graph.isScalarConstant(n.input(0).equals(cur) ? n.input(1) : n.input(0));
        }
        return false;
    }

    private double factor(OnnxNode n, String cur, String where) throws OnnxFormatException {
        float c = graph.scalar(graph.otherInput(n, cur), where + " scale factor of " + n);
        return isOp(n, "Div") ? 1.0 / c : c;
    }

    /** The layout after {@code transpose}: output axis i holds what was axis perm[i] of its input. */
    private int[] compose(int[] layout, OnnxNode transpose, String where) throws OnnxFormatException {
        long[] perm = graph.longs(transpose, "perm", new long[] {3, 2, 1, 0});
        boolean[] seen = new boolean[4];
        int[] out = new int[4];
        if (perm.length != 4) {
            throw graph.fail(where + ": expected " + transpose + " to permute 4 axes, found perm " + Arrays.toString(perm));
        }
        for (int i = 0; i < 4; i++) {
            if (perm[i] < 0 || perm[i] > 3 || seen[(int) perm[i]]) {
                throw graph.fail(where + ": " + transpose + " has invalid perm " + Arrays.toString(perm));
            }
            seen[(int) perm[i]] = true;
            out[i] = layout[(int) perm[i]];
        }
        return out;
    }
}
