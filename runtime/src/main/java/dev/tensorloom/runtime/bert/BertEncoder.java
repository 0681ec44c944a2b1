package dev.tensorloom.runtime.bert;

import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

/**
 * The BERT encoder forward pass, read top to bottom: embeddings, then per layer self-attention and a
 * feed-forward block, each followed by a residual add and a LayerNorm (post-norm).
 *
 * <p>At construction the query, key and value projections are fused into one [hidden, 3·hidden] matrix, so
 * each layer runs one wide GEMM instead of three narrow ones (attention then reads q, k and v as column
 * views of that product), and every projection is {@linkplain Kernels#prepare prepared} once in the
 * backend's preferred layout. Weights are shared read-only; every {@link #forward} call works in its own
 * arena, so one encoder serves many threads.
 */
public final class BertEncoder implements AutoCloseable {

    private final BertWeights weights;
    private final Kernels kernels;
    private final Arena fusedArena = Arena.ofShared();
    private final List<PreparedLayer> layers;

    /** A layer's projections, each ready for the backend's matmul. */
    private record PreparedLayer(Projection qkv, Projection attentionOutput, Projection intermediate,
            Projection output) {
    }

    /** y = x·weight + bias with a prepared weight. */
    private record Projection(PreparedMatrix weight, Tensor bias) {
    }

    public BertEncoder(BertWeights weights, Kernels kernels) {
        this.weights = weights;
        this.kernels = kernels;
        this.layers = new ArrayList<>(weights.layers().size());
        try {
            for (BertWeights.Layer layer : weights.layers()) {
                layers.add(new PreparedLayer(
                        prepare(concatColumns(fusedArena, layer.query(), layer.key(), layer.value())),
                        prepare(layer.attentionOutput()), prepare(layer.intermediate()), prepare(layer.output())));
            }
        } catch (RuntimeException e) {
            fusedArena.close();
            throw e;
        }
    }

    private Projection prepare(BertWeights.Linear linear) {
        return new Projection(kernels.prepare(linear.weight()), linear.bias());
    }

    public BertConfig config() {
        return weights.config();
    }

    public Kernels kernels() {
        return kernels;
    }

    /** The last hidden states, [batch·seqLength, hidden], allocated in {@code arena}. */
    public Tensor forward(TokenBatch batch, Arena arena) {
        BertConfig cfg = weights.config();
        if (batch.seqLength() > cfg.maxPositions()) {
            throw new IllegalArgumentException("sequence of " + batch.seqLength() + " tokens exceeds the model's "
                    + cfg.maxPositions() + " positions");
        }
        int tokens = batch.tokens();
        int hidden = cfg.hiddenSize();
        Tensor mask = Tensor.of(arena, batch.mask(), batch.batch(), batch.seqLength());
        Tensor x = embed(batch, arena);

        Tensor qkv = Tensor.allocate(arena, tokens, 3L * hidden);
        Tensor context = Tensor.allocate(arena, tokens, hidden);
        Tensor attended = Tensor.allocate(arena, tokens, hidden);
        Tensor intermediate = Tensor.allocate(arena, tokens, cfg.intermediateSize());
        for (int l = 0; l < cfg.layers(); l++) {
            BertWeights.Layer layer = weights.layers().get(l);
            PreparedLayer prepared = layers.get(l);

            linear(x, prepared.qkv(), qkv);
            Tensor q = qkv.slice(1, 0, hidden);
            Tensor k = qkv.slice(1, hidden, 2L * hidden);
            Tensor v = qkv.slice(1, 2L * hidden, 3L * hidden);
            kernels.attention(q, k, v, mask, cfg.heads(), context);
            linear(context, prepared.attentionOutput(), attended);
            kernels.add(attended, x);
            kernels.layerNorm(attended, layer.attentionNormGamma(), layer.attentionNormBeta(), cfg.layerNormEpsilon());

            linear(attended, prepared.intermediate(), intermediate);
            kernels.gelu(intermediate);
            linear(intermediate, prepared.output(), x);
            kernels.add(x, attended);
            kernels.layerNorm(x, layer.outputNormGamma(), layer.outputNormBeta(), cfg.layerNormEpsilon());
        }
        requireFinite(x, batch.seqLength());
        return x;
    }

    /** A non-finite state means broken weights or a broken kernel: fail, never hand NaN to the caller. */
    private void requireFinite(Tensor hidden, int seqLength) {
        long bad = hidden.firstNonFinite();
        if (bad >= 0) {
            long token = bad / hidden.cols();
            throw new ArithmeticException("encoder (" + kernels.name() + " kernels) produced "
                    + hidden.get(token, bad % hidden.cols()) + " in text " + token / seqLength + ", token "
                    + token % seqLength + ", hidden unit " + bad % hidden.cols());
        }
    }

    /** Word + position + token-type embeddings, then LayerNorm. */
    private Tensor embed(TokenBatch batch, Arena arena) {
        BertConfig cfg = weights.config();
        int tokens = batch.tokens();
        Tensor x = Tensor.allocate(arena, tokens, cfg.hiddenSize());
        Tensor scratch = Tensor.allocate(arena, tokens, cfg.hiddenSize());
        kernels.gatherRows(weights.wordEmbeddings(), batch.ids(), x);

        int[] positions = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            positions[i] = i % batch.seqLength();
        }
        kernels.gatherRows(weights.positionEmbeddings(), positions, scratch);
        kernels.add(x, scratch);

        if (weights.tokenTypeEmbeddings() != null) {
            kernels.gatherRows(weights.tokenTypeEmbeddings(), batch.typeIds(), scratch);
            kernels.add(x, scratch);
        }
        kernels.layerNorm(x, weights.embeddingNormGamma(), weights.embeddingNormBeta(), cfg.layerNormEpsilon());
        return x;
    }

    private void linear(Tensor in, Projection layer, Tensor out) {
        kernels.matmul(in, layer.weight(), out);
        kernels.addBias(out, layer.bias());
    }

    private static BertWeights.Linear concatColumns(Arena arena, BertWeights.Linear... parts) {
        int in = parts[0].in();
        int out = 0;
        for (BertWeights.Linear p : parts) {
            if (p.in() != in) {
                throw new IllegalArgumentException("cannot fuse projections with inputs " + in + " and " + p.in());
            }
            out += p.out();
        }
        Tensor weight = Tensor.allocate(arena, in, out);
        Tensor bias = Tensor.allocate(arena, out);
        int col = 0;
        for (BertWeights.Linear p : parts) {
            weight.slice(1, col, col + p.out()).copyFrom(p.weight());
            bias.slice(0, col, col + p.out()).copyFrom(p.bias());
            col += p.out();
        }
        return new BertWeights.Linear(weight, bias);
    }

    /** Frees the fused projections; the weights belong to their own owner. */
    @Override
    public void close() {
        fusedArena.close();
    }
}
