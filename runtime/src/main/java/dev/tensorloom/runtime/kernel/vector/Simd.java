package dev.tensorloom.runtime.kernel.vector;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The vector shape every kernel of this package uses: the widest the CPU runs natively (16 floats on AVX-512). */
public final class Simd {

    /** The preferred float species. */
    public static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector. */
    public static final int L = S.length();
    /** Tensors hold floats in the platform's order. */
    public static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private Simd() {
    }
}
