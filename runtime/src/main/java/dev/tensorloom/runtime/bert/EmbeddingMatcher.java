package dev.tensorloom.runtime.bert;

import static dev.tensorloom.runtime.bert.GraphNavigator.MAX_CHAIN;
import static dev.tensorloom.runtime.bert.GraphNavigator.describeNodes;
import static dev.tensorloom.runtime.bert.GraphNavigator.isOp;

import dev.tensorloom.runtime.onnx.OnnxFormatException;
import dev.tensorloom.runtime.onnx.OnnxNode;
import dev.tensorloom.runtime.onnx.OnnxTensor;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Finds BERT's embedding block: the Gather of the word table by the graph input {@code input_ids}, the
 * Adds that sum it with the token-type Gather (indices {@code token_type_ids}) and the position Gather, and
 * the LayerNorm of the sum. Tables are told apart by their indices, not their names.
 *
 * <p>The position indices must be 0, 1, ..., seq-1, as the encoder assumes. Exports compute them in a few
 * ways, all accepted: a Slice from 0 of a constant arange (MiniLM's {@code embeddings.position_ids}
 * buffer), a Range from 0 with step 1, a constant arange, any of these through Unsqueeze, Expand or Cast,
 * or a graph input {@code position_ids}, which callers feed with 0..seq-1 as Hugging Face does by default.
 */
final class EmbeddingMatcher {

    static final String INPUT_IDS = "input_ids";
    static final String TOKEN_TYPE_IDS = "token_type_ids";
    static final String POSITION_IDS = "position_ids";

    /** The embedding tables and the LayerNorm of their sum. */
    record Embeddings(OnnxTensor word, OnnxTensor position, OnnxTensor tokenType, BertGraphMatch.Norm norm) {
    }

    private final GraphNavigator graph;
    private final LayerNormMatcher norms;

    EmbeddingMatcher(GraphNavigator graph, LayerNormMatcher norms) {
        this.graph = graph;
        this.norms = norms;
    }

    Embeddings match() throws OnnxFormatException {
        if (graph.model().graphInput(INPUT_IDS).isEmpty()) {
            throw graph.fail("expected a graph input named '" + INPUT_IDS + "', found inputs "
                    + graph.model().inputs().stream().map(v -> v.name()).toList());
        }
        OnnxNode wordGather = tableGather(INPUT_IDS);
        OnnxTensor word = graph.requireConstant(wordGather.input(0), "the word embedding table");

        List<OnnxNode> terms = new ArrayList<>();
        String sum = wordGather.output(0);
        for (int step = 0; step < MAX_CHAIN; step++) {
            List<OnnxNode> users = graph.dataConsumers(sum);
            if (users.size() != 1 || !isOp(users.getFirst(), "Add")) {
                break;
            }
            OnnxNode add = users.getFirst();
            collectTerms(graph.otherInput(add, sum), terms, new HashSet<>());
            sum = add.output(0);
        }

        OnnxTensor tokenType = null;
        OnnxTensor position = null;
        for (OnnxNode term : terms) {
            if (tracesToInput(term.input(1), TOKEN_TYPE_IDS)) {
                if (tokenType != null) {
                    throw graph.fail("expected one token-type embedding Gather, found a second: " + term);
                }
                tokenType = graph.requireConstant(term.input(0), "the token-type embedding table");
            } else {
                if (position != null) {
                    throw graph.fail("expected one position embedding Gather besides the word and token-type ones,"
                            + " found a second: " + term);
                }
                requirePositionIds(term.input(1), term);
                position = graph.requireConstant(term.input(0), "the position embedding table");
            }
        }
        if (position == null) {
            throw graph.fail("expected the word embeddings " + graph.describeValue(wordGather.output(0))
                    + " to be summed with a position embedding Gather, found the sum to end at "
                    + graph.describeValue(sum) + " with terms " + describeNodes(terms));
        }
        BertGraphMatch.Norm norm = norms.match(sum, "embedding LayerNorm");
        return new Embeddings(word, position, tokenType, norm);
    }

    /** The Gather that looks up a constant table with indices from graph input {@code input}. */
    private OnnxNode tableGather(String input) throws OnnxFormatException {
        List<OnnxNode> found = new ArrayList<>();
        List<OnnxNode> seen = new ArrayList<>();
        for (String ids : withCasts(input)) {
            for (OnnxNode n : graph.dataConsumers(ids)) {
                seen.add(n);
                if (isTableGather(n) && n.input(1).equals(ids)) {
                    found.add(n);
                }
            }
        }
        if (found.size() != 1) {
            throw graph.fail("expected one Gather of an embedding table with indices '" + input + "', found "
                    + describeNodes(seen));
        }
        return found.getFirst();
    }

    /** The value and what Cast nodes make of it, which exports insert when ids are int32 on one side. */
    private List<String> withCasts(String value) {
        List<String> out = new ArrayList<>(List.of(value));
        for (OnnxNode n : graph.dataConsumers(value)) {
            if (isOp(n, "Cast")) {
                out.add(n.output(0));
            }
        }
        return out;
    }

