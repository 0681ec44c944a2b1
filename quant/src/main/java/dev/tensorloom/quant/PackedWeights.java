package dev.tensorloom.quant;

import java.util.List;
import java.util.Objects;

/**
 * A matrix b [k, n] in a {@link GroupFormat}: the packed codes, the fp16 scales and (asymmetric) the zero
 * points, laid out as the format's class comment says, in heap arrays that any thread may read. The kernels
 * read this form directly; {@link #value} gives one dequantized weight, for oracles and tests.
 */
public final class PackedWeights implements QuantizedWeights {

    private final GroupFormat format;
    private final int k;
    private final int n;
    private final int rowBytes;
    private final int groupSize;
    private final int groups;
    /** Start of each plane within a row, and its width. */
    private final int[] planeStart;
    private final int[] planeWidth;
    private final byte[] codes;
    private final short[] scales;
    private final byte[] zeros;

    /** Zero codes, zero scales and zero points: filled in by a quantizer. */
    PackedWeights(GroupFormat format, int k, int n) {
        this(format, k, n, null, null, null);
    }

    /**
     * Codes, scales and (asymmetric) zero points as stored (a model file's), not copied; null arrays are made
     * zero-filled. Arrays of the wrong length for the format and shape are refused.
     */
    PackedWeights(GroupFormat format, int k, int n, byte[] codes, short[] scales, byte[] zeros) {
        this.format = Objects.requireNonNull(format, "format");
        if (n < 1) {
            throw new IllegalArgumentException("n must be positive, got " + n);
        }
        this.k = k;
        this.n = n;
        this.rowBytes = format.rowBytes(k);
        this.groupSize = format.groupSize(k);
        this.groups = format.groups(k);
        this.planeWidth = format.planes();
        this.planeStart = new int[planeWidth.length];
        int start = 0;
        for (int i = 0; i < planeWidth.length; i++) {
            planeStart[i] = start;
            start += GroupFormat.planeBytes(k, planeWidth[i]);
        }
        int groupCount = Math.multiplyExact(groups, n);
        this.codes = sized(codes == null ? new byte[Math.multiplyExact(rowBytes, n)] : codes,
                Math.multiplyExact(rowBytes, n), "codes");
        this.scales = scales == null ? new short[groupCount] : scales;
        if (this.scales.length != groupCount) {
            throw new IllegalArgumentException(format + " " + k + "x" + n + " has " + groupCount + " scales, got "
                    + this.scales.length);
        }
        this.zeros = format.symmetric() ? requireNull(zeros)
                : sized(zeros == null ? new byte[groupCount] : zeros, groupCount, "zero points");
    }

    private byte[] sized(byte[] array, int length, String what) {
        if (array.length != length) {
            throw new IllegalArgumentException(format + " " + k + "x" + n + " has " + length + " bytes of " + what
                    + ", got " + array.length);
        }
        return array;
    }

    private static byte[] requireNull(byte[] zeros) {
        if (zeros != null) {
            throw new IllegalArgumentException("a symmetric format has no stored zero points");
        }
        return null;
    }

    /**
     * The matrices side by side, [b₀ | b₁ | ...]: the same format and k, so the rows of codes, scales and zero
     * points (one per output channel) follow one another.
     */
    static PackedWeights concatColumns(List<PackedWeights> parts) {
        PackedWeights first = parts.getFirst();
        int n = 0;
        for (PackedWeights p : parts) {
            if (!p.format.equals(first.format) || p.k != first.k) {
                throw new IllegalArgumentException("cannot put " + p + " beside " + first);
            }
            n += p.n;
        }
        PackedWeights out = new PackedWeights(first.format, first.k, n);
        int codesAt = 0;
        int groupsAt = 0;
        for (PackedWeights p : parts) {
            System.arraycopy(p.codes, 0, out.codes, codesAt, p.codes.length);
            System.arraycopy(p.scales, 0, out.scales, groupsAt, p.scales.length);
            if (p.zeros != null) {
                System.arraycopy(p.zeros, 0, out.zeros, groupsAt, p.zeros.length);
            }
            codesAt += p.codes.length;
            groupsAt += p.scales.length;
        }
        return out;
    }

