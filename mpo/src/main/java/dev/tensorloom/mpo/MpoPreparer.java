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
 * A {@link MatrixPreparer} that decomposes every weight [in, out] into an MPO of {@code cores} cores (the most
 * even factors, {@link MpoShape#of(int, int, int)}) by TT-SVD with one truncation, and hands the model an
 * {@link MpoMatrix}. It keeps each matrix's {@link Decomposition} for reports (parameters, bounds).
 */
public final class MpoPreparer implements MatrixPreparer {

    private final Backend backend;
    private final int cores;
    private final Truncation truncation;
    private final MpoCostModel model;
    private final MpoCostModel.Path forced;
    private final Map<String, Decomposition> decompositions = Collections.synchronizedMap(new LinkedHashMap<>());

    /** {@code forced} is null to let the cost model choose per call. */
    public MpoPreparer(Backend backend, int cores, Truncation truncation, MpoCostModel model, MpoCostModel.Path forced) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.cores = cores;
        this.truncation = Objects.requireNonNull(truncation, "truncation");
        this.model = Objects.requireNonNull(model, "model");
        this.forced = forced;
    }

    @Override
    public PreparedMatrix prepare(String name, Tensor weight, Arena arena) {
        Decomposition d = TtSvd.decompose(weight, MpoShape.of(weight.rows(), weight.cols(), cores), truncation);
        decompositions.put(name, d);
        return MpoMatrix.of(backend, d, model, forced, arena);
    }

    /** Every matrix decomposed so far, by the name the model gave it. */
    public Map<String, Decomposition> decompositions() {
        synchronized (decompositions) {
            return Map.copyOf(decompositions);
        }
    }
}
