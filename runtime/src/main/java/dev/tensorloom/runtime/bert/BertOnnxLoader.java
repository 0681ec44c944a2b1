package dev.tensorloom.runtime.bert;

import dev.tensorloom.runtime.onnx.OnnxFormatException;
import dev.tensorloom.runtime.onnx.OnnxModel;
import dev.tensorloom.runtime.onnx.OnnxTensor;
import dev.tensorloom.runtime.tensor.Tensor;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Loads the weights of a BERT-family encoder (BERT, MiniLM, and other exports of Hugging Face's BertModel)
 * from an ONNX file, by following the graph: which weight is the query projection of layer 3 is decided
 * by where the graph uses it, never by initializer names or order, which exporters do not keep stable
 * (PyTorch names the projection weights {@code onnx::MatMul_NNN}). Every size of the {@link BertConfig}
 * comes from the weights and the graph as well.
 *
 * <p>The weights are copied out of the model into two shared {@link Arena}s owned by the returned
 * {@link BertWeights} (the projection matrices in one of their own), 64-byte aligned, so the model can be
 * closed (and its file unmapped) afterwards.
 * Anything the loader cannot map, from a truncated file to a graph of another architecture, ends in an
 * {@link OnnxFormatException} that names the file and the node or value that was not as expected.
 */
public final class BertOnnxLoader {

    private BertOnnxLoader() {
    }

    /** Reads {@code onnxFile} and loads its BERT weights; the file is unmapped before this returns. */
    public static BertWeights load(Path onnxFile) throws IOException {
        try (OnnxModel model = OnnxModel.read(onnxFile)) {
            return load(model);
        }
    }

    /** Loads the BERT weights of {@code model}, which stays open and is not changed. */
    public static BertWeights load(OnnxModel model) throws OnnxFormatException {
        BertGraphMatch match = new BertGraphMatcher(model).match();
        Sizes sizes = new Sizes(model.source());
        BertConfig config = sizes.config(match);
        Arena arena = Arena.ofShared();
        Arena matrices = Arena.ofShared();
        try {
            List<BertWeights.Layer> layers = new ArrayList<>();
            for (BertGraphMatch.Layer l : match.layers()) {
                layers.add(new BertWeights.Layer(
                        linear(arena, matrices, l.query()), linear(arena, matrices, l.key()),
                        linear(arena, matrices, l.value()), linear(arena, matrices, l.attentionOutput()),
                        vector(arena, l.attentionNorm().gamma(), config.hiddenSize()),
                        vector(arena, l.attentionNorm().beta(), config.hiddenSize()),
                        linear(arena, matrices, l.intermediate()), linear(arena, matrices, l.output()),
                        vector(arena, l.outputNorm().gamma(), config.hiddenSize()),
                        vector(arena, l.outputNorm().beta(), config.hiddenSize())));
            }
            return new BertWeights(config, arena, matrices,
                    match.wordEmbeddings().toTensor(arena),
                    match.positionEmbeddings().toTensor(arena),
                    match.tokenTypeEmbeddings() == null ? null : match.tokenTypeEmbeddings().toTensor(arena),
                    vector(arena, match.embeddingNorm().gamma(), config.hiddenSize()),
                    vector(arena, match.embeddingNorm().beta(), config.hiddenSize()),
                    layers);
        } catch (OnnxFormatException | RuntimeException | Error e) {
            matrices.close();
            arena.close();
            throw e;
        }
    }

    private static BertWeights.Linear linear(Arena arena, Arena matrices, BertGraphMatch.Linear l)
            throws OnnxFormatException {
        return new BertWeights.Linear(l.weight().toTensor(matrices), vector(arena, l.bias(), l.weight().dims()[1]));
    }

    /** A [length] copy of a vector stored with any number of leading 1s; zeros for an absent LayerNorm bias. */
    private static Tensor vector(Arena arena, OnnxTensor t, long length) throws OnnxFormatException {
        if (t == null) {
            return Tensor.allocate(arena, length);
        }
        return t.toTensor(arena).reshape(length);
    }

    /** Reads the config from the matched tensors and checks that every tensor has the shape it implies. */
    private static final class Sizes {

        private final String source;

        Sizes(String source) {
            this.source = source;
        }

        BertConfig config(BertGraphMatch m) throws OnnxFormatException {
            requireRank(m.wordEmbeddings(), 2, "word embedding table");
            int vocab = size(m.wordEmbeddings().dims()[0], "vocabulary size");
            int hidden = size(m.wordEmbeddings().dims()[1], "hidden size");
            requireDims(m.positionEmbeddings(), "position embedding table", m.positionEmbeddings().dims()[0], hidden);
            int positions = size(m.positionEmbeddings().dims()[0], "number of positions");
            int types = 0;
            if (m.tokenTypeEmbeddings() != null) {
                requireDims(m.tokenTypeEmbeddings(), "token-type embedding table",
                        m.tokenTypeEmbeddings().dims()[0], hidden);
                types = size(m.tokenTypeEmbeddings().dims()[0], "number of token types");
            }
            requireRank(m.layers().getFirst().intermediate().weight(), 2, "layer 0 intermediate weight");
            int intermediate = size(m.layers().getFirst().intermediate().weight().dims()[1], "intermediate size");

            float eps = m.embeddingNorm().epsilon();
            requireNorm(m.embeddingNorm(), hidden, eps, m.embeddingNorm());
            for (int i = 0; i < m.layers().size(); i++) {
                BertGraphMatch.Layer l = m.layers().get(i);
                String layer = "layer " + i + " ";
                requireLinear(l.query(), layer + "query", hidden, hidden);
                requireLinear(l.key(), layer + "key", hidden, hidden);
                requireLinear(l.value(), layer + "value", hidden, hidden);
                requireLinear(l.attentionOutput(), layer + "attention output", hidden, hidden);
                requireLinear(l.intermediate(), layer + "intermediate", hidden, intermediate);
                requireLinear(l.output(), layer + "output", intermediate, hidden);
                requireNorm(l.attentionNorm(), hidden, eps, m.embeddingNorm());
                requireNorm(l.outputNorm(), hidden, eps, m.embeddingNorm());
            }
            if (!(eps > 0) || Float.isInfinite(eps)) {
                throw new OnnxFormatException(source, "LayerNorm epsilon " + eps + " is not a positive number");
            }
            try {
                return new BertConfig(vocab, hidden, m.layers().size(), m.heads(), intermediate, positions, types, eps);
            } catch (IllegalArgumentException e) {
                throw new OnnxFormatException(source, "the model's sizes do not make a BERT encoder: " + e.getMessage());
            }
        }

        private void requireLinear(BertGraphMatch.Linear l, String role, int in, int out) throws OnnxFormatException {
            requireDims(l.weight(), role + " weight", in, out);
            requireVector(l.bias(), role + " bias", out);
        }

        private void requireNorm(BertGraphMatch.Norm n, int hidden, float eps, BertGraphMatch.Norm first)
                throws OnnxFormatException {
            requireVector(n.gamma(), n.where() + " scale", hidden);
            if (n.beta() != null) {
                requireVector(n.beta(), n.where() + " bias", hidden);
            }
            if (Float.compare(n.epsilon(), eps) != 0) {
                throw new OnnxFormatException(source, "LayerNorms differ in epsilon: " + first.where() + " has " + eps
                        + ", " + n.where() + " has " + n.epsilon());
            }
        }

        private void requireDims(OnnxTensor t, String role, long... expected) throws OnnxFormatException {
            if (!Arrays.equals(t.dims(), expected)) {
                throw new OnnxFormatException(source, t.offset(), "expected the " + role + " " + t + " to have dims "
                        + Arrays.toString(expected));
            }
        }

        private void requireRank(OnnxTensor t, int rank, String role) throws OnnxFormatException {
            if (t.rank() != rank) {
                throw new OnnxFormatException(source, t.offset(), "expected the " + role + " " + t + " to have rank "
                        + rank);
            }
        }

        /** A vector of {@code length}, allowing leading 1s ([1, 1, hidden] is how some exports store a bias). */
        private void requireVector(OnnxTensor t, String role, long length) throws OnnxFormatException {
            long[] dims = t.dims();
            int lead = 0;
            while (lead < dims.length - 1 && dims[lead] == 1) {
                lead++;
            }
            if (dims.length == 0 || dims.length - lead != 1 || dims[lead] != length) {
                throw new OnnxFormatException(source, t.offset(), "expected the " + role + " " + t + " to be a vector"
                        + " of " + length);
            }
        }

        private int size(long value, String what) throws OnnxFormatException {
            if (value < 1 || value > Integer.MAX_VALUE) {
                throw new OnnxFormatException(source, "the " + what + " read from the model, " + value
                        + ", is out of range");
            }
            return (int) value;
        }
    }
}
