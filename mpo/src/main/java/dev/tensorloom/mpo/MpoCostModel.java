package dev.tensorloom.mpo;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which way one product x [m, I]·W runs: the direct sweep over the cores, or a dense copy of W contracted once
 * and kept. Each path's time is estimated as the larger of its FLOPs over the rate that path computes at and
 * its bytes over the memory bandwidth (the roofline view of REFERENCE.md section 2), plus a fixed cost per kernel
 * call: at small batches the dense product reads all I·J weights for few FLOPs (memory bound), where the direct
 * path reads only the cores but does more arithmetic in several calls; as the batch grows the dense FLOPs win.
 *
 * <p>The machine constants are the model's parameters and {@code toString} shows them. {@link #measure} times
 * them on a backend (a GEMM, a direct product, a GEMV over a matrix larger than the caches and a tiny GEMM, each run
 * until its time settles: 0.3 to 3 s each); {@link #forBackend} does so once per backend and lets the system properties
 * {@value #DENSE_PROPERTY}, {@value #DIRECT_PROPERTY} (GFLOP/s), {@value #BANDWIDTH_PROPERTY} (GB/s) and
 * {@value #CALL_PROPERTY} (microseconds) override any of them; {@link #defaults()} are round figures of the
 * right order for a CPU, for tests and for callers who measure nothing; {@link #configured} applies the properties
 * without measuring (to what was measured already, else to the defaults).
 *
 * @param denseFlopsPerSecond  the backend's GEMM rate
 * @param directFlopsPerSecond the direct sweep's rate (a chain of smaller products: at most GEMM's)
 * @param bytesPerSecond       memory bandwidth for weights that are not in cache
 * @param secondsPerCall       the fixed cost of one kernel call (dispatch to the threads, a launch)
 */
public record MpoCostModel(double denseFlopsPerSecond, double directFlopsPerSecond, double bytesPerSecond,
        double secondsPerCall) {

    public static final String DENSE_PROPERTY = "tensorloom.mpo.denseGflops";
    public static final String DIRECT_PROPERTY = "tensorloom.mpo.directGflops";
    public static final String BANDWIDTH_PROPERTY = "tensorloom.mpo.bandwidthGBps";
    public static final String CALL_PROPERTY = "tensorloom.mpo.callMicros";

    private static final Map<String, MpoCostModel> MEASURED = new ConcurrentHashMap<>();
    private static final long MIN_NANOS = 300_000_000L;
    private static final long MAX_NANOS = 3_000_000_000L;

    public MpoCostModel {
        if (!(denseFlopsPerSecond > 0) || !(directFlopsPerSecond > 0) || !(bytesPerSecond > 0)
                || !(secondsPerCall >= 0) || Double.isInfinite(secondsPerCall)) {
            throw new IllegalArgumentException("cost model rates must be positive (and the call cost finite and >= 0),"
                    + " got " + denseFlopsPerSecond + ", " + directFlopsPerSecond + ", " + bytesPerSecond + ", "
                    + secondsPerCall);
        }
    }

    /** Rates with no fixed cost per call. */
    public MpoCostModel(double denseFlopsPerSecond, double directFlopsPerSecond, double bytesPerSecond) {
        this(denseFlopsPerSecond, directFlopsPerSecond, bytesPerSecond, 0);
    }

    /** 50 GFLOP/s GEMM, 12.5 GFLOP/s direct, 10 GB/s, no call cost: placeholders of the right order. */
    public static MpoCostModel defaults() {
        return new MpoCostModel(50e9, 12.5e9, 10e9);
    }

    /**
     * The model for {@code backend}: measured the first time it is asked for (per backend name and thread count,
     * see {@link #measure}), with each constant replaced by its system property when that is set.
     */
    public static MpoCostModel forBackend(Backend backend) {
        return MEASURED.computeIfAbsent(backend.toString(), name -> measure(backend)).withProperties();
    }

    /**
     * The model for {@code backend} without measuring anything (measuring takes seconds): the constants
     * {@link #forBackend} measured for it earlier in this process if it has, else {@link #defaults()}, with each
     * constant whose system property is set replaced by the property's value. What a loaded model's projections
     * choose their path by ({@link MpoModel#embedder}), so that loading stays quick and the properties still reach it.
     */
    public static MpoCostModel configured(Backend backend) {
        return MEASURED.getOrDefault(backend.toString(), defaults()).withProperties();
    }

    /** This model with each constant whose system property is set replaced by the property's value. */
    public MpoCostModel withProperties() {
        return new MpoCostModel(property(DENSE_PROPERTY, 1e9, denseFlopsPerSecond),
                property(DIRECT_PROPERTY, 1e9, directFlopsPerSecond),
                property(BANDWIDTH_PROPERTY, 1e9, bytesPerSecond),
                property(CALL_PROPERTY, 1e-6, secondsPerCall));
    }

    /**
     * Times the constants on {@code backend}, best of several runs each: the GEMM rate on a 192×512 by 512×512
     * product; the direct rate on a 4096×4096 MPO of 4 cores of 8×8 with bonds 32 and one row, prepared once as an
     * {@link MpoMatrix} prepares it (two steps of [512, 256]·[256, 256] carry the work; a 1024×1024 one, whose steps
     * are a few microseconds, measured a tenth of the rate the curve's MPOs run at); the bandwidth as the bytes of a
     * 4096×4096 GEMV over the time it takes on a matrix not in cache (64 MiB, two of them alternating); the call cost
     * as the time of a 4×4 GEMM.
     */
    public static MpoCostModel measure(Backend backend) {
        Kernels kernels = backend.kernels();
        MpoKernels mpoKernels = MpoKernels.FAMILY.on(backend);
        Random random = new Random(1);
        try (Arena arena = Arena.ofShared()) {
            Tensor a = place(backend, arena, random, 192, 512);
            Tensor b = place(backend, arena, random, 512, 512);
            Tensor c = backend.allocate(arena, 192, 512);
            double gemm = 2.0 * 192 * 512 * 512 / best(backend, c, 10, () -> kernels.matmul(a, b, c));

            MpoShape shape = MpoShape.of(4096, 4096, 4);
            int[] bonds = shape.cappedBonds(32);
            Tensor[] cores = new Tensor[shape.cores()];
            for (int k = 0; k < cores.length; k++) {
                cores[k] = place(backend, arena, random, bonds[k], shape.rowFactor(k), shape.colFactor(k), bonds[k + 1]);
            }
            // Prepared once, as an MpoMatrix runs its direct products.
            PreparedMatrix mpo = mpoKernels.prepareDirect(new Mpo(shape, bonds, cores));
            Tensor x = place(backend, arena, random, 1, 4096);
            Tensor y = backend.allocate(arena, 1, 4096);
            double direct = 2.0 * MpoCost.directMultiplyAdds(shape, bonds, 1)
                    / best(backend, y, 20, () -> mpo.multiply(x, y));

            int n = 4096;
            Tensor[] w = {backend.allocate(arena, n, n), backend.allocate(arena, n, n)};
            Tensor v = place(backend, arena, random, n);
            Tensor u = backend.allocate(arena, n);
            int[] next = {0};
            double bandwidth = (double) n * n * Float.BYTES / best(backend, u, 10, () -> {
                kernels.gemv(w[next[0]], v, u);
                next[0] ^= 1;
            });

            Tensor small = place(backend, arena, random, 4, 4);
            Tensor smallOut = backend.allocate(arena, 4, 4);
            double call = best(backend, smallOut, 200, () -> kernels.matmul(small, small, smallOut));
            return new MpoCostModel(gemm, Math.min(direct, gemm), bandwidth, call);
        }
    }

    /**
     * The fastest run of {@code work} (waiting for {@code result}), run until the fastest has not improved by 10%
     * for {@code settle} runs and {@value #MIN_NANOS} ns have passed, or for {@value #MAX_NANOS} ns at most: at
     * start-up the kernels are still interpreted, and the Vector API's code runs orders of magnitude slower before
     * the JIT compiles it.
     */
    private static double best(Backend backend, Tensor result, int settle, Runnable work) {
        double best = Double.MAX_VALUE;
        try (Arena sync = Arena.ofConfined()) {
            Tensor last = result.rank() == 1 ? result.slice(0, 0, 1) : result.slice(0, 0, 1).slice(1, 0, 1);
            long begin = System.nanoTime();
            int stale = 0;
            while (true) {
                long start = System.nanoTime();
                work.run();
                backend.toHost(last, sync);
                long end = System.nanoTime();
                double seconds = (end - start) * 1e-9;
                if (seconds < 0.9 * best) {
                    stale = 0;
                } else {
                    stale++;
                }
                best = Math.min(best, seconds);
                if (stale >= settle && end - begin >= MIN_NANOS || end - begin >= MAX_NANOS) {
                    break;
                }
            }
        }
        return Math.max(best, 1e-9);
    }

    private static Tensor place(Backend backend, Arena arena, Random random, long... shape) {
        long size = 1;
        for (long s : shape) {
            size *= s;
        }
        float[] values = new float[Math.toIntExact(size)];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat() - 0.5f;
        }
        return backend.toDevice(Tensor.of(arena, values, shape), arena);
    }

    private static double property(String name, double unit, double measured) {
        String value = System.getProperty(name);
        if (value == null) {
            return measured;
        }
        try {
            return Double.parseDouble(value) * unit;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + name + "=" + value + " is not a number", e);
        }
    }

    /** The two ways of multiplying. */
    public enum Path {
        /** Core by core, W never formed. */
        DIRECT,
        /** With the dense W, contracted once and cached. */
        DENSE
    }

    /** The estimate for one call, and the path it picks. */
    public record Choice(Path path, int batch, long directFlops, long directBytes, double directSeconds,
            long denseFlops, long denseBytes, double denseSeconds) {
    }

    /** The estimate for multiplying m rows by {@code mpo}'s matrix. */
    public Choice choose(Mpo mpo, int m) {
        MpoShape shape = mpo.shape();
        int[] d = mpo.bonds();
        List<MpoSweep.Step> steps = MpoSweep.of(mpo, m);
        long directFlops = 0;
        for (MpoSweep.Step step : steps) {
            directFlops += 2 * step.multiplyAdds();
        }
        long io = (long) Float.BYTES * m * (shape.rows() + shape.cols());
        long directBytes = mpo.bytes() + io + stateBytes(steps);
        long denseFlops = 2 * MpoCost.denseMultiplyAdds(shape, m);
        long denseBytes = (long) Float.BYTES * shape.rows() * shape.cols() + io;
        double direct = Math.max(directFlops / directFlopsPerSecond, directBytes / bytesPerSecond)
                + steps.size() * secondsPerCall;
        double dense = Math.max(denseFlops / denseFlopsPerSecond, denseBytes / bytesPerSecond) + secondsPerCall;
        return new Choice(direct <= dense ? Path.DIRECT : Path.DENSE, m, directFlops, directBytes, direct,
                denseFlops, denseBytes, dense);
    }

    /**
     * The smallest batch, up to {@code limit}, for which this model picks the dense path for {@code mpo}; 1 when
     * it never goes direct, and {@code limit + 1} when it stays direct up to the limit.
     */
    public int crossoverBatch(Mpo mpo, int limit) {
        for (int m = 1; m <= limit; m++) {
            if (choose(mpo, m).path() == Path.DENSE) {
                return m;
            }
        }
        return limit + 1;
    }

    /** The sweep's intermediate states, each written once and read once. */
    private static long stateBytes(List<MpoSweep.Step> steps) {
        long bytes = 0;
        for (MpoSweep.Step step : steps.subList(0, steps.size() - 1)) {
            bytes += 2L * Float.BYTES * step.outputSize();
        }
        return bytes;
    }

    @Override
    public String toString() {
        return String.format("MpoCostModel[dense %.1f GFLOP/s, direct %.1f GFLOP/s, %.1f GB/s, %.1f µs per call]",
                denseFlopsPerSecond / 1e9, directFlopsPerSecond / 1e9, bytesPerSecond / 1e9, secondsPerCall * 1e6);
    }
}
