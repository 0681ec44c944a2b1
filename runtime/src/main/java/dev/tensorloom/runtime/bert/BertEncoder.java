package dev.tensorloom.runtime.bert;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * The BERT encoder forward pass, read top to bottom: embeddings, then per layer self-attention and a
 * feed-forward block, each followed by a residual add and a LayerNorm (post-norm). What follows each
 * product (bias and GELU; bias, residual and LayerNorm) is one fused kernel call.
 *
 * <p>At construction the query, key and value projections are fused into one [hidden, 3·hidden] matrix, so
 * each layer runs one wide GEMM instead of three narrow ones (attention then reads q, k and v as column
 * views of that product), every weight is moved once to where the backend computes ({@link Backend#toDevice},
 * a no-op for host backends) and every projection's matrix is prepared once by a {@link MatrixPreparer}:
 * dense in the backend's preferred layout by default, or any other {@link PreparedMatrix} (quantized, MPO),
 * which the forward pass multiplies by without knowing its form. Activations stay where the backend computes
 * until the result is asked for. The fused QKV matrix is kept only when its prepared form reads it (a dense
 * host matrix); packed panels or a device copy let it go at once, and when no prepared form reads the
 * weights' own matrices ({@link #readsWeightMatrices}) their owner may release them, so the model is held
 * once ({@link #residentWeightBytes}).
 * Weights are shared read-only; every {@link #forward} call works in its own arena, so one encoder serves
 * many threads.
 */
public final class BertEncoder implements AutoCloseable {

    private final BertWeights weights;
    private final Backend backend;
    private final Kernels kernels;
    /** Whatever the prepared forms keep in an arena and, for a device backend, the device copy of every weight. */
    private final Arena residentArena = Arena.ofShared();
    private final Embeddings embeddings;
    private final List<ResidentLayer> layers;
    /** Fused QKV matrices whose prepared forms read them (a dense host matrix), freed with the encoder. */
    private final List<Arena> keptConcatenations = new ArrayList<>();
    /** Bytes of weights this encoder copied (device copies, kept fused QKV matrices), beyond prepared forms. */
    private long copiedBytes;
    private final boolean readsWeightMatrices;

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

    /** The encoder with dense projections on {@code backend}. */
    public BertEncoder(BertWeights weights, Backend backend) {
        this(weights, backend, MatrixPreparer.dense(backend));
    }

    /**
     * The encoder on {@code backend} with each projection's matrix made by {@code matrices}, which is given the
     * host weights [in, out] (the query, key and value fused into one) named
     * {@code layers.<i>.attention.qkv}, {@code layers.<i>.attention.output}, {@code layers.<i>.intermediate}
     * and {@code layers.<i>.output}; what it makes must compute on {@code backend}.
     */
    public BertEncoder(BertWeights weights, Backend backend, MatrixPreparer matrices) {
        this.weights = weights;
        this.backend = backend;
        this.kernels = backend.kernels();
        this.layers = new ArrayList<>(weights.layers().size());
        try {
            this.embeddings = new Embeddings(resident(weights.wordEmbeddings()),
                    resident(weights.positionEmbeddings()),
                    weights.tokenTypeEmbeddings() == null ? null : resident(weights.tokenTypeEmbeddings()),
                    norm(weights.embeddingNormGamma(), weights.embeddingNormBeta()));
            boolean reads = false;
            for (BertWeights.Layer layer : weights.layers()) {
                String name = "layers." + layers.size() + ".";
                ResidentLayer resident = new ResidentLayer(
                        fusedQkv(matrices, name + "attention.qkv", layer),
                        prepare(matrices, name + "attention.output", layer.attentionOutput()),
                        norm(layer.attentionNormGamma(), layer.attentionNormBeta()),
                        prepare(matrices, name + "intermediate", layer.intermediate()),
                        prepare(matrices, name + "output", layer.output()),
                        norm(layer.outputNormGamma(), layer.outputNormBeta()));
                layers.add(resident);
                reads |= resident.attentionOutput().weight().readsSource()
                        || resident.intermediate().weight().readsSource() || resident.output().weight().readsSource();
            }
            this.readsWeightMatrices = reads;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private Tensor resident(Tensor host) {
        Tensor placed = backend.toDevice(host, residentArena);
        if (placed != host) {
            copiedBytes += placed.size() * Tensor.FLOAT_BYTES;
        }
        return placed;
    }

    /**
     * The query, key and value projections as one [hidden, 3·hidden] matrix. The concatenation is made in an
     * arena of its own, kept only when the prepared form goes on reading it.
     */
    private Projection fusedQkv(MatrixPreparer matrices, String name, BertWeights.Layer layer) {
        Arena concatenation = Arena.ofShared();
        try {
            BertWeights.Linear qkv = concatColumns(concatenation, residentArena, layer.query(),
                    layer.key(), layer.value());
            Projection projection = prepare(matrices, name, qkv);
            copiedBytes += qkv.bias().size() * Tensor.FLOAT_BYTES;
            if (projection.weight().readsSource()) {
                keptConcatenations.add(concatenation);
                copiedBytes += qkv.weight().size() * Tensor.FLOAT_BYTES;
            } else {
                concatenation.close();
            }
            return projection;
        } catch (RuntimeException e) {
            concatenation.close();
            throw e;
        }
    }

    private Projection prepare(MatrixPreparer matrices, String name, BertWeights.Linear linear) {
        PreparedMatrix weight = matrices.prepare(name, linear.weight(), residentArena);
        if (weight.rows() != linear.in() || weight.cols() != linear.out()) {
            throw new IllegalArgumentException("prepared " + name + " is " + weight.rows() + "x" + weight.cols()
                    + ", but the layer's weight is " + linear.in() + "x" + linear.out());
        }
        return new Projection(weight, resident(linear.bias()));
    }

    private Norm norm(Tensor gamma, Tensor beta) {
        return new Norm(resident(gamma), resident(beta));
    }

    public BertConfig config() {
        return weights.config();
    }

    public Backend backend() {
        return backend;
    }

    /**
     * Whether the prepared forms read the projection matrices of the {@link BertWeights} this encoder was
     * built from; when false, their owner may {@linkplain BertWeights#releaseProjections release} them.
     */
    public boolean readsWeightMatrices() {
        return readsWeightMatrices;
    }

    /**
     * The bytes of weights alive for this encoder: what its {@link BertWeights} hold now, plus the prepared
     * forms that keep memory of their own (packed panels, device copies, codes), plus its own copies (device
     * copies of embeddings, biases and norms; fused QKV matrices that a dense prepared form reads). A
     * prepared form that reads its source is counted once, as the source.
     */
    public long residentWeightBytes() {
        long bytes = weights.heldBytes() + copiedBytes;
        for (ResidentLayer layer : layers) {
            for (Projection p : List.of(layer.qkv(), layer.attentionOutput(), layer.intermediate(), layer.output())) {
                bytes += p.weight().readsSource() ? 0 : p.weight().bytes();
            }
        }
        return bytes;
    }

    /** Bytes held by the prepared projection matrices, in whatever form they were prepared. */
    public long projectionBytes() {
        long bytes = 0;
        for (ResidentLayer layer : layers) {
            bytes += layer.qkv().weight().bytes() + layer.attentionOutput().weight().bytes()
                    + layer.intermediate().weight().bytes() + layer.output().weight().bytes();
        }
        return bytes;
    }

    /**
     * The last hidden states, [batch·seqLength, hidden], in host memory allocated in {@code arena}. An empty
     * batch, or one longer than the model's positions, is an {@link IllegalArgumentException}; a text of
     * padding alone attends to nothing (its attention output is zero) and still gets states. Where every text
     * has a real token, only real tokens are computed ({@link TokenPacking}) and a padding position holds a copy
     * of the state of a real token of its text (the one before it); mask it out, as pooling does.
     */
    public Tensor forward(TokenBatch batch, Arena arena) {
        Tensor hidden = backend.toHost(hiddenStates(batch, arena), arena);
        requireFinite(hidden, batch.seqLength());
        return hidden;
    }

    /**
     * The last hidden states, [batch·seqLength, hidden], allocated in {@code arena} in the memory the
     * backend computes on (device memory for a device backend), for callers that go on computing there.
     */
    public Tensor hiddenStates(TokenBatch batch, Arena arena) {
        BertConfig cfg = weights.config();
        if (batch.batch() == 0 || batch.seqLength() == 0) {
            throw new IllegalArgumentException("empty batch (" + batch.batch() + " texts of " + batch.seqLength()
                    + " tokens): nothing to encode");
        }
        if (batch.seqLength() > cfg.maxPositions()) {
            throw new IllegalArgumentException("sequence of " + batch.seqLength() + " tokens exceeds the model's "
                    + cfg.maxPositions() + " positions");
        }
        TokenPacking packing = TokenPacking.of(batch);
        int tokens = batch.tokens();
        int rows = packing == null ? tokens : packing.realTokens();
        int hidden = cfg.hiddenSize();
        Tensor mask = backend.toDevice(Tensor.of(arena, batch.mask(), batch.batch(), batch.seqLength()), arena);
        // Four buffers serve the whole pass: 4·hidden + max(3·hidden, intermediate) floats a row. The QKV
        // product and the feed-forward's intermediate share one, since neither is alive when the other is
        // written (attention has read q, k and v before the intermediate exists, and the output projection has
        // read the intermediate before the next layer's QKV product); context is the embeddings' scratch.
        // A packed batch computes on its real tokens only (TokenPacking): attention alone sees every padded
        // position, through a padded copy of q, k and v and a padded context in attended's buffer, which is
        // dead while attention runs (its last reader was the closing LayerNorm of the layer before).
        Tensor context = backend.allocate(arena, rows, hidden);
        Tensor x = embed(batch, packing, rows, context, arena);
        Tensor attendedBuffer = backend.allocate(arena, tokens, hidden);
        Tensor attended = attendedBuffer.slice(0, 0, rows);
        Tensor wide = backend.allocate(arena, rows * Math.max(3L * hidden, cfg.intermediateSize()));
        Tensor qkv = wide.slice(0, 0, rows * 3L * hidden).reshape(rows, 3L * hidden);
        Tensor intermediate = wide.slice(0, 0, (long) rows * cfg.intermediateSize())
                .reshape(rows, cfg.intermediateSize());
        Tensor paddedQkv = packing == null ? qkv : backend.allocate(arena, tokens, 3L * hidden);
        Tensor paddedContext = packing == null ? context : attendedBuffer;
        for (ResidentLayer layer : layers) {
            linear(x, layer.qkv(), false, qkv);
            if (packing != null) {
                kernels.gatherRows(qkv, packing.paddedSources(), paddedQkv);
            }
            Tensor q = paddedQkv.slice(1, 0, hidden);
            Tensor k = paddedQkv.slice(1, hidden, 2L * hidden);
            Tensor v = paddedQkv.slice(1, 2L * hidden, 3L * hidden);
            kernels.attention(q, k, v, mask, cfg.heads(), paddedContext);
            if (packing != null) {
                kernels.gatherRows(paddedContext, packing.realPositions(), context);
            }
            layer.attentionOutput().weight().multiply(context, attended);
            residualLayerNorm(attended, layer.attentionOutput().bias(), x, layer.attentionNorm());

            linear(attended, layer.intermediate(), true, intermediate);
            layer.output().weight().multiply(intermediate, x);
            residualLayerNorm(x, layer.output().bias(), attended, layer.outputNorm());
        }
        if (packing == null) {
            return x;
        }
        kernels.gatherRows(x, packing.paddedSources(), attendedBuffer);
        return attendedBuffer;
    }

    /** A non-finite state means broken weights or a broken kernel: fail, never hand NaN to the caller. */
    private void requireFinite(Tensor hidden, int seqLength) {
        long bad = hidden.firstNonFinite();
        if (bad >= 0) {
            long token = bad / hidden.cols();
            throw new ArithmeticException("encoder (" + backend.name() + " backend) produced "
                    + hidden.get(token, bad % hidden.cols()) + " in text " + token / seqLength + ", token "
                    + token % seqLength + ", hidden unit " + bad % hidden.cols());
        }
    }

    /**
     * Word + position + token-type embeddings, then LayerNorm, for every position or, packed, for the real tokens;
     * {@code scratch} is [rows, hidden].
     */
    private Tensor embed(TokenBatch batch, TokenPacking packing, int rows, Tensor scratch, Arena arena) {
        int hidden = weights.config().hiddenSize();
        Tensor x = backend.allocate(arena, rows, hidden);
        int[] positions = new int[batch.tokens()];
        for (int i = 0; i < positions.length; i++) {
            positions[i] = i % batch.seqLength();
        }
        UnaryOperator<int[]> rowsOf = packing == null ? ids -> ids : packing::atRealTokens;
        kernels.gatherRows(embeddings.words(), rowsOf.apply(batch.ids()), x);
        kernels.gatherRows(embeddings.positions(), rowsOf.apply(positions), scratch);
        kernels.add(x, scratch);

        if (embeddings.tokenTypes() != null) {
            kernels.gatherRows(embeddings.tokenTypes(), rowsOf.apply(batch.typeIds()), scratch);
            kernels.add(x, scratch);
        }
        layerNorm(x, embeddings.norm());
        return x;
    }

    /** out = in·weight + bias, then GELU when asked: one call, so a backend can fuse the epilogue into the product. */
    private void linear(Tensor in, Projection layer, boolean gelu, Tensor out) {
        kernels.linear(in, layer.weight(), layer.bias(), gelu, out);
    }

    /** x = LayerNorm(x + bias + residual): a sublayer's epilogue, one fused kernel. */
    private void residualLayerNorm(Tensor x, Tensor bias, Tensor residual, Norm norm) {
        kernels.addBiasResidualLayerNorm(x, bias, residual, norm.gamma(), norm.beta(),
                weights.config().layerNormEpsilon());
    }

    private void layerNorm(Tensor x, Norm norm) {
        kernels.layerNorm(x, norm.gamma(), norm.beta(), weights.config().layerNormEpsilon());
    }

    /** The parts side by side: the matrix in {@code matrixArena}, the (small) bias in {@code biasArena}. */
    private static BertWeights.Linear concatColumns(Arena matrixArena, Arena biasArena, BertWeights.Linear... parts) {
        int in = parts[0].in();
        int out = 0;
        for (BertWeights.Linear p : parts) {
            if (p.in() != in) {
                throw new IllegalArgumentException("cannot fuse projections with inputs " + in + " and " + p.in());
            }
            out += p.out();
        }
        Tensor weight = Tensor.allocate(matrixArena, in, out);
        Tensor bias = Tensor.allocate(biasArena, out);
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
        try {
            keptConcatenations.forEach(Arena::close);
        } finally {
            residentArena.close();
        }
    }
}
