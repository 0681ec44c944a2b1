package dev.tensorloom.mpo;

import dev.tensorloom.runtime.bert.BertConfig;
import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.embed.EmbedderOptions;
import dev.tensorloom.runtime.embed.TextEmbedder;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;

/**
 * A BERT-family encoder whose projection matrices are MPOs, held in one self-contained {@link MpoFile} (what
 * {@code ./tensorloom compress} writes and {@code embed --model FILE} runs): the file's model part gives the sizes
 * and the tokenizer; each projection is an MPO under the name the encoder gives it ({@link #projectionNames});
 * every other tensor (embedding tables, biases, LayerNorms) is a one-core MPO with bonds 1, 1, which is the tensor
 * itself, row-major ([1, n] for a vector).
 *
 * <p>The loaded {@link #weights()} hold a shared zero placeholder for each projection matrix, there only because
 * {@code BertWeights} names every matrix: the encoder must take its matrices from {@link #preparer}.
 */
public final class MpoModel implements AutoCloseable {

    private static final ScalarBackend HOST = new ScalarBackend();

    private final BertWeights weights;
    private final Map<String, MpoFile.Matrix> projections;
    private final byte[] tokenizerJson;
    private final String metadata;

    private MpoModel(BertWeights weights, Map<String, MpoFile.Matrix> projections, byte[] tokenizerJson,
            String metadata) {
        this.weights = weights;
        this.projections = projections;
        this.tokenizerJson = tokenizerJson;
        this.metadata = metadata;
    }

    /** The encoder's projections, by the name it gives each: {@code layers.<i>.<suffix>}. */
    public enum Projection {
        QKV("attention.qkv"), ATTENTION_OUTPUT("attention.output"), INTERMEDIATE("intermediate"), OUTPUT("output");

        private final String suffix;

        Projection(String suffix) {
            this.suffix = suffix;
        }

        /** This projection's name in {@code layer}. */
        public String name(int layer) {
            return "layers." + layer + "." + suffix;
        }

        /** The projection a name of {@link #projectionNames} is. */
        public static Projection of(String name) {
            for (Projection p : values()) {
                if (name.startsWith("layers.") && name.endsWith("." + p.suffix)
                        && name.substring(7, name.length() - p.suffix.length() - 1).matches("[0-9]+")) {
                    return p;
                }
            }
            throw new IllegalArgumentException(name + " names no projection of the encoder");
        }

        /** The layer of a projection's name. */
        public static int layer(String name) {
            Projection p = of(name);
            return Integer.parseInt(name.substring(7, name.length() - p.suffix.length() - 1));
        }
    }