    private boolean isTableGather(OnnxNode n) throws OnnxFormatException {
        if (!isOp(n, "Gather") || graph.integer(n, "axis", 0) != 0) {
            return false;
        }
        Optional<OnnxTensor> table = graph.constant(n.input(0));
        return table.isPresent() && table.get().rank() == 2;
    }

    /**
     * The table Gathers that {@code value} sums, through nested Adds. {@code visited} stops a graph whose
     * Adds loop back from recursing forever, and one whose Adds share operands from recursing exponentially.
     */
    private void collectTerms(String value, List<OnnxNode> terms, Set<String> visited) throws OnnxFormatException {
        if (!visited.add(value) || visited.size() > MAX_CHAIN) {
            throw graph.fail("expected the embedding sum to add each embedding Gather once, found "
                    + graph.describeValue(value) + " again or too deep");
        }
        Optional<OnnxNode> p = graph.producer(value);
        if (p.isPresent() && isTableGather(p.get())) {
            terms.add(p.get());
        } else if (p.isPresent() && isOp(p.get(), "Add")) {
            collectTerms(p.get().input(0), terms, visited);
            collectTerms(p.get().input(1), terms, visited);
        } else {
            throw graph.fail("expected the embedding sum to add Gathers of embedding tables, found "
                    + graph.describeValue(value));
        }
    }

    private boolean tracesToInput(String value, String input) {
        String cur = value;
        for (int step = 0; step < MAX_CHAIN; step++) {
            if (cur.equals(input)) {
                return graph.model().graphInput(input).isPresent();
            }
            Optional<OnnxNode> p = graph.producer(cur);
            if (p.isEmpty() || !isOp(p.get(), "Cast")) {
                return false;
            }
            cur = p.get().input(0);
        }
        return false;
    }

    /** Fails unless {@code value}, the indices of the position Gather, is 0..seq-1. */
    private void requirePositionIds(String value, OnnxNode gather) throws OnnxFormatException {
        String cur = value;
        for (int step = 0; step < MAX_CHAIN; step++) {
            if (cur.equals(POSITION_IDS) && graph.model().graphInput(POSITION_IDS).isPresent()) {
                return;
            }
            Optional<OnnxTensor> constant = graph.constant(cur);
            if (constant.isPresent()) {
                requireArange(constant.get(), gather);
                return;
            }
            Optional<OnnxNode> p = graph.producer(cur);
            if (p.isEmpty()) {
                break;
            }
            OnnxNode n = p.get();
            if (isOp(n, "Cast") || isOp(n, "Unsqueeze") || isOp(n, "Expand") || isOp(n, "Identity")) {
                cur = n.input(0);
            } else if (isOp(n, "Slice")) {
                requireSliceFromStart(n, gather);
                cur = n.input(0);
            } else if (isOp(n, "Gather")) {
                // Indexing an arange by indices that are themselves 0..seq-1 keeps them so.
                requireArange(graph.requireConstant(n.input(0), "the table of position ids in " + n), gather);
                cur = n.input(1);
            } else if (isOp(n, "Range")) {
                if (graph.scalar(n.input(0), "start of " + n) != 0 || graph.scalar(n.input(2), "step of " + n) != 1) {
                    throw graph.fail("expected the position ids of " + gather + " to be a Range from 0 with step 1,"
                            + " found " + n);
                }
                return;
            } else {
                break;
            }
        }
        throw graph.fail("expected the position ids of " + gather + " to be 0..seq-1 (a Slice of a constant arange,"
                + " a Range from 0, or graph input '" + POSITION_IDS + "'), found " + graph.describeValue(cur));
    }

    private void requireArange(OnnxTensor t, OnnxNode gather) throws OnnxFormatException {
        long[] v = t.toLongArray();
        for (int i = 0; i < v.length; i++) {
            if (v[i] != i) {
                throw graph.fail("expected the position ids of " + gather + " to count 0, 1, 2, ..., but " + t
                        + " holds " + v[i] + " at index " + i);
            }
        }
    }

    private void requireSliceFromStart(OnnxNode slice, OnnxNode gather) throws OnnxFormatException {
        // From opset 10 starts and steps are inputs; before, starts is an attribute and there are no steps.
        long[] starts = slice.input(1).isEmpty() ? graph.longs(slice, "starts", new long[0])
                : graph.requireConstant(slice.input(1), "the starts of " + slice).toLongArray();
        long[] steps = slice.input(4).isEmpty() ? new long[0]
                : graph.requireConstant(slice.input(4), "the steps of " + slice).toLongArray();
        for (long s : starts) {
            if (s != 0) {
                throw graph.fail("expected " + slice + " to take position ids from 0, found start " + s);
            }
        }
        for (long s : steps) {
            if (s != 1) {
                throw graph.fail("expected " + slice + " to take every position id, found step " + s);
            }
        }
    }
}
