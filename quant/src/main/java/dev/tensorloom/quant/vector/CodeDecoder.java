package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;

import dev.tensorloom.quant.PackedWeights;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Reads L consecutive codes of one output channel straight from the packed bytes, as float levels u - z.
 * The layout (see {@code GroupFormat}) puts 16 consecutive codes of a bit plane in 16 consecutive bytes at one
 * shift, so a run of L ≤ 16 codes starting at a multiple of L is: load L bytes, widen to int lanes, shift,
 * mask, and OR the planes together.
 */
final class CodeDecoder {

    static final VectorSpecies<Integer> IS = VectorSpecies.of(int.class, VectorShape.forBitSize(L * Integer.SIZE));
    private static final VectorSpecies<Byte> BS =
            VectorSpecies.of(byte.class, VectorShape.forBitSize(Math.max(64, L * Byte.SIZE)));
    /** Bytes loaded past a run's start are within its 16-byte unit: a unit is a whole number of runs. */
    private static final boolean HALF = BS.length() > L;

    static {
        if (L < 4 || L > 16) {
            throw new IllegalStateException("the quant vector kernels need 4 to 16 float lanes, this JVM has " + L);
        }
    }

    private final byte[] codes;
    private final int rowBytes;
    /** The first (low) plane: start in a row, width w, log2 of its unit's 128/w values. */
    private final int start0;
    private final int width0;
    private final int log0;
    /** The second plane (3 bits only: the high bit), or width 0. */
    private final int start1;
    private final int width1;
    private final int log1;
    private final int bit1;

    CodeDecoder(PackedWeights b) {
        this.codes = b.codes();
        this.rowBytes = b.rowBytes();
        this.start0 = b.planeStart(0);
        this.width0 = b.planeWidth(0);
        this.log0 = Integer.numberOfTrailingZeros(128 / width0);
        boolean two = b.planes() > 1;
        this.start1 = two ? b.planeStart(1) : 0;
        this.width1 = two ? b.planeWidth(1) : 0;
        this.log1 = two ? Integer.numberOfTrailingZeros(128 / width1) : 0;
        this.bit1 = width0;
    }

    /** u - z for codes p .. p+L-1 of output channel j (p a multiple of L), as floats. */
    FloatVector levels(int j, int p, int zero) {
        int row = j * rowBytes;
        IntVector u = plane(row + start0, width0, log0, p);
        if (width1 != 0) {
            u = u.or(plane(row + start1, width1, log1, p).lanewise(VectorOperators.LSHL, bit1));
        }
        return (FloatVector) u.sub(zero).convert(VectorOperators.I2F, 0);
    }

    /**
     * A plane's bits of codes p .. p+L-1, its units of 2^log values starting at codes[base]: value r of a unit is
     * in byte r mod 16 at bit w·(r div 16). Shifts and masks only (units hold a power of two of values).
     */
    private IntVector plane(int base, int w, int log, int p) {
        int r = p & ((1 << log) - 1);
        IntVector v = widen(codes, base + (p >>> log << 4) + (r & 15));
        // B2I sign-extends; the mask after the shift keeps only the plane's w bits.
        return v.lanewise(VectorOperators.LSHR, w * (r >>> 4)).and((1 << w) - 1);
    }

    /**
     * Whether a unit-at-a-time walk applies ({@link UnitGemv}, {@code QuantGemm}'s panels): one bit plane (2, 4
     * or 8 bits), and either one group per channel or groups that are whole units of the plane, so each unit's
     * runs share a scale and a zero point.
     */
    static boolean wholeUnits(PackedWeights b) {
        return b.planes() == 1 && (b.groups() == 1 || b.groupSize() % (128 / b.planeWidth(0)) == 0);
    }

    /**
     * L bytes from codes[at] (at a multiple of L within a 16-byte unit) widened to int lanes, sign-extended. With
     * 4 lanes the narrowest byte vector (8 bytes) is loaded and the half that holds the run is widened.
     */
    static IntVector widen(byte[] codes, int at) {
        if (HALF) {
            ByteVector loaded = ByteVector.fromArray(BS, codes, at & ~7);
            return (IntVector) loaded.convertShape(VectorOperators.B2I, IS, (at & 7) >>> 2);
        }
        return (IntVector) ByteVector.fromArray(BS, codes, at).convertShape(VectorOperators.B2I, IS, 0);
    }
}
