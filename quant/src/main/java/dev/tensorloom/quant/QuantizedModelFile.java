package dev.tensorloom.quant;

import dev.tensorloom.runtime.bert.BertConfig;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.tensor.Tensor;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The quantized model file: a BERT model whose projection matrices are stored as a {@link QuantizedBert} holds
 * them, with everything else it needs to run (embeddings, LayerNorms, biases in fp32, the sizes, the tokenizer),
 * so loading it needs neither the original ONNX file nor calibration data. The layout is docs/FORMATS.md's
 * "Quantized model file (.tlq)": little-endian, a header with a CRC-32, then named records each with its own
 * CRC-32.
 *
 * <p>The reader checks every length against the bytes left before it allocates, every record's checksum before
 * it decodes it, and every value a kernel would trust (shapes against the header's sizes, formats, finite
 * scales, zero points within the codes), so a damaged file fails with a {@link QuantizedModelFormatException}
 * naming the file and the byte, never with an {@code OutOfMemoryError} or a model that computes NaN.
 */
public final class QuantizedModelFile {

    /** "TLQM", the first four bytes. */
    static final byte[] MAGIC = {'T', 'L', 'Q', 'M'};
    static final int VERSION = 1;
    static final int KIND_FP32 = 0;
    static final int KIND_GROUP = 1;
    static final int KIND_GGML = 2;
    static final int METHOD_RTN = 1;
    static final int METHOD_GPTQ = 2;
    /** The most elements a Java array is sure to hold. */
    private static final long MAX_ARRAY = Integer.MAX_VALUE - 8;
    /** Longest record name. */
    static final int MAX_NAME = 255;

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private QuantizedModelFile() {
    }

    /**
     * A loaded file: the model's weights (fp32 tensors in their own arena; each quantized projection's weight is
     * a shared zero tensor of its shape, there only because {@code BertWeights} names every matrix: the encoder
     * must take its matrices from {@link #matrices()}), the stored matrices and the tokenizer.json bytes.
     * Closing it frees the weights.
     */
    public record Contents(BertWeights weights, QuantizedBert matrices, byte[] tokenizerJson) implements AutoCloseable {

        @Override
        public void close() {
            weights.close();
        }
    }

