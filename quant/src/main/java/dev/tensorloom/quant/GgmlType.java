package dev.tensorloom.quant;

/**
 * ggml's block formats that this module reads (llama.cpp's GGUF tensors), byte for byte as ggml's
 * {@code ggml-common.h} lays them out; multi-byte fields little-endian, fp16 IEEE binary16.
 *
 * <ul>
 *   <li>{@code Q4_0}: 32 weights in 18 bytes, 4.5 bits per weight: {@code f16 d; u8 qs[16]}; weight j is the
 *       low nibble of qs[j], weight j + 16 the high nibble; w = d·(q - 8).</li>
 *   <li>{@code Q8_0}: 32 weights in 34 bytes, 8.5 bits per weight: {@code f16 d; i8 qs[32]}; w = d·q.</li>
 *   <li>{@code Q4_K}: 256 weights in 144 bytes, 4.5 bits per weight: {@code f16 d; f16 dmin; u8 scales[12];
 *       u8 qs[128]}: eight sub-blocks of 32 with 6-bit scales and mins; w = d·sc·q - dmin·m.</li>
 *   <li>{@code Q6_K}: 256 weights in 210 bytes, 6.5625 bits per weight: {@code u8 ql[128]; u8 qh[64];
 *       i8 scales[16]; f16 d}: sixteen sub-blocks of 16 with 8-bit scales; w = d·sc·(q - 32).</li>
 * </ul>
 */
public enum GgmlType {
    Q4_0(32, 18),
    Q8_0(32, 34),
    Q4_K(256, 144),
    Q6_K(256, 210);

    private final int blockSize;
    private final int blockBytes;

    GgmlType(int blockSize, int blockBytes) {
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** Weights per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block, scales included. */
    public int blockBytes() {
        return blockBytes;
    }

    /** Bits per weight, scales included: 8·blockBytes/blockSize. */
    public double bitsPerWeight() {
        return 8.0 * blockBytes / blockSize;
    }

    /** Bytes of one row of {@code cols} weights; cols must be a whole number of blocks. */
    public int rowBytes(int cols) {
        if (cols < 1 || cols % blockSize != 0) {
            throw new IllegalArgumentException(name() + " rows are whole blocks of " + blockSize + " weights; "
                    + cols + " is not a multiple of " + blockSize);
        }
        return cols / blockSize * blockBytes;
    }

    /** The name ggml's tools use: q4_0, q8_0, q4_K, q6_K. */
    public String ggmlName() {
        return name().charAt(0) == 'Q' ? "q" + name().substring(1) : name();
    }
}
