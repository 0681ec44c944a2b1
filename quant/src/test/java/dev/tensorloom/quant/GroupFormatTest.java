package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The group formats' claims: RTN's half-a-step bound, the bits-per-weight closed forms, the packing identities. */
class GroupFormatTest {

    static Stream<GroupFormat> everyFormat() {
        List<GroupFormat> all = new ArrayList<>();
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (int g : new int[] {32, 64, 128, GroupFormat.PER_CHANNEL}) {
                all.add(GroupFormat.symmetric(bits, g));
                all.add(GroupFormat.asymmetric(bits, g));
            }
        }
        return all.stream();
    }

    /** k = 384 for grouped formats (3 groups of 128, 12 of 32); 131, prime, for per-channel. */
    private static int kFor(GroupFormat f) {
        return f.groupSize() == GroupFormat.PER_CHANNEL ? 131 : 384;
    }

    @ParameterizedTest
    @MethodSource("everyFormat")
    void rtnPutsEveryWeightWithinHalfAStepOfItsLevel(GroupFormat format) {
        int k = kFor(format);
        int n = 7;
        Random random = new Random(format.hashCode());
        float[] w = new float[k * n];
        for (int i = 0; i < w.length; i++) {
            // A spread of magnitudes across groups, and an offset that asymmetric grids must absorb.
            w[i] = (float) (random.nextGaussian() * Math.exp(random.nextInt(5) - 2) + 0.3);
        }
        try (Arena arena = Arena.ofConfined()) {
            PackedWeights packed = Rtn.quantize(Tensor.of(arena, w, k, n), format);
            int g = packed.groupSize();
            for (int j = 0; j < n; j++) {
                for (int p = 0; p < k; p++) {
                    float s = packed.scale(p / g, j);
                    int u = packed.code(p, j);
                    assertTrue(u >= 0 && u <= format.maxCode(), "code " + u);
                    double error = Math.abs(w[p * n + j] - (double) packed.value(p, j));
                    // s/2 exactly in real arithmetic; w/s is formed in double, so allow its relative rounding.
                    if (!(error <= s / 2 * (1 + 1e-12))) {
                        throw new AssertionError(format + " (" + p + ", " + j + "): |w - ŵ| = " + error
                                + " > s/2 = " + s / 2);
                    }
                }
            }
        }
    }

    @Test
    void weightsOnTheGridComeBackExactly() {
        // 4-bit symmetric: levels s·(-7..7); with max|w| = 3.5 the scale is 0.5, exact in fp16.
        float[] w = new float[32];
        for (int p = 0; p < 32; p++) {
            w[p] = 0.5f * (p % 15 - 7);
        }
        try (Arena arena = Arena.ofConfined()) {
            PackedWeights packed = Rtn.quantize(Tensor.of(arena, w, 32, 1), GroupFormat.symmetric(4, 32));
            assertEquals(0.5f, packed.scale(0, 0));
            for (int p = 0; p < 32; p++) {
                assertEquals(w[p], packed.value(p, 0), "p = " + p);
                assertEquals(p % 15 - 7 + 8, packed.code(p, 0));
            }
        }
    }

    @Test
    void anAllZeroGroupHasScaleZeroAndComesBackZero() {
        float[] w = new float[64];
        for (int p = 32; p < 64; p++) {
            w[p] = p;
        }
        for (GroupFormat f : List.of(GroupFormat.symmetric(3, 32), GroupFormat.asymmetric(3, 32))) {
            try (Arena arena = Arena.ofConfined()) {
                PackedWeights packed = Rtn.quantize(Tensor.of(arena, w, 64, 1), f);
                assertEquals(0f, packed.scale(0, 0));
                for (int p = 0; p < 32; p++) {
                    assertEquals(0f, packed.value(p, 0), f + " p = " + p);
                }
            }
        }
    }

    @Test
    void bitsPerWeightFollowTheClosedForms() {
        // bits + 16/g symmetric, bits + 24/g asymmetric, when k is a multiple of 128 (no padding).
        assertEquals(4 + 16.0 / 128, GroupFormat.symmetric(4, 128).bitsPerWeight(1536), 0);
        assertEquals(3 + 24.0 / 32, GroupFormat.asymmetric(3, 32).bitsPerWeight(384), 0);
        assertEquals(2 + 16.0 / 64, GroupFormat.symmetric(2, 64).bitsPerWeight(384), 0);
        assertEquals(8 + 24.0 / 384, GroupFormat.asymmetric(8, GroupFormat.PER_CHANNEL).bitsPerWeight(384), 0);
        for (GroupFormat f : everyFormat().toList()) {
            for (int k : new int[] {384, 1536}) {
                double g = f.groupSize() == GroupFormat.PER_CHANNEL ? k : f.groupSize();
                assertEquals(f.bits() + (f.symmetric() ? 16 : 24) / g, f.bitsPerWeight(k), 1e-12, f + " k " + k);
            }
        }
        // Per-channel 3-bit at k = 131: a 2-bit plane of 3 units and a 1-bit plane of 2, plus a 2-byte scale.
        assertEquals(8.0 * (3 * 16 + 2 * 16 + 2) / 131,
                GroupFormat.symmetric(3, GroupFormat.PER_CHANNEL).bitsPerWeight(131), 1e-12);
    }

    @ParameterizedTest
    @MethodSource("everyFormat")
    void bytesAreWhatThePackedFormHolds(GroupFormat format) {
        int k = kFor(format);
        PackedWeights packed = new PackedWeights(format, k, 5);
        assertEquals(format.bytes(k, 5), packed.bytes());
        assertEquals(5L * format.rowBytes(k), packed.codes().length);
    }

    @Test
    void everyCodeWrittenIsReadBackWithoutDisturbingItsNeighbours() {
        Random random = new Random(7);
        for (int bits : new int[] {2, 3, 4, 8}) {
            for (int k : new int[] {1, 7, 16, 17, 63, 129, 300}) {
                GroupFormat f = GroupFormat.asymmetric(bits, GroupFormat.PER_CHANNEL);
                int n = 3;
                PackedWeights packed = new PackedWeights(f, k, n);
                int[][] written = new int[k][n];
                // Written in a random order, so a write that spills into a neighbour is caught.
                List<int[]> order = new ArrayList<>();
                for (int p = 0; p < k; p++) {
                    for (int j = 0; j < n; j++) {
                        order.add(new int[] {p, j});
                    }
                }
                java.util.Collections.shuffle(order, random);
                for (int[] at : order) {
                    written[at[0]][at[1]] = random.nextInt(f.maxCode() + 1);
                    packed.setCode(at[0], at[1], written[at[0]][at[1]]);
                }
                for (int p = 0; p < k; p++) {
                    for (int j = 0; j < n; j++) {
                        assertEquals(written[p][j], packed.code(p, j), bits + " bits, k " + k + " (" + p + ", " + j + ")");
                    }
                }
            }
        }
    }

    @Test
    void fourBitCodesSitInGgmlsNibbleOrder() {
        // Unit of 32 values in 16 bytes: value r in byte r mod 16, low nibble for r < 16, high for r ≥ 16.
        PackedWeights packed = new PackedWeights(GroupFormat.symmetric(4, 32), 64, 1);
        for (int p = 0; p < 64; p++) {
            packed.setCode(p, 0, p % 16 == 3 ? p / 16 + 1 : 0);
        }
        byte[] codes = packed.codes();
        assertEquals(0x21, codes[3] & 0xFF);
        assertEquals(0x43, codes[16 + 3] & 0xFF);
        // 3-bit: the low two bits in a 2-bit plane (64 values per 16 bytes), the third in a 1-bit plane after it.
        PackedWeights three = new PackedWeights(GroupFormat.symmetric(3, 128), 128, 1);
        three.setCode(17, 0, 0b110);
        assertEquals(0b10 << 2, three.codes()[1] & 0xFF);
        assertEquals(1 << 1, three.codes()[32 + 1] & 0xFF);
    }

    @Test
    void badInputIsRefusedByName() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor ragged = Tensor.allocate(arena, 100, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Rtn.quantize(ragged, GroupFormat.symmetric(4, 32)));
            assertTrue(e.getMessage().contains("k = 100 is not a multiple of the group size 32"), e.getMessage());

            float[] w = new float[64];
            w[5 * 2 + 1] = Float.NaN;
            e = assertThrows(IllegalArgumentException.class,
                    () -> Rtn.quantize(Tensor.of(arena, w, 32, 2), GroupFormat.symmetric(4, 32)));
            assertTrue(e.getMessage().contains("weight (5, 1) is NaN"), e.getMessage());
            w[5 * 2 + 1] = Float.NEGATIVE_INFINITY;
            e = assertThrows(IllegalArgumentException.class,
                    () -> Rtn.quantize(Tensor.of(arena, w, 32, 2), GroupFormat.symmetric(4, 32)));
            assertTrue(e.getMessage().contains("weight (5, 1) is -Infinity"), e.getMessage());

            float[] huge = new float[32];
            huge[0] = 1e6f;
            e = assertThrows(IllegalArgumentException.class,
                    () -> Rtn.quantize(Tensor.of(arena, huge, 32, 1), GroupFormat.symmetric(2, 32)));
            assertTrue(e.getMessage().contains("beyond fp16"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> GroupFormat.symmetric(5, 32));
        assertThrows(IllegalArgumentException.class, () -> GroupFormat.symmetric(4, 48));
    }
}
