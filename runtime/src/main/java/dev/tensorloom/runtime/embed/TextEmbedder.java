package dev.tensorloom.runtime.embed;

import dev.tensorloom.runtime.bert.BertConfig;
import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import dev.tensorloom.runtime.tokenize.TokenizedText;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Sentence embeddings from a BERT-family ONNX model: the user-facing entry point.
 *
 * <pre>{@code
 * try (TextEmbedder embedder = TextEmbedder.bundledMiniLm()) {
 *     float[][] vectors = embedder.embed(List.of("a cat sat", "a dog ran"));
 * }
 * }</pre>
 *
 * <p>Thread-safe: many threads may share one loaded model; each call works in its own memory.
 */
public final class TextEmbedder implements AutoCloseable {

    private final BertWeights weights;
    private final BertEncoder encoder;
    private final HfTokenizer tokenizer;
    private final EmbedderOptions options;
    private final AtomicBoolean closed = new AtomicBoolean();

    private TextEmbedder(BertWeights weights, HfTokenizer tokenizer, EmbedderOptions options) {
        this.weights = weights;
        this.encoder = new BertEncoder(weights, options.backend(), options.matrices());
        if (!encoder.readsWeightMatrices()) {
            // Packed panels, device copies or codes replace the fp32 matrices: hold the model once.
            weights.releaseProjections();
        }
        this.tokenizer = tokenizer;
        this.options = options;
    }

    /** Loads a model file (tokenizer beside it) or a folder with model.onnx and tokenizer.json. */
    public static TextEmbedder load(Path modelOrFolder, EmbedderOptions options) throws IOException {
        return load(ModelFiles.locate(modelOrFolder), options);
    }

    public static TextEmbedder load(ModelFiles files, EmbedderOptions options) throws IOException {
        BertWeights weights = BertOnnxLoader.load(files.onnx());
        HfTokenizer tokenizer;
        try {
            tokenizer = HfTokenizer.open(files.tokenizer());
        } catch (IOException | RuntimeException e) {
            weights.close();
            throw e;
        }
        return of(weights, tokenizer, options);
    }

    /**
     * An embedder over weights and a tokenizer already loaded (from a file format other than ONNX: a quantized
     * model, say, whose matrices {@code options.matrices()} then provides). It owns both from now on and closes
     * them with itself, or at once if it cannot be built.
     */
    public static TextEmbedder of(BertWeights weights, HfTokenizer tokenizer, EmbedderOptions options) {
        try {
            return new TextEmbedder(weights, tokenizer, options);
        } catch (RuntimeException e) {
            try {
                tokenizer.close();
            } finally {
                weights.close();
            }
            throw e;
        }
    }

    /** The bundled all-MiniLM-L6-v2 with default options. */
    public static TextEmbedder bundledMiniLm() throws IOException {
        return bundledMiniLm(EmbedderOptions.defaults());
    }

    public static TextEmbedder bundledMiniLm(EmbedderOptions options) throws IOException {
        return load(ModelFiles.bundledMiniLm(), options);
    }

    public BertConfig config() {
        return encoder.config();
    }

    public EmbedderOptions options() {
        return options;
    }

    /** Bytes of model weights this embedder keeps alive ({@link BertEncoder#residentWeightBytes}). */
    public long residentWeightBytes() {
        return encoder.residentWeightBytes();
    }

    /** Vector length. */
    public int dimension() {
        return config().hiddenSize();
    }

    /** One pooled (and, by default, unit-length) vector per text, in input order. */
    public float[][] embed(List<String> texts) {
        Backend backend = options.backend();
        Kernels kernels = backend.kernels();
        float[][] out = new float[texts.size()][];
        forEachBatch(texts, encoder::hiddenStates, (batch, indices, hidden, arena) -> {
            // Pooled where the encoder computed: only [batch, hidden] crosses back to the host.
            Tensor pooled = backend.allocate(arena, batch.batch(), dimension());
            Tensor mask = Tensor.of(arena, poolingMask(batch), batch.batch(), batch.seqLength());
            kernels.meanPool(hidden, backend.toDevice(mask, arena), pooled);
            if (options.normalize()) {
                kernels.l2NormalizeRows(pooled);
            }
            Tensor result = backend.toHost(pooled, arena);
            requireFinite(result, indices);
            for (int b = 0; b < indices.length; b++) {
                out[indices[b]] = result.row(b).toArray();
            }
        });
        return out;
    }

