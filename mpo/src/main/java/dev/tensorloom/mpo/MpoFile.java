package dev.tensorloom.mpo;

import dev.tensorloom.runtime.bert.BertConfig;
import dev.tensorloom.runtime.tensor.Tensor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * The MPO file: named matrices as MPO cores, the format of docs/FORMATS.md ("MPO files"), optionally with the
 * sizes and tokenizer of the BERT-family encoder they make up (then the file is a whole model, {@link MpoModel}).
 * Little-endian throughout:
 * <pre>
 * magic     8 bytes  "TLMPO" 0 0 2   (the last byte is the version; version 1, without the model byte, is read too)
 * metadata  u32 length, UTF-8 text   (free form: the source model, the truncation)
 * model     u8: 0 matrices only; 1 an encoder: 7 × u32 sizes (vocabulary, hidden, layers, heads, intermediate,
 *           positions, token types), f32 LayerNorm epsilon, u32 T and T bytes of tokenizer.json (T = 0: none)
 * count     u32                      matrices
 * matrix    u16 length, UTF-8 name; u8 n (1 … 64); n × u32 row factors; n × u32 column factors;
 *           (n + 1) × u32 bonds (d₀ = dₙ = 1); then each core k, d_k·i_k·j_k·d_{k+1} float32, row-major
 * crc       u32                      CRC-32 of every byte before it
 * </pre>
 * The reader checks every length and size against the bytes that remain before it allocates anything, every
 * shape against the limits below, every weight for finiteness, names for uniqueness, the checksum, and that nothing
 * follows it; whatever is wrong raises {@link MpoFormatException} naming the byte offset, and nothing else escapes
 * (a fuzz test holds it to that).
 */
public final class MpoFile {

    /** "TLMPO", two zero bytes, version 2. */
    private static final byte[] MAGIC = {'T', 'L', 'M', 'P', 'O', 0, 0, 2};
    /** The first version, which has no model byte. */
    private static final int VERSION_1 = 1;
    private static final int MAX_CORES = 64;
    /** Bonds above this are refused: far beyond any exact MPO of a matrix whose sides fit an int. */
    private static final int MAX_BOND = 1 << 20;

    private MpoFile() {
    }

    /** One named matrix's MPO as host arrays. */
    public record Matrix(String name, MpoShape shape, int[] bonds, float[][] cores) {

        /** The cores as host tensors in {@code arena}. */
        public Mpo toMpo(Arena arena) {
            Tensor[] tensors = new Tensor[cores.length];
            for (int k = 0; k < cores.length; k++) {
                tensors[k] = Tensor.of(arena, cores[k], bonds[k], shape.rowFactor(k), shape.colFactor(k), bonds[k + 1]);
            }
            return new Mpo(shape, bonds, tensors);
        }

        /** The matrix of a host MPO. */
        public static Matrix of(String name, Mpo mpo) {
            float[][] cores = new float[mpo.shape().cores()][];
            for (int k = 0; k < cores.length; k++) {
                cores[k] = mpo.core(k).toArray();
            }
            return new Matrix(name, mpo.shape(), mpo.bonds(), cores);
        }

        /** The matrix of a decomposition. */
        public static Matrix of(String name, Decomposition d) {
            return new Matrix(name, d.shape(), d.bonds(), d.cores());
        }
    }

    /** The encoder the matrices make up: its sizes and its tokenizer.json (empty when none is stored). */
    public record Model(BertConfig config, byte[] tokenizerJson) {
    }

    /** What a file holds: its metadata text, the model (null for matrices only) and its matrices by name, in file order. */
    public record Contents(String metadata, Model model, Map<String, Matrix> matrices) {
    }

