package dev.tensorloom.mpo;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Objects;

/**
 * A weight matrix b [I, J] held as MPO cores, multiplying itself: each call asks the {@link MpoCostModel} (or
 * follows a forced path) whether to sweep the cores directly or to multiply by the dense W, which it contracts
 * the first time it is needed and keeps in the backend's prepared form (packed panels on the vector backend),
 * so the dense path runs at the backend's GEMM speed; the direct path is likewise prepared once
 * ({@link MpoKernels#prepareDirect}). A transformer layer takes it like any other
 * {@link PreparedMatrix}.
 */
public final class MpoMatrix implements PreparedMatrix {

    private final Backend backend;
    private final MpoKernels kernels;
    private final Mpo mpo;
    private volatile MpoCostModel model;
    private final MpoCostModel.Path forced;
    private volatile DenseCache dense;
    private volatile PreparedMatrix direct;

    /**
     * The dense W as the backend prepared it, and W itself (in an automatic arena) only while the prepared form
     * reads it: dropping the cache (or this matrix) lets the garbage collector free both, host or device memory
     * alike.
     */
    private record DenseCache(PreparedMatrix w, Tensor source) {
    }

    /**
     * {@code mpo}'s cores must live where {@code backend} computes. {@code forced} is null to let the model
     * choose per call.
     */
    public MpoMatrix(Backend backend, Mpo mpo, MpoCostModel model, MpoCostModel.Path forced) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.kernels = MpoKernels.FAMILY.on(backend);
        this.mpo = Objects.requireNonNull(mpo, "mpo");
        this.model = Objects.requireNonNull(model, "model");
        this.forced = forced;
    }

    /** The cores of a decomposition moved to where {@code backend} computes (into {@code arena}). */
    public static MpoMatrix of(Backend backend, Decomposition decomposition, MpoCostModel model,
            MpoCostModel.Path forced, Arena arena) {
        return of(backend, decomposition.toMpo(arena), model, forced, arena);
    }

    /** Host cores moved to where {@code backend} computes (into {@code arena}). */
    public static MpoMatrix of(Backend backend, Mpo host, MpoCostModel model, MpoCostModel.Path forced, Arena arena) {
        Tensor[] cores = host.cores();
        for (int k = 0; k < cores.length; k++) {
            cores[k] = backend.toDevice(cores[k], arena);
        }
        return new MpoMatrix(backend, new Mpo(host.shape(), host.bonds(), cores), model, forced);
    }

    public Mpo mpo() {
        return mpo;
    }

    /** What a product of m rows would do: the model's estimate, with the forced path in place of its pick. */
    public MpoCostModel.Choice choice(int m) {
        MpoCostModel.Choice c = model.choose(mpo, m);
        return forced == null ? c : new MpoCostModel.Choice(forced, m, c.directFlops(), c.directBytes(),
                c.directSeconds(), c.denseFlops(), c.denseBytes(), c.denseSeconds());
    }

    /**
     * Measures this matrix's own direct product ({@link MpoCostModel#directRate}: a fraction of a second to a few
     * seconds, the product run over copies of the cores that fill up to 256 MiB, freed after, until its time settles)
     * and from then on weighs the paths with that rate in place of the model's: the rate of one MPO's steps says
     * little about another's. Returns the model now used.
     */
    public MpoCostModel calibrate() {
        MpoCostModel calibrated = model.withDirectRate(MpoCostModel.directRate(backend, mpo));
        model = calibrated;
        return calibrated;
    }

    /**
     * Drops the dense W, if one was kept, and the prepared direct product: to be called after the cores' values
     * change (a training step on the auxiliary tensors), so the next product reads them afresh.
     */
    public synchronized void coresChanged() {
        dense = null;
        direct = null;
    }

    /** Whether the dense W has been contracted and kept. */
    public boolean hasDenseCache() {
        return dense != null;
    }

    @Override
    public int rows() {
        return mpo.rows();
    }

    @Override
    public int cols() {
        return mpo.cols();
    }

    @Override
    public void multiply(Tensor a, Tensor c) {
        Shapes.matmul(a, this, c);
        if (choice(a.rows()).path() == MpoCostModel.Path.DIRECT) {
            direct().multiply(a, c);
        } else {
            dense().multiply(a, c);
        }
    }

    private PreparedMatrix direct() {
        PreparedMatrix d = direct;
        if (d == null) {
            synchronized (this) {
                d = direct;
                if (d == null) {
                    d = kernels.prepareDirect(mpo);
                    direct = d;
                }
            }
        }
        return d;
    }

    private PreparedMatrix dense() {
        DenseCache cache = dense;
        if (cache == null) {
            synchronized (this) {
                cache = dense;
                if (cache == null) {
                    Tensor w = backend.allocate(Arena.ofAuto(), mpo.rows(), mpo.cols());
                    kernels.contractToDense(mpo, w);
                    PreparedMatrix prepared = backend.kernels().prepare(w);
                    cache = new DenseCache(prepared, prepared.readsSource() ? w : null);
                    dense = cache;
                }
            }
        }
        return cache.w();
    }

    /**
     * The cores' bytes, plus those of the prepared direct product's own copies and of the dense W's prepared form,
     * once they are kept (a form that reads W counts W).
     */
    @Override
    public long bytes() {
        DenseCache cache = dense;
        PreparedMatrix d = direct;
        return mpo.bytes() + (d == null || d.readsSource() ? 0 : d.bytes()) + (cache == null ? 0 : cache.w().bytes());
    }

    /** The cores (and the dense matrix cached from them) are this matrix's own; its source is not read. */
    @Override
    public boolean readsSource() {
        return false;
    }

    @Override
    public String toString() {
        return "MpoMatrix[" + mpo + (forced == null ? "" : ", forced " + forced) + "]";
    }
}