    /** The projections' names in layer order: {@code layers.<i>.attention.qkv}, {@code .attention.output}, {@code .intermediate}, {@code .output}. */
    public static List<String> projectionNames(int layers) {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            for (Projection p : Projection.values()) {
                names.add(p.name(i));
            }
        }
        return names;
    }

    /** {@code w} [rows, cols] (or a vector, as [1, n]) as a one-core MPO with bonds 1, 1: the tensor itself. */
    public static MpoFile.Matrix whole(String name, Tensor w) {
        int rows = w.rank() == 1 ? 1 : w.rows();
        int cols = w.rank() == 1 ? (int) w.dim(0) : w.cols();
        return new MpoFile.Matrix(name, new MpoShape(new int[] {rows}, new int[] {cols}), new int[] {1, 1},
                new float[][] {w.toArray()});
    }

    /**
     * Each projection of {@code weights} as the encoder names and shapes it (query, key and value fused into one
     * [hidden, 3·hidden] matrix), turned into an MPO by {@code compressor} (in parallel; it must be thread-safe), in
     * layer order: what {@link #write} takes.
     */
    public static Map<String, MpoFile.Matrix> compress(BertWeights weights,
            BiFunction<String, Tensor, MpoFile.Matrix> compressor) {
        try (Arena copies = Arena.ofShared()) {
            Map<String, Tensor> matrices = encoderMatrices(weights, copies);
            Map<String, MpoFile.Matrix> out = new ConcurrentHashMap<>();
            matrices.entrySet().parallelStream().forEach(e -> out.put(e.getKey(),
                    compressor.apply(e.getKey(), e.getValue())));
            Map<String, MpoFile.Matrix> ordered = new LinkedHashMap<>();
            matrices.keySet().forEach(name -> ordered.put(name, out.get(name)));
            return ordered;
        }
    }

    /**
     * Each projection matrix of {@code weights} as the encoder names and shapes it (query, key and value fused),
     * copied into {@code arena} (shared, to be read from many threads), in layer order. The encoder is built once on
     * the scalar backend, whose dense matrices are the ones it is given.
     */
    public static Map<String, Tensor> encoderMatrices(BertWeights weights, Arena arena) {
        Map<String, Tensor> matrices = new LinkedHashMap<>();
        MatrixPreparer capture = (name, weight, encoderArena) -> {
            matrices.put(name, Tensor.of(arena, weight.toArray(), weight.rows(), weight.cols()));
            return MatrixPreparer.dense(HOST).prepare(name, weight, encoderArena);
        };
        new BertEncoder(weights, HOST, capture).close();
        return matrices;
    }

    /**
     * Writes {@code weights}' sizes and every tensor but the projection matrices, {@code projections} (one MPO per
     * name of {@link #projectionNames}, shaped as the encoder multiplies it) and the tokenizer bytes (empty: none).
     */
    public static void write(Path file, String metadata, BertWeights weights, Map<String, MpoFile.Matrix> projections,
            byte[] tokenizerJson) throws IOException {
        BertConfig cfg = weights.config();
        if (projections.size() != 4 * cfg.layers()) {
            throw new IllegalArgumentException(projections.size() + " MPOs given for the " + 4 * cfg.layers()
                    + " projections of a " + cfg.layers() + "-layer model");
        }
        List<MpoFile.Matrix> matrices = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : weights.tensorsButProjections().entrySet()) {
            matrices.add(whole(e.getKey(), e.getValue()));
        }
        for (String name : projectionNames(cfg.layers())) {
            MpoFile.Matrix m = projections.get(name);
            if (m == null) {
                throw new IllegalArgumentException("no MPO given for " + name);
            }
            int[] shape = projectionShape(cfg, name);
            if (m.shape().rows() != shape[0] || m.shape().cols() != shape[1]) {
                throw new IllegalArgumentException(name + " is given as " + m.shape().rows() + "x" + m.shape().cols()
                        + ", but the model's is " + shape[0] + "x" + shape[1]);
            }
            matrices.add(new MpoFile.Matrix(name, m.shape(), m.bonds(), m.cores()));
        }
        MpoFile.write(file, metadata, new MpoFile.Model(cfg, tokenizerJson), matrices);
    }

    /** Reads a file {@link #write} wrote; whatever is wrong is an {@link MpoFormatException} naming the file. */
    public static MpoModel read(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        return of(MpoFile.read(bytes, file.toString()), file.toString(), bytes.length);
    }

    /** The model of a read file ({@code length}, its size, is where a missing tensor is reported). */
    static MpoModel of(MpoFile.Contents contents, String source, long length) throws MpoFormatException {
        if (contents.model() == null) {
            throw new MpoFormatException(source, 8, "the file holds MPO matrices only, not a model (no sizes or"
                    + " embeddings; written by an older compress or by MpoFile.write without a model)");
        }
        BertConfig cfg = contents.model().config();
        Map<String, MpoFile.Matrix> left = new HashMap<>(contents.matrices());
        Arena arena = Arena.ofShared();
        Arena placeholders = Arena.ofShared();
        try {
            Assembly a = new Assembly(source, length, left, arena);
            int h = cfg.hiddenSize();
            Tensor word = a.plain("embeddings.word", cfg.vocabSize(), h);
            Tensor position = a.plain("embeddings.position", cfg.maxPositions(), h);
            Tensor types = cfg.typeVocabSize() == 0 ? null : a.plain("embeddings.token_type", cfg.typeVocabSize(), h);
            Tensor gamma = a.plain("embeddings.norm.gamma", h);
            Tensor beta = a.plain("embeddings.norm.beta", h);
            Tensor square = Tensor.allocate(placeholders, h, h);
            Tensor up = Tensor.allocate(placeholders, h, cfg.intermediateSize());
            Tensor down = Tensor.allocate(placeholders, cfg.intermediateSize(), h);
            List<BertWeights.Layer> layers = new ArrayList<>();
            Map<String, MpoFile.Matrix> projections = new LinkedHashMap<>();
            for (int i = 0; i < cfg.layers(); i++) {
                String p = "layers." + i + ".";
                layers.add(new BertWeights.Layer(
                        new BertWeights.Linear(square, a.plain(p + "attention.query.bias", h)),
                        new BertWeights.Linear(square, a.plain(p + "attention.key.bias", h)),
                        new BertWeights.Linear(square, a.plain(p + "attention.value.bias", h)),
                        new BertWeights.Linear(square, a.plain(p + "attention.output.bias", h)),
                        a.plain(p + "attention.norm.gamma", h), a.plain(p + "attention.norm.beta", h),
                        new BertWeights.Linear(up, a.plain(p + "intermediate.bias", cfg.intermediateSize())),
                        new BertWeights.Linear(down, a.plain(p + "output.bias", h)),
                        a.plain(p + "output.norm.gamma", h), a.plain(p + "output.norm.beta", h)));
            }
            for (String name : projectionNames(cfg.layers())) {
                MpoFile.Matrix m = left.remove(name);
                int[] shape = projectionShape(cfg, name);
                if (m == null) {
                    throw new MpoFormatException(source, length, "no matrix " + name);
                }
                if (m.shape().rows() != shape[0] || m.shape().cols() != shape[1]) {
                    throw new MpoFormatException(source, length, name + " is " + m.shape().rows() + "x"
                            + m.shape().cols() + ", but the model's sizes make it " + shape[0] + "x" + shape[1]);
                }
                projections.put(name, m);
            }
            if (!left.isEmpty()) {
                throw new MpoFormatException(source, length, "a matrix " + left.keySet().iterator().next()
                        + " that a " + cfg.layers() + "-layer model does not have");
            }
            BertWeights weights = new BertWeights(cfg, arena, placeholders, word, position, types, gamma, beta, layers);
            return new MpoModel(weights, projections, contents.model().tokenizerJson(), contents.metadata());
        } catch (MpoFormatException | RuntimeException e) {
            arena.close();
            placeholders.close();
            throw e;
        }
    }

    /** Takes the plain tensors out of the file's matrices, checking that each is one core of the expected shape. */
    private record Assembly(String source, long length, Map<String, MpoFile.Matrix> left, Arena arena) {

        Tensor plain(String name, long... shape) throws MpoFormatException {
            MpoFile.Matrix m = left.remove(name);
            if (m == null) {
                throw new MpoFormatException(source, length, "no tensor " + name);
            }
            long rows = shape.length == 1 ? 1 : shape[0];
            long cols = shape[shape.length - 1];
            if (m.shape().cores() != 1 || m.shape().rows() != rows || m.shape().cols() != cols) {
                throw new MpoFormatException(source, length, name + " is an MPO of shape " + m.shape()
                        + "; the model's sizes make it one core of " + rows + "x" + cols);
            }
            return Tensor.of(arena, m.cores()[0], shape);
        }
    }

    /** [in, out] of a projection by its name. */
    private static int[] projectionShape(BertConfig cfg, String name) {
        int h = cfg.hiddenSize();
        return switch (Projection.of(name)) {
            case QKV -> new int[] {h, 3 * h};
            case ATTENTION_OUTPUT -> new int[] {h, h};
            case INTERMEDIATE -> new int[] {h, cfg.intermediateSize()};
            case OUTPUT -> new int[] {cfg.intermediateSize(), h};
        };
    }

    /** The model's fp32 tensors; each projection matrix is a zero placeholder (see the class comment). */
    public BertWeights weights() {
        return weights;
    }

    /** The projections by name, in layer order. */
    public Map<String, MpoFile.Matrix> projections() {
        return projections;
    }

    /** The stored tokenizer.json (empty when none was stored). */
    public byte[] tokenizerJson() {
        return tokenizerJson.clone();
    }

    public String metadata() {
        return metadata;
    }

    /** The parameters of the projections' cores. */
    public long projectionParameters() {
        return projections.values().stream().mapToLong(m -> m.shape().parameters(m.bonds())).sum();
    }

    /**
     * Hands the encoder each projection as an {@link MpoMatrix} on {@code backend}, choosing its path by
     * {@code model} per call ({@code forced} null) or always {@code forced}.
     */
    public MatrixPreparer preparer(Backend backend, MpoCostModel model, MpoCostModel.Path forced) {
        Objects.requireNonNull(backend, "backend");
        return (name, weight, arena) -> {
            MpoFile.Matrix m = projections.get(name);
            if (m == null) {
                throw new IllegalArgumentException("the MPO model has no projection " + name + "; it holds "
                        + projections.keySet());
            }
            if (m.shape().rows() != weight.rows() || m.shape().cols() != weight.cols()) {
                throw new IllegalArgumentException(name + " is " + m.shape().rows() + "x" + m.shape().cols()
                        + " in the MPO model, but the encoder's is " + Arrays.toString(weight.shape()));
            }
            return MpoMatrix.of(backend, m.toMpo(arena), model, forced, arena);
        };
    }

    /**
     * What each projection, multiplied on {@code model}, does for a product of {@code rows} rows, by name in layer
     * order: the estimate {@link MpoMatrix#choice} reports for the matrix {@link #preparer} makes of it.
     */
    public Map<String, MpoCostModel.Choice> choices(MpoCostModel model, int rows) {
        Map<String, MpoCostModel.Choice> choices = new LinkedHashMap<>();
        try (Arena arena = Arena.ofConfined()) {
            projections.forEach((name, m) -> choices.put(name, model.choose(m.toMpo(arena), rows)));
        }
        return choices;
    }

    /**
     * An embedder over this model that owns its weights from now on (closing it frees them): the stored tokenizer,
     * each projection an {@link MpoMatrix} on {@code options}' backend whose path
     * {@link MpoCostModel#configured} picks per call (the {@code -Dtensorloom.mpo.*} properties over the defaults,
     * nothing measured). Fails, and frees the weights, when the file holds no tokenizer.
     */
    public TextEmbedder embedder(EmbedderOptions options) throws IOException {
        return embedder(options, MpoCostModel.configured(options.backend()));
    }

    /** {@link #embedder(EmbedderOptions)} with its projections' paths picked by {@code model}. */
    public TextEmbedder embedder(EmbedderOptions options, MpoCostModel model) throws IOException {
        HfTokenizer tokenizer;
        try {
            Objects.requireNonNull(model, "model");
            if (tokenizerJson.length == 0) {
                throw new IOException("the MPO model holds no tokenizer.json, which embedding needs");
            }
            tokenizer = HfTokenizer.open(new ByteArrayInputStream(tokenizerJson), "the MPO model's tokenizer");
        } catch (IOException | RuntimeException e) {
            weights.close();
            throw e;
        }
        return TextEmbedder.of(weights, tokenizer,
                options.withMatrices(preparer(options.backend(), model, null)));
    }

    /** Frees the weights. */
    @Override
    public void close() {
        weights.close();
    }
}
