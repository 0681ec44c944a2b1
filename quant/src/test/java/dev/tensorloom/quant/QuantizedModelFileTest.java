package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quantized model file: what is written is what is read (the loaded model computes bit for bit what the one in
 * memory computed, with no ONNX file and no calibration data at hand), and the reader refuses, by file and byte,
 * values a kernel would trust: a NaN scale, a zero point beyond the codes, a shape the header's sizes contradict,
 * another version, a missing or an extra record.
 */
class QuantizedModelFileTest {

    private static final VectorBackend BACKEND = new VectorBackend(Parallelism.of(2));
    private static final BertWeights WEIGHTS = TinyBert.weights(11);
    private static final byte[] TOKENIZER = "{\"not\": \"checked by the model file\"}".getBytes(StandardCharsets.UTF_8);

    @AfterAll
    static void close() {
        WEIGHTS.close();
    }

    /** Every kind of record: fp32, symmetric and asymmetric groups at 2, 3, 4 and 8 bits, GPTQ, ggml blocks. */
    private static QuantizedBert mixed;

    static synchronized QuantizedBert mixedModel(BertWeights weights) {
        if (weights == WEIGHTS && mixed != null) {
            return mixed;
        }
        Map<String, Hessian> hessians = new HashMap<>();
        TinyBert.hidden(weights, BACKEND, Hessian.collecting(MatrixPreparer.dense(BACKEND), hessians),
                TinyBert.randomTexts(new Random(3), 20, 12));
        QuantPolicy policy = QuantPolicy.uniform(MatrixRecipe.rtn(GroupFormat.asymmetric(3, 32)))
                .with(EnumSet.of(Component.QUERY), MatrixRecipe.gptq(GroupFormat.symmetric(4, GroupFormat.PER_CHANNEL)))
                .with(EnumSet.of(Component.KEY), MatrixRecipe.fp32())
                .with(EnumSet.of(Component.VALUE), MatrixRecipe.ggml(GgmlType.Q8_0))
                .with(EnumSet.of(Component.FFN_UP), MatrixRecipe.rtn(GroupFormat.asymmetric(2, 32)))
                .with(EnumSet.of(Component.FFN_DOWN), MatrixRecipe.rtn(GroupFormat.symmetric(8, 64)));
        QuantizedBert model = ModelQuantizer.quantize(weights, policy, hessians, Gptq.Options.defaults(), n -> { });
        if (weights == WEIGHTS) {
            mixed = model;
        }
        return model;
    }

