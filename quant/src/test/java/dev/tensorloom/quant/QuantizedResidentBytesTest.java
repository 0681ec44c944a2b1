package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tensorloom.runtime.bert.BertConfig;
import dev.tensorloom.runtime.embed.EmbedderOptions;
import dev.tensorloom.runtime.embed.TextEmbedder;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/**
 * A quantized MiniLM holds its projections once, in packed form: the fp32 matrices they were quantized from are
 * released, so what the embedder keeps is the fp32 model less its projection weights plus the packed bytes,
 * counted here in closed form from the format (codes and fp16 scales).
 */
class QuantizedResidentBytesTest {

    @Test
    void fourBitMiniLmKeepsOnlyThePackedProjections() throws IOException {
        Backend backend = new VectorBackend(Parallelism.of(2));
        GroupFormat format = GroupFormat.symmetric(4, 128);
        EmbedderOptions options = EmbedderOptions.of(backend).withMatrices(QuantizedMatrix.rtn(backend, format));
        try (TextEmbedder int4 = TextEmbedder.bundledMiniLm(options)) {
            BertConfig c = int4.config();
            int h = c.hiddenSize();
            int i = c.intermediateSize();
            long perLayerParameters = 4L * h * h + 2L * h * i + 9L * h + i;
            long parameters = (c.vocabSize() + c.maxPositions() + c.typeVocabSize() + 2L) * h
                    + c.layers() * perLayerParameters;
            long projectionWeights = c.layers() * (4L * h * h + 2L * h * i);
            long packed = c.layers() * (format.bytes(h, 3 * h) + format.bytes(h, h) + format.bytes(h, i)
                    + format.bytes(i, h));
            long fusedQkvBias = c.layers() * 3L * h;
            assertEquals((parameters - projectionWeights + fusedQkvBias) * Float.BYTES + packed,
                    int4.residentWeightBytes());
        }
    }
}
