package dev.tensorloom.bench.cli;

import dev.tensorloom.runtime.embed.EmbedderOptions;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.Parallelism;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every command that loads a model shares. */
final class ModelOptions {

    @Option(names = "--model", paramLabel = "PATH",
            description = "ONNX model file, or a folder with model.onnx and tokenizer.json (default: bundled all-MiniLM-L6-v2)")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "kernel threads (default: all cores)")
    Integer threads;

    ModelFiles files() throws IOException {
        return model == null ? ModelFiles.bundledMiniLm() : ModelFiles.locate(model);
    }

    int threadCount() {
        return threads != null ? threads : Parallelism.defaultThreads();
    }

    Backend backend(String backend) {
        return BackendProvider.byName(backend, Parallelism.of(threadCount()));
    }

    EmbedderOptions embedderOptions(String backend) {
        return EmbedderOptions.of(backend(backend));
    }
}
