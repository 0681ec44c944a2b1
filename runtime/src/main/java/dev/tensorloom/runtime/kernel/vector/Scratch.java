package dev.tensorloom.runtime.kernel.vector;

/**
 * A thread's reusable arrays for this package's kernels, each grown when a task needs more and kept for the
 * thread's life, instead of arrays allocated (and zeroed by the JVM) per task: the GEMM's copied rows of a and the
 * attention's keys, values and queries came to 6.5 MB per forward pass of the encoder at batch 1 × ~100 tokens, 84%
 * of what it allocated. A task takes a slot while it runs and calls nothing that takes the same slot; what it reads
 * from one it has written first, since the array still holds the last task's floats.
 */
final class Scratch {

    /** Who uses which array. */
    enum Slot {
        /** {@link VectorGemm}'s rows of a for one row block. */
        GEMM_ROWS,
        /** {@link VectorGemm}'s block of a shared by the tasks of its L3 loop, on the calling thread. */
        GEMM_BLOCK,
        /** {@link VectorGemm}'s block of b packed by one task of its L3 loop. */
        GEMM_PANELS,
        /** The micro-kernel's tile of c on its way out, and the second one of {@link GemmMicroKernel#packedWide}. */
        GEMM_TILE,
        GEMM_NEXT_TILE,
        /** {@link VectorAttention}'s key rows, value rows, transposed queries and transposed outputs. */
        ATTENTION_KEYS,
        ATTENTION_VALUES,
        ATTENTION_QUERIES,
        ATTENTION_OUTPUTS
    }

    private static final ThreadLocal<Scratch> OWN = ThreadLocal.withInitial(Scratch::new);

    private final float[][] floats = new float[Slot.values().length][0];
    private int[] ints = new int[0];

    private Scratch() {
    }

    /** This thread's array for {@code slot}, at least {@code length} floats long. */
    static float[] floats(Slot slot, int length) {
        float[][] arrays = OWN.get().floats;
        int i = slot.ordinal();
        if (arrays[i].length < length) {
            arrays[i] = new float[length];
        }
        return arrays[i];
    }

    /** This thread's one int array (the attention's real keys), at least {@code length} long. */
    static int[] ints(int length) {
        Scratch own = OWN.get();
        if (own.ints.length < length) {
            own.ints = new int[length];
        }
        return own.ints;
    }
}
