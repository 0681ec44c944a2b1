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
 * views of that product), every weight is moved once to where the backend computes ({@link Kernels#toDevice},
 * a no-op for host backends) and every projection is {@linkplain Kernels#prepare prepared} once in the
 * backend's preferred layout. Activations stay where the backend computes until the result is asked for.
 * Weights are shared read-only; every {@link #forward} call works in its own arena, so one encoder serves
 * many threads.
 */
public final class BertEncoder implements AutoCloseable {

    private final BertWeights weights;
    private final Kernels kernels;
    /** The fused projections and, for a device backend, the device copy of every weight. */
    private final Arena residentArena = Arena.ofShared();
    private final Embeddings embeddings;
    private final List<ResidentLayer> layers;

    /** The embedding tables and their LayerNorm, where the backend computes. */
    private record Embeddings(Tensor words, Tensor positions, Tensor tokenTypes, Norm norm) {
    }

    /** A layer's parameters where the backend computes, each projection ready for its matmul. */
    private record ResidentLayer(Projection qkv, Projection attentionOutput, Norm attentionNorm,
            Projection intermediate, Projection output, Norm outputNorm) {
    }

    /** y = x·weight + bias with a prepared weight. */
    private record Projection(PreparedMatrix weight, Tensor bias) {
    }

    private record Norm(Tensor gamma, Tensor beta) {
    }

    public BertEncoder(BertWeights weights, Kernels kernels) {
        this.weights = weights;
        this.kernels = kernels;
        this.layers = new ArrayList<>(weights.layers().size());
        try {
            this.embeddings = new Embeddings(resident(weights.wordEmbeddings()),
                    resident(weights.positionEmbeddings()),
                    weights.tokenTypeEmbeddings() == null ? null : resident(weights.tokenTypeEmbeddings()),
                    norm(weights.embeddingNormGamma(), weights.embeddingNormBeta()));
            for (BertWeights.Layer layer : weights.layers()) {
                layers.add(new ResidentLayer(
                        prepare(concatColumns(residentArena, layer.query(), layer.key(), layer.value())),
                        prepare(layer.attentionOutput()),
                        norm(layer.attentionNormGamma(), layer.attentionNormBeta()),
                        prepare(layer.intermediate()), prepare(layer.output()),
                        norm(layer.outputNormGamma(), layer.outputNormBeta())));
            }
        } catch (RuntimeException e) {
            residentArena.close();
            throw e;
        }
    }

    private Tensor resident(Tensor host) {
        return kernels.toDevice(host, residentArena);
    }

    private Projection prepare(BertWeights.Linear linear) {
        return new Projection(kernels.prepare(resident(linear.weight())), resident(linear.bias()));
    }

    private Norm norm(Tensor gamma, Tensor beta) {
        return new Norm(resident(gamma), resident(beta));
    }

    public BertConfig config() {
        return weights.config();
    }

    public Kernels kernels() {
        return kernels;
    }

    /** The last hidden states, [batch·seqLength, hidden], in host memory allocated in {@code arena}. */
    public Tensor forward(TokenBatch batch, Arena arena) {
        Tensor hidden = kernels.toHost(hiddenStates(batch, arena), arena);
        requireFinite(hidden, batch.seqLength());
        return hidden;
    }

    /**
     * The last hidden states, [batch·seqLength, hidden], allocated in {@code arena} in the memory the
     * backend computes on (device memory for a device backend), for callers that go on computing there.
     */
    public Tensor hiddenStates(TokenBatch batch, Arena arena) {
        BertConfig cfg = weights.config();
        if (batch.seqLength() > cfg.maxPositions()) {
            throw new IllegalArgumentException("sequence of " + batch.seqLength() + " tokens exceeds the model's "
                    + cfg.maxPositions() + " positions");
        }
        int tokens = batch.tokens();
        int hidden = cfg.hiddenSize();
        Tensor mask = kernels.toDevice(Tensor.of(arena, batch.mask(), batch.batch(), batch.seqLength()), arena);
        Tensor x = embed(batch, arena);

        Tensor qkv = kernels.allocate(arena, tokens, 3L * hidden);
        Tensor context = kernels.allocate(arena, tokens, hidden);
        Tensor attended = kernels.allocate(arena, tokens, hidden);
        Tensor intermediate = kernels.allocate(arena, tokens, cfg.intermediateSize());
        for (ResidentLayer layer : layers) {
            linear(x, layer.qkv(), qkv);
            Tensor q = qkv.slice(1, 0, hidden);
            Tensor k = qkv.slice(1, hidden, 2L * hidden);
            Tensor v = qkv.slice(1, 2L * hidden, 3L * hidden);
            kernels.attention(q, k, v, mask, cfg.heads(), context);
            linear(context, layer.attentionOutput(), attended);
            kernels.add(attended, x);
            layerNorm(attended, layer.attentionNorm());

            linear(attended, layer.intermediate(), intermediate);
            kernels.gelu(intermediate);
            linear(intermediate, layer.output(), x);
            kernels.add(x, attended);
            layerNorm(x, layer.outputNorm());
        }
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
        int tokens = batch.tokens();
        int hidden = weights.config().hiddenSize();
        Tensor x = kernels.allocate(arena, tokens, hidden);
        Tensor scratch = kernels.allocate(arena, tokens, hidden);
        kernels.gatherRows(embeddings.words(), batch.ids(), x);

        int[] positions = new int[tokens];
        for (int i = 0; i < tokens; i++) {
            positions[i] = i % batch.seqLength();
        }
        kernels.gatherRows(embeddings.positions(), positions, scratch);
        kernels.add(x, scratch);

        if (embeddings.tokenTypes() != null) {
            kernels.gatherRows(embeddings.tokenTypes(), batch.typeIds(), scratch);
            kernels.add(x, scratch);
        }
        layerNorm(x, embeddings.norm());
        return x;
    }

    private void linear(Tensor in, Projection layer, Tensor out) {
        kernels.matmul(in, layer.weight(), out);
        kernels.addBias(out, layer.bias());
    }

    private void layerNorm(Tensor x, Norm norm) {
        kernels.layerNorm(x, norm.gamma(), norm.beta(), weights.config().layerNormEpsilon());
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

    /** Frees the fused projections and device copies; the weights belong to their own owner. */
    @Override
    public void close() {
        residentArena.close();
    }
}
