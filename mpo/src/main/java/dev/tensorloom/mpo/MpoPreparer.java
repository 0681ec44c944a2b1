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
 * {@link MpoMatrix}, optionally with its cores merged into the cheapest contraction order
 * ({@link #groupedFor}). It keeps each matrix's {@link Decomposition} for reports (parameters, bounds).
 */
public final class MpoPreparer implements MatrixPreparer {

    private final Backend backend;
    private final int cores;
    private final Truncation truncation;
    private final MpoCostModel model;
    private final MpoCostModel.Path forced;
    private final int groupingBatch;
    private final double groupingGrowth;
    private final Map<String, Decomposition> decompositions = Collections.synchronizedMap(new LinkedHashMap<>());

    /** {@code forced} is null to let the cost model choose per call. */
    public MpoPreparer(Backend backend, int cores, Truncation truncation, MpoCostModel model, MpoCostModel.Path forced) {
        this(backend, cores, truncation, model, forced, 0, 1);
    }

    private MpoPreparer(Backend backend, int cores, Truncation truncation, MpoCostModel model,
            MpoCostModel.Path forced, int groupingBatch, double groupingGrowth) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.cores = cores;
        this.truncation = Objects.requireNonNull(truncation, "truncation");
        this.model = Objects.requireNonNull(model, "model");
        this.forced = forced;
        this.groupingBatch = groupingBatch;
        this.groupingGrowth = groupingGrowth;
    }

    /**
     * This preparer, but merging each MPO's cores by {@link MpoGrouping#cheapest} for products of {@code batch}
     * rows, letting the cores grow to at most {@code growth} times their parameters.
     */
    public MpoPreparer groupedFor(int batch, double growth) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        }
        return new MpoPreparer(backend, cores, truncation, model, forced, batch, growth);
    }

    @Override
    public PreparedMatrix prepare(String name, Tensor weight, Arena arena) {
        Decomposition d = TtSvd.decompose(weight, MpoShape.of(weight.rows(), weight.cols(), cores), truncation);
        decompositions.put(name, d);
        if (groupingBatch == 0) {
            return MpoMatrix.of(backend, d, model, forced, arena);
        }
        MpoGrouping.Plan plan = MpoGrouping.cheapest(d.shape(), d.bonds(), groupingBatch, groupingGrowth);
        try (Arena original = Arena.ofConfined()) {
            return MpoMatrix.of(backend, MpoGrouping.merge(d.toMpo(original), plan, arena), model, forced, arena);
        }
    }

    /** Every matrix decomposed so far, by the name the model gave it. */
    public Map<String, Decomposition> decompositions() {
        synchronized (decompositions) {
            return Map.copyOf(decompositions);
        }
    }
}