    /** The last hidden states of each text's real tokens, [text][token][hidden], in input order. */
    public float[][][] lastHiddenStates(List<String> texts) {
        float[][][] out = new float[texts.size()][][];
        forEachBatch(texts, encoder::forward, (batch, indices, hidden, arena) -> {
            for (int b = 0; b < indices.length; b++) {
                float[][] states = new float[batch.lengths()[b]][];
                for (int t = 0; t < states.length; t++) {
                    states[t] = hidden.row((long) b * batch.seqLength() + t).toArray();
                }
                out[indices[b]] = states;
            }
        });
        return out;
    }

    /** Frees the model; a second call does nothing. No call may be running on this embedder when it closes. */
    @Override
    public void close() {
        if (closed.getAndSet(true)) {
            return;
        }
        try {
            encoder.close();
        } finally {
            try {
                tokenizer.close();
            } finally {
                weights.close();
            }
        }
    }

    private interface BatchConsumer {
        void accept(TokenBatch batch, int[] inputIndices, Tensor hidden, Arena arena);
    }

    /** {@link BertEncoder#forward} (host, checked) or {@link BertEncoder#hiddenStates} (where it computed). */
    private interface Encoding {
        Tensor encode(TokenBatch batch, Arena arena);
    }

    /** A non-finite embedding means broken weights or a broken kernel: fail, never hand NaN to the caller. */
    private void requireFinite(Tensor pooled, int[] inputIndices) {
        long bad = pooled.firstNonFinite();
        if (bad >= 0) {
            long row = bad / pooled.cols();
            throw new ArithmeticException("encoder (" + options.backend().name() + " backend) produced "
                    + pooled.get(row, bad % pooled.cols()) + " in the embedding of text " + inputIndices[(int) row]
                    + ", component " + bad % pooled.cols());
        }
    }

    /**
     * Tokenizes the texts, groups them into batches of similar length (less padding), runs the encoder on
     * each with {@code encoding} and hands the hidden states, with each row's index in the input, to
     * {@code consumer}.
     */
    private void forEachBatch(List<String> texts, Encoding encoding, BatchConsumer consumer) {
        List<TokenizedText> tokenized = tokenizer.encodeEach(texts, config().maxPositions(), options.overlong());
        Integer[] order = new Integer[tokenized.size()];
        Arrays.setAll(order, i -> i);
        Arrays.sort(order, Comparator.comparingInt(i -> tokenized.get(i).length()));
        for (int start = 0; start < order.length; start += options.batchSize()) {
            int end = Math.min(order.length, start + options.batchSize());
            int[] indices = new int[end - start];
            List<TokenizedText> chunk = new ArrayList<>(indices.length);
            for (int i = start; i < end; i++) {
                indices[i - start] = order[i];
                chunk.add(tokenized.get(order[i]));
            }
            TokenBatch batch = HfTokenizer.pad(chunk);
            // Shared, not confined: the kernels spread each operation over their worker threads.
            try (Arena arena = Arena.ofShared()) {
                consumer.accept(batch, indices, encoding.encode(batch, arena), arena);
            }
        }
    }

    private float[] poolingMask(TokenBatch batch) {
        if (options.pooling() == Pooling.MEAN) {
            return batch.mask();
        }
        float[] first = new float[batch.tokens()];
        for (int b = 0; b < batch.batch(); b++) {
            first[b * batch.seqLength()] = 1f;
        }
        return first;
    }
}
