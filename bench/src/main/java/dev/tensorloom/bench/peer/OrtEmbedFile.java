package dev.tensorloom.bench.peer;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.tensorloom.testkit.BundledMiniLm;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The peer of {@code ./tensorloom embed --file FILE --format csv} in the memory comparison (bench/embed-memory.sh):
 * a plain ONNX Runtime program, written as a user would write it from ONNX Runtime's and the tokenizer's
 * documentation. It embeds every line of a file with the bundled all-MiniLM-L6-v2 (the same ONNX file, extracted
 * from the classpath to a temp file as tensorloom does, and the same tokenizer settings), in batches of 32 in file
 * order, with a default session (ONNX Runtime picks its threads), mean pooling over real tokens and unit length,
 * and prints one CSV row per line, numbers as tensorloom prints them.
 *
 * <p>{@code java -cp ... dev.tensorloom.bench.peer.OrtEmbedFile FILE > vectors.csv}
 */
public final class OrtEmbedFile {

    private static final int BATCH = 32;

    private OrtEmbedFile() {
    }

    public static void main(String[] args) throws IOException, OrtException {
        if (args.length != 1) {
            System.err.println("usage: OrtEmbedFile FILE (one text per line)");
            System.exit(2);
        }
        List<String> texts = Files.readAllLines(Path.of(args[0]), StandardCharsets.UTF_8);
        Path model = Files.createTempFile("minilm-", ".onnx");
        model.toFile().deleteOnExit();
        try (InputStream in = OrtEmbedFile.class.getClassLoader().getResourceAsStream(BundledMiniLm.MODEL_RESOURCE)) {
            Files.copy(in, model, StandardCopyOption.REPLACE_EXISTING);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        PrintStream out = System.out;
        try (OrtSession session = env.createSession(model.toString(), new OrtSession.SessionOptions());
                HuggingFaceTokenizer tokenizer = BundledMiniLm.tokenizer()) {
            for (int start = 0; start < texts.size(); start += BATCH) {
                List<String> batch = texts.subList(start, Math.min(texts.size(), start + BATCH));
                for (float[] vector : embed(env, session, tokenizer.batchEncode(batch))) {
                    StringBuilder line = new StringBuilder();
                    for (int j = 0; j < vector.length; j++) {
                        line.append(j == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.7g", vector[j]));
                    }
                    out.println(line);
                }
            }
        }
        out.flush();
    }

    /** Mean of each text's real token states, scaled to unit length. */
    private static float[][] embed(OrtEnvironment env, OrtSession session, Encoding[] encodings) throws OrtException {
        int batch = encodings.length;
        long[][] ids = new long[batch][];
        long[][] mask = new long[batch][];
        long[][] types = new long[batch][];
        for (int b = 0; b < batch; b++) {
            ids[b] = encodings[b].getIds();
            mask[b] = encodings[b].getAttentionMask();
            types[b] = encodings[b].getTypeIds();
        }
        try (OnnxTensor idTensor = OnnxTensor.createTensor(env, ids);
                OnnxTensor maskTensor = OnnxTensor.createTensor(env, mask);
                OnnxTensor typeTensor = OnnxTensor.createTensor(env, types);
                OrtSession.Result result = session.run(Map.of("input_ids", idTensor, "attention_mask", maskTensor,
                        "token_type_ids", typeTensor))) {
            float[][][] states = (float[][][]) result.get(0).getValue();
            float[][] pooled = new float[batch][states[0][0].length];
            for (int b = 0; b < batch; b++) {
                int real = 0;
                for (int t = 0; t < mask[b].length; t++) {
                    if (mask[b][t] != 0) {
                        real++;
                        for (int j = 0; j < pooled[b].length; j++) {
                            pooled[b][j] += states[b][t][j];
                        }
                    }
                }
                double norm = 0;
                for (int j = 0; j < pooled[b].length; j++) {
                    pooled[b][j] /= real;
                    norm += pooled[b][j] * pooled[b][j];
                }
                float scale = (float) (1 / Math.max(Math.sqrt(norm), 1e-12));
                for (int j = 0; j < pooled[b].length; j++) {
                    pooled[b][j] *= scale;
                }
            }
            return pooled;
        }
    }
}