    public GroupFormat format() {
        return format;
    }

    /** k: input channels, the rows of b. */
    public int rows() {
        return k;
    }

    /** n: output channels, the columns of b. */
    public int cols() {
        return n;
    }

    public int groupSize() {
        return groupSize;
    }

    public int groups() {
        return groups;
    }

    /** Bytes of one output channel's codes. */
    public int rowBytes() {
        return rowBytes;
    }

    /** Packed bytes held: codes, scales and zero points. */
    public long bytes() {
        return codes.length + 2L * scales.length + (zeros == null ? 0 : zeros.length);
    }

    /** The codes, [n][rowBytes]; the kernels' view, not to be changed. */
    public byte[] codes() {
        return codes;
    }

    /** The fp16 scales, [n][groups]. */
    public short[] scales() {
        return scales;
    }

    /** The zero points, [n][groups], or null for a symmetric format; the kernels' view, not to be changed. */
    public byte[] zeros() {
        return zeros;
    }

    /** Bit planes per row: 1, or 2 for 3 bits. */
    public int planes() {
        return planeWidth.length;
    }

    /** Byte offset of bit plane i within a row. */
    public int planeStart(int i) {
        return planeStart[i];
    }

    /** Width in bits of bit plane i (8, 4, 2 or 1); plane i holds the code bits above those of planes before it. */
    public int planeWidth(int i) {
        return planeWidth[i];
    }

    /** The code of b[p, j]. */
    public int code(int p, int j) {
        check(p, j);
        int u = 0;
        int bit = 0;
        for (int i = 0; i < planeWidth.length; i++) {
            int w = planeWidth[i];
            int at = byteOf(j, i, p);
            u |= ((codes[at] & 0xFF) >>> shiftOf(i, p) & ((1 << w) - 1)) << bit;
            bit += w;
        }
        return u;
    }

    void setCode(int p, int j, int u) {
        if (u < 0 || u > format.maxCode()) {
            throw new IllegalArgumentException("code " + u + " outside [0, " + format.maxCode() + "]");
        }
        int bit = 0;
        for (int i = 0; i < planeWidth.length; i++) {
            int w = planeWidth[i];
            int at = byteOf(j, i, p);
            int shift = shiftOf(i, p);
            int part = u >>> bit & ((1 << w) - 1);
            codes[at] = (byte) (codes[at] & ~(((1 << w) - 1) << shift) | part << shift);
            bit += w;
        }
    }

    /** Index in {@link #codes()} of the byte holding plane i of code (p, j). */
    private int byteOf(int j, int plane, int p) {
        int unitValues = 128 / planeWidth[plane];
        return j * rowBytes + planeStart[plane] + p / unitValues * GroupFormat.UNIT_BYTES + (p % unitValues & 15);
    }

    private int shiftOf(int plane, int p) {
        return planeWidth[plane] * (p % (128 / planeWidth[plane]) >>> 4);
    }

    /** The scale of group g of output channel j. */
    public float scale(int g, int j) {
        return Float.float16ToFloat(scales[j * groups + g]);
    }

    void setScale(int g, int j, short fp16) {
        scales[j * groups + g] = fp16;
    }

    /** The zero point of group g of output channel j: 2^(bits-1) when symmetric. */
    public int zero(int g, int j) {
        return zeros == null ? 1 << (format.bits() - 1) : zeros[j * groups + g] & 0xFF;
    }

    void setZero(int g, int j, int z) {
        if (zeros == null) {
            throw new IllegalStateException("a symmetric format has no stored zero points");
        }
        zeros[j * groups + g] = (byte) z;
    }

    /** ŵ = b[p, j] as stored: s·(u - z), exact in float. */
    public float value(int p, int j) {
        int g = p / groupSize;
        return scale(g, j) * (code(p, j) - zero(g, j));
    }

    private void check(int p, int j) {
        if (p < 0 || p >= k || j < 0 || j >= n) {
            throw new IndexOutOfBoundsException("(" + p + ", " + j + ") is outside the " + k + "x" + n + " matrix");
        }
    }

    @Override
    public String toString() {
        return "PackedWeights[" + k + "x" + n + ", " + format + "]";
    }
}
