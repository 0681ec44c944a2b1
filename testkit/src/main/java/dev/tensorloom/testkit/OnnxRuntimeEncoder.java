package dev.tensorloom.testkit;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The reference BERT encoder: an ONNX model run by ONNX Runtime (CPU), against which tensorloom's encoder is
 * checked and benchmarked. Sessions use {@code intraOpThreads} threads inside each operator, one thread between
 * operators (the BERT graph is a chain, so more would only add scheduling) and every graph optimization.
 *
 * <p>Inputs are detected from the model: {@code input_ids} always, {@code attention_mask} and
 * {@code token_type_ids} when the model declares them (all-MiniLM-L6-v2 declares all three). The output read is the
 * one named {@code last_hidden_state}, else the first rank-3 float output.
 *
 * <p>Typical use with the bundled model:
 * <pre>{@code
 * try (var ort = OnnxRuntimeEncoder.open(BundledMiniLm.modelBytes(), 2);
 *      var tokenizer = BundledMiniLm.tokenizer()) {
 *     double[][] embeddings = ort.sentenceEmbeddings(sentences, tokenizer);   // [batch][384], unit length
 * }
 * }</pre>
 * How to create the {@link HuggingFaceTokenizer} so that its ids match what the model was exported with, and
 * how an {@code Encoding} maps to the three inputs, is written in {@link BundledMiniLm}: in short
 * {@code HuggingFaceTokenizer.newInstance(tokenizerJson, Map.of("addSpecialTokens", "true", "padding", "true",
 * "truncation", "true", "maxLength", "256", "modelMaxLength", "512"))}, then {@code getIds()},
 * {@code getAttentionMask()} and {@code getTypeIds()} of each Encoding.
 *
 * <p>Creating a session takes about a second for MiniLM (graph optimization); reuse one across runs.
 * {@link #lastHiddenState} may be called from several threads at once (ONNX Runtime sessions are thread-safe).
 */
public final class OnnxRuntimeEncoder implements AutoCloseable {

    public static final String INPUT_IDS = "input_ids";
    public static final String ATTENTION_MASK = "attention_mask";
    public static final String TOKEN_TYPE_IDS = "token_type_ids";
    public static final String LAST_HIDDEN_STATE = "last_hidden_state";

    private final OrtEnvironment env;
    private final OrtSession.SessionOptions options;
    private final OrtSession session;
    private final int intraOpThreads;
    private final String outputName;
    private final int hiddenSize;
    private final Duration creationTime;

    private OnnxRuntimeEncoder(OrtEnvironment env, OrtSession.SessionOptions options, OrtSession session,
            int intraOpThreads, Duration creationTime) throws OrtException {
        this.env = env;
        this.options = options;
        this.session = session;
        this.intraOpThreads = intraOpThreads;
        this.creationTime = creationTime;
        if (!session.getInputNames().contains(INPUT_IDS)) {
            throw new IllegalArgumentException("model has no " + INPUT_IDS + " input; inputs are "
                    + session.getInputNames());
        }
        Map.Entry<String, NodeInfo> output = findHiddenStateOutput(session.getOutputInfo());
        this.outputName = output.getKey();
        long[] shape = ((TensorInfo) output.getValue().getInfo()).getShape();
        this.hiddenSize = (int) shape[2];
    }

    /** Opens the ONNX model file with {@code intraOpThreads} threads per operator. */
    public static OnnxRuntimeEncoder open(Path model, int intraOpThreads) throws OrtException {
        return open(intraOpThreads, (env, options) -> env.createSession(model.toString(), options));
    }

    /** Opens an ONNX model held in memory, for example {@link BundledMiniLm#modelBytes()}. */
    public static OnnxRuntimeEncoder open(byte[] model, int intraOpThreads) throws OrtException {
        return open(intraOpThreads, (env, options) -> env.createSession(model, options));
    }

    private interface SessionFactory {
        OrtSession create(OrtEnvironment env, OrtSession.SessionOptions options) throws OrtException;
    }

    private static OnnxRuntimeEncoder open(int intraOpThreads, SessionFactory factory) throws OrtException {
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1, got " + intraOpThreads);
        }
        long start = System.nanoTime();
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        OrtSession session = null;
        try {
            options.setIntraOpNumThreads(intraOpThreads);
            options.setInterOpNumThreads(1);
            options.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = factory.create(env, options);
            return new OnnxRuntimeEncoder(env, options, session, intraOpThreads,
                    Duration.ofNanos(System.nanoTime() - start));
        } catch (OrtException | RuntimeException e) {
            if (session != null) {
                session.close();
            }
            options.close();
            throw e;
        }
    }

    /** The model's input names in declaration order. */
    public List<String> inputNames() {
        return List.copyOf(session.getInputNames());
    }

    public boolean takesAttentionMask() {
        return session.getInputNames().contains(ATTENTION_MASK);
    }

    public boolean takesTokenTypeIds() {
        return session.getInputNames().contains(TOKEN_TYPE_IDS);
    }

    /** Name of the output this encoder returns. */
    public String outputName() {
        return outputName;
    }

    /** Width of each token vector, from the output's declared shape; -1 if the model leaves it symbolic. */
    public int hiddenSize() {
        return hiddenSize;
    }

    public int intraOpThreads() {
        return intraOpThreads;
    }

    /** Wall time {@code open} spent creating the session, graph optimization included. */
    public Duration creationTime() {
        return creationTime;
    }

    /**
     * Runs the model on a padded batch.
     *
     * @param inputIds      [batch][seq], every row the same length
     * @param attentionMask [batch][seq], 1 for real tokens; ignored if the model has no such input
     * @param tokenTypeIds  [batch][seq], or null for all zeros; ignored if the model has no such input
     * @return the last hidden state, [batch][seq][hidden], padding positions included
     */
    public float[][][] lastHiddenState(long[][] inputIds, long[][] attentionMask, long[][] tokenTypeIds)
            throws OrtException {
        int batch = inputIds.length;
        int seq = batch == 0 ? 0 : inputIds[0].length;
        if (batch == 0 || seq == 0) {
            throw new IllegalArgumentException("empty batch: " + batch + " x " + seq);
        }
        long[] shape = {batch, seq};
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put(INPUT_IDS, tensor(INPUT_IDS, inputIds, shape));
            if (takesAttentionMask()) {
                if (attentionMask == null) {
                    throw new IllegalArgumentException("the model takes " + ATTENTION_MASK + "; pass one");
                }
                inputs.put(ATTENTION_MASK, tensor(ATTENTION_MASK, attentionMask, shape));
            }
            if (takesTokenTypeIds()) {
                long[][] types = tokenTypeIds != null ? tokenTypeIds : new long[batch][seq];
                inputs.put(TOKEN_TYPE_IDS, tensor(TOKEN_TYPE_IDS, types, shape));
            }
            try (OrtSession.Result result = session.run(inputs, Set.of(outputName))) {
                OnnxTensor output = (OnnxTensor) result.get(outputName).orElseThrow();
                return unflatten(output, batch, seq);
            }
        } finally {
            for (OnnxTensor t : inputs.values()) {
                t.close();
            }
        }
    }

    /** Runs the model on an already tokenized batch. */
    public float[][][] lastHiddenState(TokenizedBatch batch) throws OrtException {
        return lastHiddenState(batch.inputIds(), batch.attentionMask(), batch.tokenTypeIds());
    }

    /**
     * Tokenizes the sentences (padded to the longest, truncated at the tokenizer's max length) and runs them as
     * one batch. Use {@link TokenizedBatch#encode} directly when the mask is needed too.
     */
    public float[][][] lastHiddenState(List<String> sentences, HuggingFaceTokenizer tokenizer) throws OrtException {
        return lastHiddenState(TokenizedBatch.encode(tokenizer, sentences));
    }

    /**
     * Sentence embeddings as sentence-transformers computes them for all-MiniLM-L6-v2: mean of the last hidden
     * state over real tokens, L2-normalized, in float64. Returns [batch][hidden].
     */
    public double[][] sentenceEmbeddings(List<String> sentences, HuggingFaceTokenizer tokenizer)
            throws OrtException {
        TokenizedBatch batch = TokenizedBatch.encode(tokenizer, sentences);
        return SentenceEmbeddings.meanPooledNormalized(lastHiddenState(batch), batch.attentionMask());
    }

    /** Releases the session; the process-wide ONNX Runtime environment stays for other sessions. */
    @Override
    public void close() throws OrtException {
        try {
            session.close();
        } finally {
            options.close();
        }
    }

    private OnnxTensor tensor(String name, long[][] rows, long[] shape) throws OrtException {
        int batch = (int) shape[0];
        int seq = (int) shape[1];
        if (rows.length != batch) {
            throw new IllegalArgumentException(name + " has " + rows.length + " rows, expected " + batch);
        }
        long[] flat = new long[batch * seq];
        for (int b = 0; b < batch; b++) {
            if (rows[b].length != seq) {
                throw new IllegalArgumentException(name + "[" + b + "] has length " + rows[b].length
                        + ", expected " + seq + " (pad every row to one length)");
            }
            System.arraycopy(rows[b], 0, flat, b * seq, seq);
        }
        return OnnxTensor.createTensor(env, LongBuffer.wrap(flat), shape);
    }

    // getFloatBuffer copies the output once; getValue would build the nested arrays reflectively, far slower.
    private static float[][][] unflatten(OnnxTensor output, int batch, int seq) {
        long[] shape = output.getInfo().getShape();
        if (shape.length != 3 || shape[0] != batch || shape[1] != seq) {
            throw new IllegalStateException("expected output [" + batch + ", " + seq + ", hidden], got "
                    + Arrays.toString(shape));
        }
        int hidden = (int) shape[2];
        FloatBuffer data = output.getFloatBuffer();
        float[][][] out = new float[batch][seq][hidden];
        for (int b = 0; b < batch; b++) {
            for (int s = 0; s < seq; s++) {
                data.get(out[b][s]);
            }
        }
        return out;
    }

    private static Map.Entry<String, NodeInfo> findHiddenStateOutput(Map<String, NodeInfo> outputs) {
        NodeInfo named = outputs.get(LAST_HIDDEN_STATE);
        if (named != null && isRank3Float(named)) {
            return Map.entry(LAST_HIDDEN_STATE, named);
        }
        for (Map.Entry<String, NodeInfo> e : outputs.entrySet()) {
            if (isRank3Float(e.getValue())) {
                return e;
            }
        }
        throw new IllegalArgumentException("model has no rank-3 float output; outputs are " + outputs.keySet());
    }

    private static boolean isRank3Float(NodeInfo node) {
        return node.getInfo() instanceof TensorInfo t
                && t.getShape().length == 3
                && t.type == OnnxJavaType.FLOAT;
    }
}
