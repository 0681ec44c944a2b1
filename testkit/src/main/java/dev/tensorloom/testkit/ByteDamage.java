package dev.tensorloom.testkit;

import java.util.Arrays;
import java.util.Random;

/**
 * Random damage to a file's bytes, for fuzz tests of binary readers: one to three edits of the kinds that real
 * corruption and hostile files bring (a cut, a flipped bit, random or boundary bytes, deleted, inserted or copied
 * runs, and a maximal varint where a length or a tag may be), each written into a log so a failing case says what
 * was done. Deterministic for a given {@link Random}.
 */
public final class ByteDamage {

    private ByteDamage() {
    }

    /** A damaged copy of {@code base} (never {@code base} itself); each edit is appended to {@code log}. */
    public static byte[] damage(byte[] base, Random r, StringBuilder log) {
        byte[] b = base;
        int edits = 1 + r.nextInt(3);
        for (int e = 0; e < edits && b.length > 0; e++) {
            int p = r.nextInt(b.length);
            switch (r.nextInt(8)) {
                case 0 -> {
                    b = Arrays.copyOf(b, p);
                    log.append("cut at ").append(p).append("; ");
                }
                case 1 -> {
                    b = b.clone();
                    b[p] ^= (byte) (1 << r.nextInt(8));
                    log.append("bit flip at ").append(p).append("; ");
                }
                case 2 -> {
                    b = b.clone();
                    int n = 1 + r.nextInt(4);
                    for (int k = 0; k < n && p + k < b.length; k++) {
                        b[p + k] = (byte) r.nextInt(256);
                    }
                    log.append(n).append(" random bytes at ").append(p).append("; ");
                }
                case 3 -> {
                    b = b.clone();
                    byte[] interesting = {0x00, 0x01, 0x7F, (byte) 0x80, (byte) 0xFF};
                    b[p] = interesting[r.nextInt(interesting.length)];
                    log.append("byte ").append(b[p]).append(" at ").append(p).append("; ");
                }
                case 4 -> {
                    int n = Math.min(1 + r.nextInt(16), b.length - p);
                    b = concat(Arrays.copyOf(b, p), Arrays.copyOfRange(b, p + n, b.length));
                    log.append("deleted ").append(n).append(" at ").append(p).append("; ");
                }
                case 5 -> {
                    byte[] insert = new byte[1 + r.nextInt(8)];
                    r.nextBytes(insert);
                    b = concat(Arrays.copyOf(b, p), insert, Arrays.copyOfRange(b, p, b.length));
                    log.append("inserted ").append(insert.length).append(" at ").append(p).append("; ");
                }
                case 6 -> {
                    int from = r.nextInt(b.length);
                    int n = Math.min(1 + r.nextInt(64), b.length - from);
                    b = concat(Arrays.copyOf(b, p), Arrays.copyOfRange(b, from, from + n),
                            Arrays.copyOfRange(b, p, b.length));
                    log.append("copied ").append(n).append(" from ").append(from).append(" to ").append(p).append("; ");
                }
                default -> {
                    // A maximal varint where a length or a tag may be.
                    byte[] huge = {-1, -1, -1, -1, -1, -1, -1, -1, -1, 1};
                    b = concat(Arrays.copyOf(b, p), huge, Arrays.copyOfRange(b, Math.min(b.length, p + 1), b.length));
                    log.append("huge varint at ").append(p).append("; ");
                }
            }
        }
        return b == base ? base.clone() : b;
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