    /** Whether {@code file} begins with this format's magic (any version): a cheap check before {@link #read}. */
    public static boolean isMpoFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            return false;
        }
        try (InputStream in = Files.newInputStream(file)) {
            return Arrays.equals(in.readNBytes(5), Arrays.copyOf(MAGIC, 5));
        }
    }

    /** The file's bytes for {@code matrices} (names unique, at most 65535 UTF-8 bytes each), no model. */
    public static byte[] toBytes(String metadata, Iterable<Matrix> matrices) {
        return toBytes(metadata, null, matrices);
    }

    /** The file's bytes for {@code matrices} and {@code model} (null: matrices only). */
    public static byte[] toBytes(String metadata, Model model, Iterable<Matrix> matrices) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(MAGIC);
        byte[] meta = metadata.getBytes(StandardCharsets.UTF_8);
        writeInt(out, meta.length);
        out.writeBytes(meta);
        out.write(model == null ? 0 : 1);
        if (model != null) {
            BertConfig c = model.config();
            for (int v : new int[] {c.vocabSize(), c.hiddenSize(), c.layers(), c.heads(), c.intermediateSize(),
                    c.maxPositions(), c.typeVocabSize()}) {
                writeInt(out, v);
            }
            writeInt(out, Float.floatToRawIntBits(c.layerNormEpsilon()));
            writeInt(out, model.tokenizerJson().length);
            out.writeBytes(model.tokenizerJson());
        }
        int count = 0;
        for (Matrix ignored : matrices) {
            count++;
        }
        writeInt(out, count);
        for (Matrix m : matrices) {
            byte[] name = m.name().getBytes(StandardCharsets.UTF_8);
            if (name.length > 0xFFFF) {
                throw new IllegalArgumentException("matrix name of " + name.length + " bytes is longer than 65535");
            }
            out.write(name.length & 0xFF);
            out.write(name.length >>> 8);
            out.writeBytes(name);
            int n = m.shape().cores();
            out.write(n);
            for (int k = 0; k < n; k++) {
                writeInt(out, m.shape().rowFactor(k));
            }
            for (int k = 0; k < n; k++) {
                writeInt(out, m.shape().colFactor(k));
            }
            for (int b : m.bonds()) {
                writeInt(out, b);
            }
            for (int k = 0; k < n; k++) {
                if (m.cores()[k].length != m.shape().coreSize(m.bonds(), k)) {
                    throw new IllegalArgumentException("core " + k + " of " + m.name() + " holds " + m.cores()[k].length
                            + " numbers, not " + m.shape().coreSize(m.bonds(), k));
                }
                ByteBuffer core = ByteBuffer.allocate(m.cores()[k].length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                core.asFloatBuffer().put(m.cores()[k]);
                out.writeBytes(core.array());
            }
        }
        CRC32 crc = new CRC32();
        crc.update(out.toByteArray());
        writeInt(out, (int) crc.getValue());
        return out.toByteArray();
    }

    /** Writes {@code matrices} to {@code file}. */
    public static void write(Path file, String metadata, Iterable<Matrix> matrices) throws IOException {
        Files.write(file, toBytes(metadata, matrices));
    }

    /** Writes {@code matrices} and {@code model} to {@code file}. */
    public static void write(Path file, String metadata, Model model, Iterable<Matrix> matrices) throws IOException {
        Files.write(file, toBytes(metadata, model, matrices));
    }

    /** Reads a file. */
    public static Contents read(Path file) throws IOException {
        return read(Files.readAllBytes(file), file.toString());
    }

    /** Reads a file's bytes; {@code source} names them in error messages. */
    public static Contents read(byte[] bytes, String source) throws MpoFormatException {
        Cursor in = new Cursor(bytes, source);
        byte[] v1 = Arrays.copyOf(MAGIC, MAGIC.length);
        v1[7] = VERSION_1;
        byte[] head = Arrays.copyOf(bytes, Math.min(bytes.length, MAGIC.length));
        boolean version2 = Arrays.equals(head, MAGIC);
        if (bytes.length < MAGIC.length + 4 || !version2 && !Arrays.equals(head, v1)) {
            if (bytes.length >= MAGIC.length && Arrays.equals(Arrays.copyOf(bytes, 5), Arrays.copyOf(MAGIC, 5))) {
                throw in.error(7, "MPO file version " + (bytes[7] & 0xFF) + " with bytes " + (bytes[5] & 0xFF) + ", "
                        + (bytes[6] & 0xFF) + "; this reader knows versions 1 and 2 with 0, 0");
            }
            throw in.error(0, "not an MPO file (no TLMPO magic, or shorter than its header)");
        }
        in.position = MAGIC.length;
        String metadata = in.utf8(in.u32("metadata length"), "metadata");
        Model model = version2 ? model(in) : null;
        long count = in.u32("matrix count");
        Map<String, Matrix> matrices = new LinkedHashMap<>();
        for (long m = 0; m < count; m++) {
            long at = in.position;
            String name = in.utf8(in.u16(), "name of matrix " + m);
            if (matrices.containsKey(name)) {
                throw in.error(at, "matrix name " + name + " appears twice");
            }
            matrices.put(name, matrix(in, name));
        }
        long crcAt = in.position;
        long stored = in.u32("checksum");
        if (in.position != bytes.length) {
            throw in.error(in.position, (bytes.length - in.position) + " bytes follow the checksum");
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, (int) crcAt);
        if (crc.getValue() != stored) {
            throw in.error(crcAt, "checksum " + Long.toHexString(stored) + " does not match the content's "
                    + Long.toHexString(crc.getValue()) + ": the file is corrupt");
        }
        return new Contents(metadata, model, Collections.unmodifiableMap(matrices));
    }

    /** The model byte and, when it is 1, the encoder's sizes and tokenizer. */
    private static Model model(Cursor in) throws MpoFormatException {
        long at = in.position;
        int kind = in.u8();
        if (kind == 0) {
            return null;
        }
        if (kind != 1) {
            throw in.error(at, "model kind " + kind + "; 0 (matrices only) and 1 (an encoder) are known");
        }
        String[] names = {"vocabulary size", "hidden size", "layers", "heads", "intermediate size", "positions"};
        int[] sizes = new int[7];
        long sizesAt = in.position;
        for (int k = 0; k < names.length; k++) {
            sizes[k] = in.positiveInt(names[k], MAX_BOND);
        }
        long types = in.u32("token types");
        long epsilonAt = in.position;
        float epsilon = Float.intBitsToFloat((int) in.u32("LayerNorm epsilon"));
        if (types > MAX_BOND) {
            throw in.error(epsilonAt - 4, "token types is " + types + "; it must be 0 to " + MAX_BOND);
        }
        if (!(epsilon > 0) || !Float.isFinite(epsilon)) {
            throw in.error(epsilonAt, "LayerNorm epsilon is " + epsilon + "; it must be positive and finite");
        }
        BertConfig config;
        try {
            config = new BertConfig(sizes[0], sizes[1], sizes[2], sizes[3], sizes[4], sizes[5], (int) types, epsilon);
        } catch (IllegalArgumentException e) {
            throw in.error(sizesAt, e.getMessage());
        }
        long length = in.u32("tokenizer length");
        in.need(length, "tokenizer.json");
        byte[] tokenizer = Arrays.copyOfRange(in.bytes, (int) in.position, (int) (in.position + length));
        in.position += length;
        return new Model(config, tokenizer);
    }

    private static Matrix matrix(Cursor in, String name) throws MpoFormatException {
        long at = in.position;
        int n = in.u8();
        if (n < 1 || n > MAX_CORES) {
            throw in.error(at, "matrix " + name + " has " + n + " cores; 1 to " + MAX_CORES + " are allowed");
        }
        int[] rows = new int[n];
        int[] cols = new int[n];
        int[] bonds = new int[n + 1];
        long shapeAt = in.position;
        for (int k = 0; k < n; k++) {
            rows[k] = in.positiveInt("row factor " + k + " of " + name, Integer.MAX_VALUE);
        }
        for (int k = 0; k < n; k++) {
            cols[k] = in.positiveInt("column factor " + k + " of " + name, Integer.MAX_VALUE);
        }
        for (int k = 0; k <= n; k++) {
            bonds[k] = in.positiveInt("bond " + k + " of " + name, MAX_BOND);
        }
        MpoShape shape;
        try {
            shape = new MpoShape(rows, cols);
            shape.requireBonds(bonds);
        } catch (IllegalArgumentException e) {
            throw in.error(shapeAt, "matrix " + name + ": " + e.getMessage());
        }
        float[][] cores = new float[n][];
        for (int k = 0; k < n; k++) {
            long size;
            try {
                size = Math.multiplyExact(Math.multiplyExact((long) bonds[k] * rows[k], cols[k]), bonds[k + 1]);
            } catch (ArithmeticException overflow) {
                size = Long.MAX_VALUE;
            }
            long coreAt = in.position;
            if (size > in.remaining() / Float.BYTES) {
                throw in.error(coreAt, "core " + k + " of " + name + " needs "
                        + (size == Long.MAX_VALUE ? "more than 2^63" : String.valueOf(size)) + " floats but "
                        + in.remaining() + " bytes remain (truncated file or corrupt shape)");
            }
            float[] core = new float[(int) size];
            ByteBuffer.wrap(in.bytes, (int) coreAt, core.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN)
                    .asFloatBuffer().get(core);
            for (int e = 0; e < core.length; e++) {
                if (!Float.isFinite(core[e])) {
                    throw in.error(coreAt + (long) e * Float.BYTES, "core " + k + " of " + name + " holds " + core[e]
                            + " at element " + e);
                }
            }
            in.position += (long) core.length * Float.BYTES;
            cores[k] = core;
        }
        return new Matrix(name, shape, bonds, cores);
    }

    private static void writeInt(ByteArrayOutputStream out, int v) {
        out.write(v);
        out.write(v >>> 8);
        out.write(v >>> 16);
        out.write(v >>> 24);
    }

    /** A position in the bytes that checks every read against the bytes that remain. */
    private static final class Cursor {

        final byte[] bytes;
        final String source;
        long position;

        Cursor(byte[] bytes, String source) {
            this.bytes = bytes;
            this.source = source;
        }

        long remaining() {
            return bytes.length - position;
        }

        MpoFormatException error(long offset, String message) {
            return new MpoFormatException(source, offset, message);
        }

        private void need(long count, String what) throws MpoFormatException {
            if (count > remaining()) {
                throw error(position, what + " needs " + count + " bytes but " + remaining() + " remain (truncated file)");
            }
        }

        int u8() throws MpoFormatException {
            need(1, "a core count");
            return bytes[(int) position++] & 0xFF;
        }

        int u16() throws MpoFormatException {
            need(2, "a name length");
            int v = (bytes[(int) position] & 0xFF) | (bytes[(int) position + 1] & 0xFF) << 8;
            position += 2;
            return v;
        }

        long u32(String what) throws MpoFormatException {
            need(4, what);
            int p = (int) position;
            long v = (bytes[p] & 0xFFL) | (bytes[p + 1] & 0xFFL) << 8 | (bytes[p + 2] & 0xFFL) << 16
                    | (bytes[p + 3] & 0xFFL) << 24;
            position += 4;
            return v;
        }

        int positiveInt(String what, int max) throws MpoFormatException {
            long at = position;
            long v = u32(what);
            if (v < 1 || v > max) {
                throw error(at, what + " is " + v + "; it must be 1 to " + max);
            }
            return (int) v;
        }

        String utf8(long length, String what) throws MpoFormatException {
            long at = position;
            need(length, what);
            try {
                String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT)
                        .decode(ByteBuffer.wrap(bytes, (int) at, (int) length)).toString();
                position += length;
                return s;
            } catch (CharacterCodingException e) {
                throw error(at, what + " is not valid UTF-8");
            }
        }
    }
}
