package dev.tensorloom.quant;

/**
 * A weight-only, group-wise low-bit format: {@code bits} per weight (2, 3, 4 or 8), one fp16 scale per group
 * of {@code groupSize} consecutive input channels of one output channel (32, 64, 128, or the whole column:
 * {@link #PER_CHANNEL}), and, when asymmetric, one 8-bit zero point per group.
 *
 * <h2>What a code means</h2>
 * A weight's code u is an unsigned integer in [0, 2^bits). Its value is ŵ = s·(u - z), with s the group's
 * scale and z its zero point: z = 2^(bits-1) for a symmetric format (so the codes are two's-complement-like
 * signed levels -2^(bits-1) .. 2^(bits-1)-1, of which the quantizer uses the symmetric part), and the stored
 * byte for an asymmetric one. s·(u - z) is exact in float32 (an 11-bit fp16 mantissa times an integer below
 * 2^9), so every backend dequantizes to the same floats.
 *
 * <h2>The packed layout ({@link PackedWeights})</h2>
 * The matrix b [k, n] (input channels k, output channels n: what a layer multiplies by) is stored by output
 * channel: row j of the codes holds the k codes of column j of b. A row is cut into bit planes of width 8, 4,
 * 2 or 1 ({@code bits} = 8: [8]; 4: [4]; 3: [2, 1] with the 2-bit plane the low bits; 2: [2]). A plane of
 * width w stores its part of the codes in 16-byte units of 128/w values: value r of a unit (r &lt; 128/w)
 * sits in byte r mod 16 of the unit, at bit w·(r div 16). So 16 consecutive values (r = 16t .. 16t+15) are
 * 16 consecutive bytes shifted by the same amount: a SIMD kernel loads 4, 8 or 16 bytes, widens them to int
 * lanes, shifts, masks and ORs the planes together, never a per-lane shuffle (ggml's Q4_0 nibble order,
 * low nibbles then high, is the w = 4 case). Each plane of a row is padded with zero codes to whole units,
 * and a row is its planes one after another: {@link #rowBytes(int)} = Σ_planes ⌈k·w/128⌉·16.
 * Scales are fp16, [n, groups] row-major; zero points bytes, [n, groups], asymmetric only.
 *
 * <h2>Bits per weight</h2>
 * With g = the group size (k for per-channel), and k a multiple of 128 (so no padding):
 * bits + 16/g symmetric, bits + 24/g asymmetric; e.g. 4-bit g128 symmetric is 4.125, 3-bit g32 asymmetric
 * is 3.75. {@link #bitsPerWeight(int)} is the exact figure for any k, padding included.
 */
public record GroupFormat(int bits, int groupSize, boolean symmetric) {

    /** The group size that means one group per output channel: the whole column of k weights. */
    public static final int PER_CHANNEL = 0;

    /** Bytes in one unit of a bit plane. */
    static final int UNIT_BYTES = 16;

    public GroupFormat {
        if (bits != 2 && bits != 3 && bits != 4 && bits != 8) {
            throw new IllegalArgumentException("bits must be 2, 3, 4 or 8, got " + bits);
        }
        if (groupSize != PER_CHANNEL && groupSize != 32 && groupSize != 64 && groupSize != 128) {
            throw new IllegalArgumentException("group size must be 32, 64, 128 or PER_CHANNEL (0), got " + groupSize);
        }
    }

    public static GroupFormat symmetric(int bits, int groupSize) {
        return new GroupFormat(bits, groupSize, true);
    }

    public static GroupFormat asymmetric(int bits, int groupSize) {
        return new GroupFormat(bits, groupSize, false);
    }

    /** Widths of the bit planes, low bits first. */
    int[] planes() {
        return switch (bits) {
            case 2 -> new int[] {2};
            case 3 -> new int[] {2, 1};
            case 4 -> new int[] {4};
            default -> new int[] {8};
        };
    }

    /** The largest code, 2^bits - 1. */
    public int maxCode() {
        return (1 << bits) - 1;
    }

    /** The group size over k input channels; k must be a multiple of it. */
    public int groupSize(int k) {
        requireFits(k);
        return groupSize == PER_CHANNEL ? k : groupSize;
    }

    /** Groups per output channel over k input channels. */
    public int groups(int k) {
        return k / groupSize(k);
    }

    /** Bytes of one output channel's codes, all planes, padded to whole units. */
    public int rowBytes(int k) {
        requireFits(k);
        int bytes = 0;
        for (int w : planes()) {
            bytes += planeBytes(k, w);
        }
        return bytes;
    }

    static int planeBytes(int k, int width) {
        return Math.ceilDiv(k, 128 / width) * UNIT_BYTES;
    }

    /** Bytes a k×n matrix takes in this format: codes, fp16 scales and (asymmetric) zero points. */
    public long bytes(int k, int n) {
        long groups = (long) n * groups(k);
        return (long) n * rowBytes(k) + 2 * groups + (symmetric ? 0 : groups);
    }

    /** Bits per weight of a k-row matrix, scales, zero points and padding included. */
    public double bitsPerWeight(int k) {
        return 8.0 * bytes(k, 1) / k;
    }

    /** Refuses a k that does not split into whole groups, naming both. */
    public void requireFits(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be positive, got " + k);
        }
        if (groupSize != PER_CHANNEL && k % groupSize != 0) {
            throw new IllegalArgumentException("k = " + k + " is not a multiple of the group size " + groupSize);
        }
    }

    @Override
    public String toString() {
        return bits + "-bit " + (groupSize == PER_CHANNEL ? "per-channel" : "g" + groupSize)
                + (symmetric ? " symmetric" : " asymmetric");
    }
}
