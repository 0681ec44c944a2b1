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
 * mask, and OR the planes together. With 4 lanes the narrowest byte vector (8 bytes) is loaded and the half
 * that holds the run is widened.
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
    private final int planes;
    private final int[] planeStart;
    private final int[] planeWidth;
    private final int[] planeBit;

    CodeDecoder(PackedWeights b) {
        this.codes = b.codes();
        this.rowBytes = b.rowBytes();
        this.planes = b.planes();
        this.planeStart = new int[planes];
        this.planeWidth = new int[planes];
        this.planeBit = new int[planes];
        int bit = 0;
        for (int i = 0; i < planes; i++) {
            planeStart[i] = b.planeStart(i);
            planeWidth[i] = b.planeWidth(i);
            planeBit[i] = bit;
            bit += planeWidth[i];
        }
    }

    /** u - z for codes p .. p+L-1 of output channel j (p a multiple of L), as floats. */
    FloatVector levels(int j, int p, int zero) {
        IntVector u = bytes(j, 0, p);
        if (planes > 1) {
            u = u.or(bytes(j, 1, p).lanewise(VectorOperators.LSHL, planeBit[1]));
        }
        return (FloatVector) u.sub(zero).convert(VectorOperators.I2F, 0);
    }

    /** Plane i's bits of codes p .. p+L-1 of channel j, in int lanes. */
    private IntVector bytes(int j, int plane, int p) {
        int w = planeWidth[plane];
        int unitValues = 128 / w;
        int r = p % unitValues;
        int at = j * rowBytes + planeStart[plane] + p / unitValues * 16 + (r & 15);
        IntVector v;
        if (HALF) {
            ByteVector loaded = ByteVector.fromArray(BS, codes, at & ~7);
            v = (IntVector) loaded.convertShape(VectorOperators.B2I, IS, (at & 7) >>> 2);
        } else {
            v = (IntVector) ByteVector.fromArray(BS, codes, at).convertShape(VectorOperators.B2I, IS, 0);
        }
        // B2I sign-extends; the mask after the shift keeps only the plane's w bits.
        return v.lanewise(VectorOperators.LSHR, w * (r >>> 4)).and((1 << w) - 1);
    }
}