    /** Whether {@code file} begins with this format's magic bytes (a cheap check before {@link #read}). */
    public static boolean isQuantizedModel(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return false;
        }
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(MAGIC.length), MAGIC);
        }
    }

    // ---------------------------------------------------------------------------------------------- writing

    /** Writes the model: {@code weights}' fp32 tensors, {@code matrices}' projections and the tokenizer bytes. */
    public static void write(Path file, BertWeights weights, QuantizedBert matrices, byte[] tokenizerJson)
            throws IOException {
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
            write(out, weights, matrices, tokenizerJson);
        }
    }

    /** The file's bytes, written to {@code out}. */
    public static void write(OutputStream out, BertWeights weights, QuantizedBert matrices, byte[] tokenizerJson)
            throws IOException {
        BertConfig cfg = weights.config();
        if (matrices.layers() != cfg.layers()) {
            throw new IllegalArgumentException("the stored matrices have " + matrices.layers()
                    + " layers, the model " + cfg.layers());
        }
        ByteBuffer header = ByteBuffer.allocate(48 + tokenizerJson.length).order(ByteOrder.LITTLE_ENDIAN);
        header.put(MAGIC).putInt(VERSION).putInt(cfg.vocabSize()).putInt(cfg.hiddenSize()).putInt(cfg.layers())
                .putInt(cfg.heads()).putInt(cfg.intermediateSize()).putInt(cfg.maxPositions())
                .putInt(cfg.typeVocabSize()).putFloat(cfg.layerNormEpsilon()).putInt(tokenizerJson.length)
                .put(tokenizerJson);
        writeWithCrc(out, header);

        for (Map.Entry<String, Tensor> e : weights.tensorsButProjections().entrySet()) {
            writeFp32(out, e.getKey(), e.getValue());
        }
        for (int layer = 0; layer < cfg.layers(); layer++) {
            for (Component c : Component.values()) {
                String name = matrixName(layer, c);
                Tensor original = c.of(weights.layers().get(layer)).weight();
                QuantizedBert.Stored stored = matrices.matrix(layer, c);
                if (stored.rows() != original.rows() || stored.cols() != original.cols()) {
                    throw new IllegalArgumentException(name + " is stored as " + stored.rows() + "x" + stored.cols()
                            + ", but the model's is " + original.rows() + "x" + original.cols());
                }
                switch (stored) {
                    case QuantizedBert.Dense d -> writeFp32(out, name, d.weight());
                    case QuantizedBert.Quantized q -> writeQuantized(out, name, q);
                }
            }
        }
    }

    /** layers.i.attention.query, ..., layers.i.intermediate, layers.i.output. */
    private static String prefix(int layer, Component c) {
        return "layers." + layer + "." + switch (c) {
            case QUERY -> "attention.query";
            case KEY -> "attention.key";
            case VALUE -> "attention.value";
            case ATTENTION_OUTPUT -> "attention.output";
            case FFN_UP -> "intermediate";
            case FFN_DOWN -> "output";
        };
    }

    static String matrixName(int layer, Component c) {
        return prefix(layer, c) + ".weight";
    }

    private static ByteBuffer recordStart(String name, int kind, long payload) {
        byte[] n = name.getBytes(StandardCharsets.US_ASCII);
        long size = 2 + n.length + 1 + payload + 4;
        if (size > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(name + ": a record of " + size + " bytes is more than one buffer holds");
        }
        return ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN).putShort((short) n.length).put(n)
                .put((byte) kind);
    }

    private static void writeFp32(OutputStream out, String name, Tensor t) throws IOException {
        int rank = t.rank();
        ByteBuffer b = recordStart(name, KIND_FP32, 1 + 4L * rank + 4 * t.size()).put((byte) rank);
        for (int axis = 0; axis < rank; axis++) {
            b.putInt((int) t.dim(axis));
        }
        for (float v : t.toArray()) {
            b.putFloat(v);
        }
        writeWithCrc(out, b);
    }

    private static void writeQuantized(OutputStream out, String name, QuantizedBert.Quantized q) throws IOException {
        switch (q.weights()) {
            case PackedWeights p -> {
                GroupFormat f = p.format();
                ByteBuffer b = recordStart(name, KIND_GROUP, 13 + p.bytes())
                        .putInt(p.rows()).putInt(p.cols()).put((byte) f.bits()).putShort((short) f.groupSize())
                        .put((byte) (f.symmetric() ? 1 : 0))
                        .put((byte) (q.recipe().method() == MatrixRecipe.Method.GPTQ ? METHOD_GPTQ : METHOD_RTN))
                        .put(p.codes());
                for (short s : p.scales()) {
                    b.putShort(s);
                }
                if (p.zeros() != null) {
                    b.put(p.zeros());
                }
                writeWithCrc(out, b);
            }
            case GgmlWeights g -> writeWithCrc(out, recordStart(name, KIND_GGML, 9 + g.bytes())
                    .putInt(g.rows()).putInt(g.cols()).put((byte) g.type().ordinal()).put(g.data()));
        }
    }

    /** The buffer's bytes up to its last four, then the CRC-32 of those bytes in the last four. */
    private static void writeWithCrc(OutputStream out, ByteBuffer b) throws IOException {
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, b.capacity() - 4);
        b.putInt(b.capacity() - 4, (int) crc.getValue());
        out.write(b.array());
    }

    // ---------------------------------------------------------------------------------------------- reading

    /** Reads a file, memory-mapped while it is decoded; every tensor is copied into the returned weights' arena. */
    public static Contents read(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ); Arena mapping = Arena.ofConfined()) {
            return read(channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), mapping), file.toString());
        }
    }

    /** Reads a file's bytes; {@code source} names it in errors. */
    public static Contents read(byte[] bytes, String source) throws QuantizedModelFormatException {
        return read(MemorySegment.ofArray(bytes), source);
    }

    private static Contents read(MemorySegment bytes, String source) throws QuantizedModelFormatException {
        Reader r = new Reader(bytes, source);
        return r.readModel();
    }

    /** The decoder: a cursor over the bytes that checks every length before it reads. */
    private static final class Reader {
        private final MemorySegment bytes;
        private final String source;
        private long at;

        Reader(MemorySegment bytes, String source) {
            this.bytes = bytes;
            this.source = source;
        }

        QuantizedModelFormatException error(long offset, String problem) {
            return new QuantizedModelFormatException(source, offset, problem);
        }

        void need(long n, String what) throws QuantizedModelFormatException {
            if (n < 0 || n > bytes.byteSize() - at) {
                throw error(at, what + " needs " + n + " bytes, but the file has " + (bytes.byteSize() - at) + " more");
            }
        }

        int u8(String what) throws QuantizedModelFormatException {
            need(1, what);
            return bytes.get(ValueLayout.JAVA_BYTE, at++) & 0xFF;
        }

        int u16(String what) throws QuantizedModelFormatException {
            need(2, what);
            int v = bytes.get(I16, at) & 0xFFFF;
            at += 2;
            return v;
        }

        int i32(String what) throws QuantizedModelFormatException {
            need(4, what);
            int v = bytes.get(I32, at);
            at += 4;
            return v;
        }

        /** A size: a non-negative i32 at most {@code max}. */
        int size(String what, int max) throws QuantizedModelFormatException {
            long start = at;
            int v = i32(what);
            if (v < 0 || v > max) {
                throw error(start, what + " is " + Integer.toUnsignedString(v) + ", outside [0, " + max + "]");
            }
            return v;
        }

        float f32(String what) throws QuantizedModelFormatException {
            need(4, what);
            float v = bytes.get(F32, at);
            at += 4;
            return v;
        }

        byte[] bytes(long n, String what) throws QuantizedModelFormatException {
            if (n > MAX_ARRAY) {
                throw error(at, what + " would be " + n + " bytes, more than one array holds");
            }
            need(n, what);
            byte[] out = new byte[(int) n];
            MemorySegment.copy(bytes, ValueLayout.JAVA_BYTE, at, out, 0, out.length);
            at += n;
            return out;
        }

        /** Checks the CRC-32 stored after [from, at) and moves past it. */
        void crc(long from, String what) throws QuantizedModelFormatException {
            long end = at;
            int stored = i32("the checksum of " + what);
            CRC32 crc = new CRC32();
            crc.update(bytes.asSlice(from, end - from).asByteBuffer());
            if ((int) crc.getValue() != stored) {
                throw error(end, "the checksum of " + what + " is " + Integer.toHexString(stored)
                        + ", but its bytes sum to " + Long.toHexString(crc.getValue()));
            }
        }

        Contents readModel() throws QuantizedModelFormatException {
            byte[] magic = bytes(MAGIC.length, "the magic");
            if (!Arrays.equals(magic, MAGIC)) {
                throw error(0, "not a tensorloom quantized model (the file does not begin with \"TLQM\")");
            }
            int version = i32("the version");
            if (version != VERSION) {
                throw error(4, "version " + version + ", but this reader knows version " + VERSION);
            }
            int max = 1 << 24;
            BertConfig config;
            long configAt = at;
            try {
                config = new BertConfig(size("vocabSize", max), size("hiddenSize", max), size("layers", 4096),
                        size("heads", max), size("intermediateSize", max), size("maxPositions", max),
                        size("typeVocabSize", max), f32("layerNormEpsilon"));
            } catch (IllegalArgumentException e) {
                throw error(configAt, e.getMessage());
            }
            if (!Float.isFinite(config.layerNormEpsilon())) {
                throw error(configAt + 28, "the LayerNorm epsilon is " + config.layerNormEpsilon());
            }
            int tokenizerLength = size("the tokenizer length", Integer.MAX_VALUE - 8);
            byte[] tokenizer = bytes(tokenizerLength, "the tokenizer");
            crc(0, "the header");

            Map<String, Record> records = new HashMap<>();
            while (at < bytes.byteSize()) {
                long start = at;
                Record record = readRecord();
                if (records.putIfAbsent(record.name(), record) != null) {
                    throw error(start, "a second record named " + record.name());
                }
            }
            return assemble(config, tokenizer, records);
        }

        /** One record as decoded, with where it began. */
        private record Record(String name, long offset, float[] fp32, long[] shape, QuantizedBert.Quantized quantized) {
        }

        Record readRecord() throws QuantizedModelFormatException {
            long start = at;
            int nameLength = u16("a record's name length");
            if (nameLength < 1 || nameLength > MAX_NAME) {
                throw error(start, "a record name of " + nameLength + " bytes (1 to " + MAX_NAME + ")");
            }
            byte[] raw = bytes(nameLength, "a record's name");
            for (byte c : raw) {
                if (c < 0x21 || c > 0x7E) {
                    throw error(start + 2, "a record name with the byte " + (c & 0xFF) + " (printable ASCII only)");
                }
            }
            String name = new String(raw, StandardCharsets.US_ASCII);
            int kind = u8(name + "'s kind");
            return switch (kind) {
                case KIND_FP32 -> readFp32(start, name);
                case KIND_GROUP -> readGroup(start, name);
                case KIND_GGML -> readGgml(start, name);
                default -> throw error(at - 1, name + ": unknown record kind " + kind);
            };
        }

        Record readFp32(long start, String name) throws QuantizedModelFormatException {
            int rank = u8(name + "'s rank");
            if (rank != 1 && rank != 2) {
                throw error(at - 1, name + ": rank " + rank + " (an fp32 record is a vector or a matrix)");
            }
            long[] shape = new long[rank];
            long count = 1;
            for (int axis = 0; axis < rank; axis++) {
                shape[axis] = size(name + "'s dimension " + axis, Integer.MAX_VALUE);
                count *= shape[axis];
            }
            if (count < 1 || count > (Integer.MAX_VALUE - 8) / 4) {
                throw error(at, name + ": " + count + " elements (1 to " + (Integer.MAX_VALUE - 8) / 4 + ")");
            }
            long dataAt = at;
            need(4 * count + 4, name + "'s data");
            at += 4 * count;
            crc(start, name);
            float[] values = new float[(int) count];
            MemorySegment.copy(bytes, F32, dataAt, values, 0, values.length);
            for (int i = 0; i < values.length; i++) {
                if (!Float.isFinite(values[i])) {
                    throw error(dataAt + 4L * i, name + ": element " + i + " is " + values[i]);
                }
            }
            return new Record(name, start, values, shape, null);
        }

        Record readGroup(long start, String name) throws QuantizedModelFormatException {
            int k = size(name + "'s k", 1 << 24);
            int n = size(name + "'s n", 1 << 24);
            long formatAt = at;
            int bits = u8(name + "'s bits");
            int groupSize = u16(name + "'s group size");
            int symmetric = u8(name + "'s symmetry");
            int method = u8(name + "'s method");
            GroupFormat format;
            try {
                if (symmetric > 1) {
                    throw new IllegalArgumentException("symmetry flag " + symmetric + " (0 or 1)");
                }
                if (method != METHOD_RTN && method != METHOD_GPTQ) {
                    throw new IllegalArgumentException("method " + method + " (1 RTN, 2 GPTQ)");
                }
                format = new GroupFormat(bits, groupSize, symmetric == 1);
                format.requireFits(k);
                if (n < 1) {
                    throw new IllegalArgumentException("n = 0");
                }
            } catch (IllegalArgumentException e) {
                throw error(formatAt, name + ": " + e.getMessage());
            }
            long codeBytes = (long) format.rowBytes(k) * n;
            long groups = (long) format.groups(k) * n;
            if (codeBytes > MAX_ARRAY || 2 * groups > MAX_ARRAY) {
                throw error(formatAt, name + ": a " + format + " " + k + "x" + n + " matrix is more than one array holds");
            }
            need(codeBytes + 2 * groups + (format.symmetric() ? 0 : groups) + 4, name + "'s codes and scales");
            byte[] codes = bytes(codeBytes, name + "'s codes");
            long scalesAt = at;
            short[] scales = new short[(int) groups];
            MemorySegment.copy(bytes, I16, at, scales, 0, scales.length);
            at += 2 * groups;
            long zerosAt = at;
            byte[] zeros = format.symmetric() ? null : bytes(groups, name + "'s zero points");
            crc(start, name);
            for (int i = 0; i < scales.length; i++) {
                float s = Float.float16ToFloat(scales[i]);
                if (!Float.isFinite(s) || s < 0) {
                    throw error(scalesAt + 2L * i, name + ": scale " + i + " is " + s);
                }
            }
            if (zeros != null) {
                for (int i = 0; i < zeros.length; i++) {
                    if ((zeros[i] & 0xFF) > format.maxCode()) {
                        throw error(zerosAt + i, name + ": zero point " + (zeros[i] & 0xFF) + " exceeds the largest "
                                + format.bits() + "-bit code " + format.maxCode());
                    }
                }
            }
            PackedWeights packed = new PackedWeights(format, k, n, codes, scales, zeros);
            MatrixRecipe recipe = method == METHOD_GPTQ ? MatrixRecipe.gptq(format) : MatrixRecipe.rtn(format);
            return new Record(name, start, null, new long[] {k, n}, new QuantizedBert.Quantized(recipe, packed));
        }

        Record readGgml(long start, String name) throws QuantizedModelFormatException {
            int k = size(name + "'s k", 1 << 24);
            int n = size(name + "'s n", 1 << 24);
            int typeIndex = u8(name + "'s ggml type");
            if (typeIndex >= GgmlType.values().length) {
                throw error(at - 1, name + ": unknown ggml type " + typeIndex);
            }
            GgmlType type = GgmlType.values()[typeIndex];
            if (n < 1 || k < 1 || k % type.blockSize() != 0) {
                throw error(at - 9, name + ": a " + type + " matrix cannot be " + k + "x" + n);
            }
            long dataAt = at;
            byte[] data = bytes((long) type.rowBytes(k) * n, name + "'s blocks");
            crc(start, name);
            // Every fp16 block scale must be finite: d (and Q4_K's dmin).
            int[] scaleOffsets = switch (type) {
                case Q4_0, Q8_0 -> new int[] {0};
                case Q4_K -> new int[] {0, 2};
                case Q6_K -> new int[] {208};
            };
            for (int block = 0; block < data.length / type.blockBytes(); block++) {
                for (int o : scaleOffsets) {
                    int p = block * type.blockBytes() + o;
                    if (!Float.isFinite(GgmlWeights.fp16(data, p))) {
                        throw error(dataAt + p, name + ": block " + block + " has a scale of "
                                + GgmlWeights.fp16(data, p));
                    }
                }
            }
            return new Record(name, start, null, new long[] {k, n},
                    new QuantizedBert.Quantized(MatrixRecipe.ggml(type), new GgmlWeights(type, k, n, data)));
        }

        /** The model out of its records: every tensor the sizes call for, of its shape, and nothing else. */
        Contents assemble(BertConfig cfg, byte[] tokenizer, Map<String, Record> records)
                throws QuantizedModelFormatException {
            Arena arena = Arena.ofShared();
            Arena projections = Arena.ofShared(); // the projection matrices (BertWeights.projectionArena)
            try {
                int h = cfg.hiddenSize();
                Map<String, Record> left = new HashMap<>(records);
                Map<List<Long>, Tensor> placeholders = new HashMap<>();
                Tensor word = fp32(arena, left, "embeddings.word", cfg.vocabSize(), h);
                Tensor position = fp32(arena, left, "embeddings.position", cfg.maxPositions(), h);
                Tensor types = cfg.typeVocabSize() == 0 ? null
                        : fp32(arena, left, "embeddings.token_type", cfg.typeVocabSize(), h);
                Tensor gamma = fp32(arena, left, "embeddings.norm.gamma", h);
                Tensor beta = fp32(arena, left, "embeddings.norm.beta", h);
                List<BertWeights.Layer> layers = new ArrayList<>();
                QuantizedBert.Stored[][] stored = new QuantizedBert.Stored[cfg.layers()][Component.values().length];
                for (int layer = 0; layer < cfg.layers(); layer++) {
                    BertWeights.Linear[] linears = new BertWeights.Linear[Component.values().length];
                    for (Component c : Component.values()) {
                        int in = c == Component.FFN_DOWN ? cfg.intermediateSize() : h;
                        int out = c == Component.FFN_UP ? cfg.intermediateSize() : h;
                        String name = matrixName(layer, c);
                        Record m = left.remove(name);
                        if (m == null) {
                            throw error(bytes.byteSize(), "no record " + name);
                        }
                        if (m.shape().length != 2 || m.shape()[0] != in || m.shape()[1] != out) {
                            throw error(m.offset(), name + " is " + Arrays.toString(m.shape())
                                    + ", but the header's sizes make it [" + in + ", " + out + "]");
                        }
                        Tensor weight;
                        if (m.quantized() != null) {
                            stored[layer][c.ordinal()] = m.quantized();
                            weight = placeholders.computeIfAbsent(List.of((long) in, (long) out),
                                    s -> Tensor.allocate(projections, in, out));
                        } else {
                            weight = Tensor.of(projections, m.fp32(), in, out);
                            stored[layer][c.ordinal()] = new QuantizedBert.Dense(weight);
                        }
                        linears[c.ordinal()] = new BertWeights.Linear(weight,
                                fp32(arena, left, prefix(layer, c) + ".bias", out));
                    }
                    String p = "layers." + layer + ".";
                    layers.add(new BertWeights.Layer(linears[0], linears[1], linears[2], linears[3],
                            fp32(arena, left, p + "attention.norm.gamma", h),
                            fp32(arena, left, p + "attention.norm.beta", h), linears[4], linears[5],
                            fp32(arena, left, p + "output.norm.gamma", h), fp32(arena, left, p + "output.norm.beta", h)));
                }
                if (!left.isEmpty()) {
                    Record extra = left.values().iterator().next();
                    throw error(extra.offset(), "a record " + extra.name() + " that a " + cfg.layers()
                            + "-layer model does not have");
                }
                BertWeights weights = new BertWeights(cfg, arena, projections, word, position, types, gamma, beta,
                        layers);
                return new Contents(weights, new QuantizedBert(stored), tokenizer);
            } catch (QuantizedModelFormatException | RuntimeException e) {
                arena.close();
                projections.close();
                throw e;
            }
        }

        /** The fp32 record {@code name}, which must have {@code shape}, copied into {@code arena}. */
        private Tensor fp32(Arena arena, Map<String, Record> left, String name, long... shape)
                throws QuantizedModelFormatException {
            Record r = left.remove(name);
            if (r == null) {
                throw error(bytes.byteSize(), "no record " + name);
            }
            if (r.fp32() == null) {
                throw error(r.offset(), name + " must be fp32, but is stored as " + r.quantized().recipe());
            }
            if (!Arrays.equals(r.shape(), shape)) {
                throw error(r.offset(), name + " is " + Arrays.toString(r.shape())
                        + ", but the header's sizes make it " + Arrays.toString(shape));
            }
            return Tensor.of(arena, r.fp32(), shape);
        }
    }
}
