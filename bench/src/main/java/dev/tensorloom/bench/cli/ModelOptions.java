package dev.tensorloom.bench.cli;

import dev.tensorloom.mpo.MpoFile;
import dev.tensorloom.mpo.MpoModel;
import dev.tensorloom.quant.QuantizedModelFile;
import dev.tensorloom.runtime.embed.EmbedderOptions;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.embed.TextEmbedder;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.BackendProvider;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.tokenize.HfTokenizer;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** The options every command that loads a model shares. */
final class ModelOptions {

    @Option(names = "--model", paramLabel = "PATH",
            description = "ONNX model file, a folder with model.onnx and tokenizer.json, a quantized model file "
                    + "written by quantize or an MPO model file written by compress (default: bundled all-MiniLM-L6-v2)")
    Path model;

    @Option(names = "--threads", paramLabel = "N", description = "kernel threads (default: all cores)")
    Integer threads;

    ModelFiles files() throws IOException {
        return model == null ? ModelFiles.bundledMiniLm() : ModelFiles.locate(model);
    }

    /**
     * The model as an embedder with {@code options}: a quantized or an MPO model file (each recognised by its first
     * bytes) runs its stored matrices on the options' backend; anything else is read as ONNX.
     */
    TextEmbedder open(EmbedderOptions options) throws IOException {
        if (model != null && MpoFile.isMpoFile(model)) {
            return MpoModel.read(model).embedder(options);
        }
        if (model == null || !QuantizedModelFile.isQuantizedModel(model)) {
            return TextEmbedder.load(files(), options);
        }
        QuantizedModelFile.Contents contents = QuantizedModelFile.read(model);
        if (contents.tokenizerJson().length == 0) {
            contents.close();
            throw new IOException(model + " holds no tokenizer.json, which embedding needs");
        }
        HfTokenizer tokenizer;
        try {
            tokenizer = HfTokenizer.open(new ByteArrayInputStream(contents.tokenizerJson()), model + " (its tokenizer)");
        } catch (IOException | RuntimeException e) {
            contents.close();
            throw e;
        }
        return TextEmbedder.of(contents.weights(), tokenizer,
                options.withMatrices(contents.matrices().preparer(options.backend())));
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
