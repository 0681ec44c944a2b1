package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.tensorloom.runtime.bert.BertConfig;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The MPO file: a round trip, each documented error by name, and thousands of damaged files that raise nothing else. */
class MpoFileTest {

    private static List<MpoFile.Matrix> matrices() {
        Random random = new Random(61);
        List<MpoFile.Matrix> list = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MpoShape a = new MpoShape(new int[] {2, 3}, new int[] {3, 2});
            list.add(MpoFile.Matrix.of("layers.0.attention.qkv", RandomMpos.mpo(a, new int[] {1, 4, 1}, random, arena)));
            MpoShape b = new MpoShape(new int[] {2, 2, 2}, new int[] {1, 3, 2});
            list.add(MpoFile.Matrix.of("layers.0.intermediate", RandomMpos.mpo(b, new int[] {1, 2, 3, 1}, random, arena)));
            MpoShape c = new MpoShape(new int[] {5}, new int[] {3});
            list.add(MpoFile.Matrix.of("größe", RandomMpos.mpo(c, new int[] {1, 1}, random, arena)));
        }
        return list;
    }

    @Test
    void whatIsWrittenIsRead(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("model.mpo");
        List<MpoFile.Matrix> written = matrices();
        MpoFile.write(file, "source=test; bond cap 4 — ü", written);
        MpoFile.Contents read = MpoFile.read(file);
        assertEquals("source=test; bond cap 4 — ü", read.metadata());
        assertEquals(written.stream().map(MpoFile.Matrix::name).toList(), List.copyOf(read.matrices().keySet()));
        for (MpoFile.Matrix w : written) {
            MpoFile.Matrix r = read.matrices().get(w.name());
            assertEquals(w.shape(), r.shape());
            assertArrayEquals(w.bonds(), r.bonds());
            for (int k = 0; k < w.cores().length; k++) {
                assertArrayEquals(w.cores()[k], r.cores()[k]);
            }
        }
        // 8 magic + 4 + metadata + 1 model byte + 4 count, per matrix 2 + name + 1 + 4·(3n + 1) + 4·cores, then 4 checksum.
        long expected = 8 + 4 + "source=test; bond cap 4 — ü".getBytes(StandardCharsets.UTF_8).length
                + 1 + 4 + 4;
        for (MpoFile.Matrix m : written) {
            int n = m.shape().cores();
            expected += 2 + m.name().getBytes(StandardCharsets.UTF_8).length + 1 + 4L * (3 * n + 1)
                    + 4 * m.shape().parameters(m.bonds());
        }
        assertEquals(expected, Files.size(file));
    }

    @Test
    void eachProblemIsNamedWithItsOffset() {
        byte[] good = MpoFile.toBytes("m", matrices());
        assertProblem(new byte[] {1, 2, 3}, 0, "not an MPO file");
        byte[] version = good.clone();
        version[7] = 3;
        assertProblem(version, 7, "MPO file version 3");
        assertProblem(Arrays.copyOf(good, good.length - 10), -1, "truncated file");
        byte[] longer = Arrays.copyOf(good, good.length + 3);
        assertProblem(longer, good.length, "3 bytes follow the checksum");
        byte[] flipped = good.clone();
        flipped[good.length - 20] ^= 0x01;
        assertProblem(flipped, good.length - 4, "the file is corrupt");
        // A NaN weight, with the checksum made right again so that only the NaN is wrong.
        byte[] nan = good.clone();
        int lastFloat = good.length - 8;
        ByteBuffer.wrap(nan).order(ByteOrder.LITTLE_ENDIAN).putFloat(lastFloat, Float.NaN);
        assertProblem(reseal(nan), lastFloat, "core 0 of größe holds NaN at element 14");
        // Zero cores, a zero factor and an end bond other than 1 (offsets: 8 + 4 + 1 + 1 + 4 + 2 + 22 = 42 is n).
        int n = 8 + 4 + 1 + 1 + 4 + 2 + "layers.0.attention.qkv".length();
        byte[] cores = good.clone();
        cores[n] = 0;
        assertProblem(reseal(cores), n, "has 0 cores; 1 to 64 are allowed");
        byte[] factor = good.clone();
        ByteBuffer.wrap(factor).order(ByteOrder.LITTLE_ENDIAN).putInt(n + 1, 0);
        assertProblem(reseal(factor), n + 1, "row factor 0 of layers.0.attention.qkv is 0");
        byte[] bond = good.clone();
        ByteBuffer.wrap(bond).order(ByteOrder.LITTLE_ENDIAN).putInt(n + 1 + 16 + 8, 2);
        assertProblem(reseal(bond), n + 1, "must be d_0 .. d_2 with d_0 = d_n = 1");
        byte[] huge = good.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putInt(n + 1 + 16 + 4, 1 << 20);
        assertProblem(reseal(huge), -1, "needs");
        List<MpoFile.Matrix> twice = new ArrayList<>(matrices());
        twice.add(twice.getFirst());
        assertProblem(MpoFile.toBytes("m", twice), -1, "matrix name layers.0.attention.qkv appears twice");
    }

    private static final MpoFile.Model MODEL = new MpoFile.Model(
            new BertConfig(30, 8, 2, 2, 16, 12, 2, 1e-12f), "{\"tokenizer\": 1}".getBytes(StandardCharsets.UTF_8));

    @Test
    void aModelsSizesAndTokenizerAreReadBack() throws Exception {
        MpoFile.Contents read = MpoFile.read(MpoFile.toBytes("m", MODEL, matrices()), "t.mpo");
        assertEquals(MODEL.config(), read.model().config());
        assertArrayEquals(MODEL.tokenizerJson(), read.model().tokenizerJson());
        assertEquals(3, read.matrices().size());
        assertEquals(null, MpoFile.read(MpoFile.toBytes("m", matrices()), "t.mpo").model());
    }

    @Test
    void aVersionOneFileWithoutTheModelByteStillReads() throws Exception {
        byte[] two = MpoFile.toBytes("m", matrices());
        int modelByte = 8 + 4 + 1;
        byte[] one = new byte[two.length - 1];
        System.arraycopy(two, 0, one, 0, modelByte);
        System.arraycopy(two, modelByte + 1, one, modelByte, two.length - modelByte - 1);
        one[7] = 1;
        MpoFile.Contents read = MpoFile.read(reseal(one), "v1.mpo");
        assertEquals(null, read.model());
        assertEquals(List.of("layers.0.attention.qkv", "layers.0.intermediate", "größe"),
                List.copyOf(read.matrices().keySet()));
    }

    @Test
    void aBadModelPartIsNamedWithItsOffset() {
        byte[] good = MpoFile.toBytes("m", MODEL, matrices());
        int kind = 8 + 4 + 1;
        byte[] unknown = good.clone();
        unknown[kind] = 2;
        assertProblem(reseal(unknown), kind, "model kind 2; 0 (matrices only) and 1 (an encoder) are known");
        byte[] heads = good.clone();
        ByteBuffer.wrap(heads).order(ByteOrder.LITTLE_ENDIAN).putInt(kind + 1 + 12, 3);
        assertProblem(reseal(heads), kind + 1, "hidden size 8 is not divisible by 3 heads");
        byte[] epsilon = good.clone();
        ByteBuffer.wrap(epsilon).order(ByteOrder.LITTLE_ENDIAN).putFloat(kind + 1 + 28, Float.NaN);
        assertProblem(reseal(epsilon), kind + 1 + 28, "LayerNorm epsilon is NaN");
        byte[] tokenizer = good.clone();
        ByteBuffer.wrap(tokenizer).order(ByteOrder.LITTLE_ENDIAN).putInt(kind + 1 + 32, 1 << 30);
        assertProblem(reseal(tokenizer), kind + 1 + 36, "tokenizer.json needs 1073741824 bytes");
    }

    /**
     * 4000 damaged copies of a valid file (bytes flipped, runs overwritten, cut short, bytes inserted or removed),
     * half of them with the checksum recomputed so the damage reaches the structure checks: each either reads (a
     * resealed change that still makes a valid file) or raises MpoFormatException, never anything else.
     */
    @Test
    void damagedFilesRaiseOnlyTheFormatException() {
        byte[] good = MpoFile.toBytes("fuzz", MODEL, matrices());
        Random random = new Random(62);
        int formatErrors = 0;
        int resealedValid = 0;
        for (int i = 0; i < 4000; i++) {
            byte[] bad = mutate(good, random);
            boolean resealed = i % 2 == 1 && bad.length >= 4;
            if (resealed) {
                bad = reseal(bad);
            }
            try {
                MpoFile.read(bad, "case " + i);
                assertTrue(resealed || Arrays.equals(bad, good), "case " + i + " read without its checksum matching");
                resealedValid++;
            } catch (MpoFormatException expected) {
                formatErrors++;
            } catch (RuntimeException | Error e) {
                fail("case " + i + " raised " + e, e);
            }
        }
        assertTrue(formatErrors > 3000, formatErrors + " format errors, " + resealedValid + " valid");
    }

    private static byte[] mutate(byte[] good, Random random) {
        byte[] b = good.clone();
        switch (random.nextInt(5)) {
            case 0 -> {
                for (int f = 1 + random.nextInt(4); f > 0; f--) {
                    b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
                }
            }
            case 1 -> {
                int at = random.nextInt(b.length);
                for (int k = at; k < Math.min(b.length, at + 1 + random.nextInt(8)); k++) {
                    b[k] = (byte) (random.nextBoolean() ? 0xFF : random.nextInt(256));
                }
            }
            case 2 -> b = Arrays.copyOf(b, random.nextInt(b.length));
            case 3 -> {
                int at = random.nextInt(b.length + 1);
                byte[] longer = new byte[b.length + 1 + random.nextInt(4)];
                System.arraycopy(b, 0, longer, 0, at);
                System.arraycopy(b, at, longer, longer.length - (b.length - at), b.length - at);
                b = longer;
            }
            default -> {
                int at = random.nextInt(b.length);
                int cut = Math.min(b.length - at, 1 + random.nextInt(4));
                byte[] shorter = new byte[b.length - cut];
                System.arraycopy(b, 0, shorter, 0, at);
                System.arraycopy(b, at + cut, shorter, at, b.length - at - cut);
                b = shorter;
            }
        }
        return b;
    }

    /** The bytes with their last four replaced by the CRC-32 of the rest. */
    private static byte[] reseal(byte[] b) {
        byte[] out = b.clone();
        CRC32 crc = new CRC32();
        crc.update(out, 0, out.length - 4);
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(out.length - 4, (int) crc.getValue());
        return out;
    }

    /** Reading fails with MpoFormatException whose message has {@code text} and, unless -1, the given offset. */
    private static void assertProblem(byte[] bytes, long offset, String text) {
        MpoFormatException e = assertThrows(MpoFormatException.class, () -> MpoFile.read(bytes, "t.mpo"));
        assertTrue(e.getMessage().contains(text), e.getMessage());
        assertTrue(e.getMessage().startsWith("t.mpo at byte offset "), e.getMessage());
        if (offset >= 0) {
            assertEquals(offset, e.offset(), e.getMessage());
        }
    }
}
