package dev.tensorloom.mpo;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * OPF (REFERENCE.md section 2): a matrix expanded into a deep, untruncated MPO (many cores, far more parameters than
 * the matrix, for fine-tuning), and merged back into one dense matrix afterwards, so that inference costs what the
 * original model costs: the merged matrix is the backend's own dense {@link PreparedMatrix} of the same shape.
 *
 * <p>The factorization is {@link MpoShape#deep}: each dimension's prime factors, the rows' from the first core on
 * and the columns' from the last core back. BERT-base's 768 × 768 and 768 × 3072 go into 15 cores that way
 * (18 and 20 prime factors); MiniLM's 384 × 384 (16) as well.
 */
public final class Overparameterization {

    private Overparameterization() {
    }

    /** w [rows, cols] (row-major) as an exact MPO of {@code cores} cores in the {@link MpoShape#deep} shape. */
    public static Decomposition expand(float[] w, int rows, int cols, int cores) {
        return TtSvd.decompose(w, MpoShape.deep(rows, cols, cores), Truncation.none());
    }

    /** A host matrix as an exact deep MPO. */
    public static Decomposition expand(Tensor w, int cores) {
        if (w.rank() != 2) {
            throw new IllegalArgumentException("over-parameterization needs a matrix, got " + w);
        }
        return expand(w.toArray(), w.rows(), w.cols(), cores);
    }

    /**
     * The MPO contracted back into one dense matrix on {@code backend} (its cores live where the backend computes)
     * and prepared by the backend's dense kernels: from here on the MPO plays no part in inference.
     */
    public static PreparedMatrix merge(Backend backend, Mpo mpo, Arena arena) {
        Tensor w = backend.allocate(arena, mpo.rows(), mpo.cols());
        MpoKernels.FAMILY.on(backend).contractToDense(mpo, w);
        return backend.kernels().prepare(w);
    }

    /**
     * A preparer that expands every weight into a deep MPO of {@code cores} cores and merges it straight back: the
     * round trip a model makes around OPF fine-tuning, without the training in between. Each matrix's expansion is
     * kept for reports.
     */
    public static RoundTrip roundTrip(Backend backend, int cores) {
        return new RoundTrip(backend, cores);
    }

    /** See {@link #roundTrip}. */
    public static final class RoundTrip implements MatrixPreparer {

        private final Backend backend;
        private final int cores;
        private final Map<String, Decomposition> expansions = Collections.synchronizedMap(new LinkedHashMap<>());

        private RoundTrip(Backend backend, int cores) {
            this.backend = Objects.requireNonNull(backend, "backend");
            this.cores = cores;
        }

        @Override
        public PreparedMatrix prepare(String name, Tensor weight, Arena arena) {
            Decomposition d = expand(weight, cores);
            expansions.put(name, d);
            // The deep cores live only until they are merged.
            try (Arena deep = Arena.ofConfined()) {
                Mpo host = d.toMpo(deep);
                Tensor[] placed = host.cores();
                for (int k = 0; k < placed.length; k++) {
                    placed[k] = backend.toDevice(placed[k], deep);
                }
                return merge(backend, new Mpo(host.shape(), host.bonds(), placed), arena);
            }
        }

        /** Every matrix expanded so far, by name. */
        public Map<String, Decomposition> expansions() {
            synchronized (expansions) {
                return Map.copyOf(expansions);
            }
        }
    }
}
