package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.embed.ModelFiles;
import dev.tensorloom.runtime.tensor.Tensor;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Our Q4_0 and Q8_0 quantizer against ggml's own, byte for byte, and our reading of Q4_0, Q8_0, Q4_K and Q6_K
 * blocks against ggml's own dequantization, value for value, through the anchor program.
 */
class GgmlFormatsTest {

    @TempDir
    Path dir;

    /**
     * N(0,1) rows at scales from 1 down to 1e-6 (where fp16 scales go subnormal and underflow), plus blocks that
     * are all zero, hold exact ties (x/d + 8.5 on an integer, halves for roundf), a negative largest magnitude, and
     * one large outlier.
     */
    private static float[] awkwardRows(int rows, int cols, long seed) {
        Random random = new Random(seed);
        float[] x = new float[rows * cols];
        double[] scales = {1, 0.01, 1e-4, 1e-5, 1e-6, 3e3};
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (random.nextGaussian() * scales[i / cols % scales.length]);
        }
        for (int j = 0; j < 32; j++) {
            x[j] = 0;                                   // row 0, block 0: all zero
            x[32 + j] = (j - 16) * 0.25f;               // block 1: max -4, ties at every level
            x[64 + j] = (j % 7 - 3) * 0.5f + 0.25f;     // block 2: halves of the q8_0 step
        }
        x[96] = -1000;                                  // block 3: a negative outlier
        return x;
    }

    @Test
    void q4_0AndQ8_0MatchGgmlsQuantizerByteForByteOnRandomRows() throws Exception {
        GgmlAnchor ggml = new GgmlAnchor(dir);
        int rows = 12;
        int cols = 512;
        float[] x = awkwardRows(rows, cols, 11);
        for (GgmlType type : new GgmlType[] {GgmlType.Q4_0, GgmlType.Q8_0}) {
            assertSameBytes(type, ggml.quantize(type, x, rows, cols), GgmlQuantizer.quantizeRows(type, x, rows, cols));
        }
    }

    @Test
    void q4_0AndQ8_0MatchGgmlsQuantizerOnARealMiniLmMatrix() throws Exception {
        GgmlAnchor ggml = new GgmlAnchor(dir);
        try (BertWeights weights = BertOnnxLoader.load(ModelFiles.bundledMiniLm().onnx())) {
            // The first FFN's up projection, [384, 1536]: ggml holds it as 1536 rows of 384.
            Tensor w = weights.layers().get(0).intermediate().weight();
            for (GgmlType type : new GgmlType[] {GgmlType.Q4_0, GgmlType.Q8_0}) {
                GgmlWeights ours = GgmlQuantizer.quantize(w, type);
                float[] rows = new float[w.rows() * w.cols()];
                for (int p = 0; p < w.rows(); p++) {
                    for (int j = 0; j < w.cols(); j++) {
                        rows[j * w.rows() + p] = w.get(p, j);
                    }
                }
                assertSameBytes(type, ggml.quantize(type, rows, w.cols(), w.rows()), ours.data());
            }
        }
    }

    @Test
    void everyBlockFormatDequantizesAsGgmlDoes() throws Exception {
        GgmlAnchor ggml = new GgmlAnchor(dir);
        int rows = 6;
        int cols = 512;
        float[] x = awkwardRows(rows, cols, 12);
        for (GgmlType type : GgmlType.values()) {
            byte[] data = ggml.quantize(type, x, rows, cols);
            float[] expected = ggml.dequantize(type, data, rows, cols);
            GgmlWeights ours = new GgmlWeights(type, cols, rows, data);
            float[] got = new float[rows * cols];
            for (int j = 0; j < rows; j++) {
                ours.dequantizeRow(j, got, j * cols);
            }
            for (int i = 0; i < got.length; i++) {
                if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(got[i])) {
                    throw new AssertionError(type + ": weight " + i % cols + " of row " + i / cols + " is " + got[i]
                            + ", ggml says " + expected[i]);
                }
            }
        }
    }

    @Test
    void bitsPerWeightAreGgmlsAndBadInputIsRefused() {
        assertEquals(4.5, GgmlType.Q4_0.bitsPerWeight());
        assertEquals(8.5, GgmlType.Q8_0.bitsPerWeight());
        assertEquals(4.5, GgmlType.Q4_K.bitsPerWeight());
        assertEquals(6.5625, GgmlType.Q6_K.bitsPerWeight());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GgmlQuantizer.quantizeRows(GgmlType.Q4_0, new float[2 * 48], 2, 48));
        assertTrue(e.getMessage().contains("48 is not a multiple of 32"), e.getMessage());
        float[] nan = new float[64];
        nan[33] = Float.NaN;
        e = assertThrows(IllegalArgumentException.class, () -> GgmlQuantizer.quantizeRows(GgmlType.Q8_0, nan, 2, 32));
        assertTrue(e.getMessage().contains("(1, 1) is NaN"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new GgmlWeights(GgmlType.Q4_K, 256, 2, new byte[287]));
        assertTrue(e.getMessage().contains("takes 288 bytes, got 287"), e.getMessage());
    }

    private static void assertSameBytes(GgmlType type, byte[] expected, byte[] actual) {
        assertEquals(expected.length, actual.length, type + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual[i]) {
                int block = i / type.blockBytes();
                throw new AssertionError(type + ": byte " + i % type.blockBytes() + " of block " + block
                        + " is " + (actual[i] & 0xFF) + ", ggml wrote " + (expected[i] & 0xFF));
            }
        }
    }
}