    static byte[] bytes(BertWeights weights, QuantizedBert model) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        QuantizedModelFile.write(out, weights, model, TOKENIZER);
        return out.toByteArray();
    }

    @Test
    void theLoadedModelComputesBitForBitWhatWasWritten(@TempDir Path dir) throws IOException {
        QuantizedBert model = mixedModel(WEIGHTS);
        List<TokenBatch> texts = TinyBert.randomTexts(new Random(4), 3, 14);
        float[] expected = TinyBert.hidden(WEIGHTS, BACKEND, model.preparer(BACKEND), texts);

        Path file = dir.resolve("tiny.tlq");
        QuantizedModelFile.write(file, WEIGHTS, model, TOKENIZER);
        assertTrue(QuantizedModelFile.isQuantizedModel(file));
        assertFalse(QuantizedModelFile.isQuantizedModel(dir.resolve("absent.tlq")));
        try (QuantizedModelFile.Contents loaded = QuantizedModelFile.read(file)) {
            assertEquals(WEIGHTS.config(), loaded.weights().config());
            assertArrayEquals(TOKENIZER, loaded.tokenizerJson());
            for (int layer = 0; layer < 2; layer++) {
                for (Component c : Component.values()) {
                    assertEquals(model.matrix(layer, c).recipe(), loaded.matrices().matrix(layer, c).recipe());
                }
            }
            assertEquals(model.bytes(), loaded.matrices().bytes());
            float[] actual = TinyBert.hidden(loaded.weights(), BACKEND, loaded.matrices().preparer(BACKEND), texts);
            assertArrayEquals(expected, actual);
        }
        // The file holds the matrices' stored bytes plus everything else in fp32, and little more: names, shapes,
        // a 48-byte header with the tokenizer, a checksum per record.
        long fp32 = 4L * (50 * 32 + 16 * 32 + 2 * 32 + 2 * 32 + 2 * (4 * 32 + 64 + 32 + 4 * 32));
        long size = Files.size(file);
        assertTrue(size > model.bytes() + fp32 && size < model.bytes() + fp32 + 48 + TOKENIZER.length + 40 * 42,
                () -> size + " bytes against " + (model.bytes() + fp32) + " of tensors");
    }

    @Test
    void aNanScaleIsRefusedByRecordAndByte() throws IOException {
        QuantizedBert model = mixedModel(WEIGHTS);
        PackedWeights up = (PackedWeights) ((QuantizedBert.Quantized) model.matrix(1, Component.FFN_UP)).weights();
        short[] scales = up.scales().clone();
        scales[5] = Float.floatToFloat16(Float.NaN);
        QuantizedBert broken = replaced(model, 1, Component.FFN_UP, new PackedWeights(up.format(), up.rows(),
                up.cols(), up.codes(), scales, up.zeros()));
        QuantizedModelFormatException e = assertThrows(QuantizedModelFormatException.class,
                () -> QuantizedModelFile.read(bytes(WEIGHTS, broken), "nan.tlq"));
        assertTrue(e.getMessage().matches("nan\\.tlq: at byte \\d+: layers\\.1\\.intermediate\\.weight: scale 5 is NaN"),
                e.getMessage());
    }

    @Test
    void aZeroPointBeyondTheCodesIsRefused() throws IOException {
        QuantizedBert model = mixedModel(WEIGHTS);
        PackedWeights up = (PackedWeights) ((QuantizedBert.Quantized) model.matrix(0, Component.FFN_UP)).weights();
        byte[] zeros = up.zeros().clone();
        zeros[0] = 4;
        QuantizedBert broken = replaced(model, 0, Component.FFN_UP, new PackedWeights(up.format(), up.rows(),
                up.cols(), up.codes(), up.scales(), zeros));
        QuantizedModelFormatException e = assertThrows(QuantizedModelFormatException.class,
                () -> QuantizedModelFile.read(bytes(WEIGHTS, broken), "zero.tlq"));
        assertTrue(e.getMessage().endsWith("layers.0.intermediate.weight: zero point 4 exceeds the largest 2-bit code 3"),
                e.getMessage());
    }

    @Test
    void aWrongVersionAMissingRecordAndTrailingBytesAreRefused() throws IOException {
        byte[] good = bytes(WEIGHTS, mixedModel(WEIGHTS));
        byte[] version = good.clone();
        version[4] = 2;
        assertMessage("v.tlq: at byte 4: version 2, but this reader knows version 1", version);
        byte[] magic = good.clone();
        magic[0] = 'X';
        assertMessage("m.tlq: at byte 0: not a tensorloom quantized model", magic);

        // The last record is layers.1.output.weight, an 8-bit symmetric g64 [64, 32]: name length, name, kind,
        // k, n, bits, group, symmetry, method, 32 rows of 64 codes, 32 fp16 scales, checksum.
        int last = 2 + "layers.1.output.weight".length() + 1 + 13 + 32 * 64 + 2 * 32 + 4;
        byte[] cut = Arrays.copyOf(good, good.length - last);
        assertMessage("c.tlq: at byte " + cut.length + ": no record layers.1.output.weight", cut);

        byte[] trailing = Arrays.copyOf(good, good.length + 3);
        assertMessage("t.tlq: at byte " + good.length + ": a record's name length needs 2 bytes, but the file has 1 more",
                Arrays.copyOf(good, good.length + 1));
        assertThrows(QuantizedModelFormatException.class, () -> QuantizedModelFile.read(trailing, "t.tlq"));
    }

    @Test
    void aShapeTheHeaderContradictsIsRefused() throws IOException {
        // A model of two layers written, then its header's hidden size changed (and the header's checksum fixed).
        byte[] good = bytes(WEIGHTS, mixedModel(WEIGHTS));
        byte[] other = good.clone();
        other[12] = 64;
        int tokenizerLength = TOKENIZER.length;
        CRC32 crc = new CRC32();
        crc.update(other, 0, 44 + tokenizerLength);
        ByteBuffer.wrap(other).order(ByteOrder.LITTLE_ENDIAN).putInt(44 + tokenizerLength,
                (int) crc.getValue());
        QuantizedModelFormatException e = assertThrows(QuantizedModelFormatException.class,
                () -> QuantizedModelFile.read(other, "h.tlq"));
        assertTrue(e.getMessage().contains("embeddings.word is [50, 32], but the header's sizes make it [50, 64]"),
                e.getMessage());
    }

    private static void assertMessage(String prefix, byte[] bytes) {
        QuantizedModelFormatException e = assertThrows(QuantizedModelFormatException.class,
                () -> QuantizedModelFile.read(bytes, prefix.substring(0, prefix.indexOf(':'))));
        assertTrue(e.getMessage().startsWith(prefix), e.getMessage());
    }

    private static QuantizedBert replaced(QuantizedBert model, int layer, Component component, PackedWeights w) {
        QuantizedBert.Stored[][] stored = new QuantizedBert.Stored[model.layers()][Component.values().length];
        for (int l = 0; l < model.layers(); l++) {
            for (Component c : Component.values()) {
                stored[l][c.ordinal()] = model.matrix(l, c);
            }
        }
        stored[layer][component.ordinal()] = new QuantizedBert.Quantized(
                model.matrix(layer, component).recipe(), w);
        return new QuantizedBert(stored);
    }
}
