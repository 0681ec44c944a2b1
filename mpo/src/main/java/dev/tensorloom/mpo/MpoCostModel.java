package dev.tensorloom.mpo;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntConsumer;

/**
 * Which way one product x [m, I]·W runs: the direct sweep over the cores, or a dense copy of W contracted once
 * and kept. Each path's time is estimated as the larger of its FLOPs over the rate that path computes at and
 * its bytes over the memory bandwidth (the roofline view of REFERENCE.md section 2; the dense path's after a fixed
 * start), plus a fixed cost per kernel call: at small batches the dense product reads all I·J weights for few FLOPs
 * (memory bound), where the direct path reads only the cores but does more arithmetic in several calls; as the batch
 * grows the dense FLOPs win.
 *
 * <p>The machine constants are the model's parameters and {@code toString} shows them. {@link #measure} times
 * them on a backend (a GEMM, a direct product, GEMVs over matrices not in cache and a tiny GEMM, each run until its
 * time settles and the JIT has been quiet for a while: 0.3 to 3 s each); {@link #forBackend} does so once per backend
 * and lets the system properties {@value #DENSE_PROPERTY}, {@value #DIRECT_PROPERTY} (GFLOP/s),
 * {@value #BANDWIDTH_PROPERTY} (GB/s), {@value #CALL_PROPERTY} and {@value #STREAM_PROPERTY} (microseconds) override
 * any of them; {@link #defaults()} are round figures of the right order for a CPU, for tests and for callers who
 * measure nothing; {@link #configured} applies the properties without measuring (to what was measured already,
 * else to the defaults).
 *
 * <p>The direct path's rate depends on the shapes of its steps far more than the GEMM's does (a 1536×384 MPO's steps
 * of a few dozen rows ran at 30-80 GFLOP/s where a 4096×4096 one's ran at 130-160, 2-core Zen 5), so one rate for
 * every MPO misjudged one size or the other. {@link #directRate} measures it on the matrix itself, its cores not in
 * cache, and {@link MpoMatrix#calibrate} puts it into that matrix's model ({@link #withDirectRate}). A rate so
 * measured holds what the direct path's reads cost, which is why that path pays no start of a stream: with it, the
 * direct estimates of a 1536×384 MPO at 10× to 100× came out 110-130 µs where the products ran in 27-106 (2-core Xeon,
 * 2026-12-01).
 *
 * @param denseFlopsPerSecond  the backend's GEMM rate
 * @param directFlopsPerSecond the direct sweep's rate (a chain of smaller products: at most GEMM's)
 * @param bytesPerSecond       memory bandwidth for weights that are not in cache
 * @param secondsPerCall       the fixed cost of one kernel call (dispatch to the threads, a launch)
 * @param secondsToStream      what the dense path's read of weights not in cache takes beyond its bytes over the
 *                             bandwidth: a GEMV of a matrix of a few MB runs well under the bandwidth of a large one
 */
public record MpoCostModel(double denseFlopsPerSecond, double directFlopsPerSecond, double bytesPerSecond,
        double secondsPerCall, double secondsToStream) {

    public static final String DENSE_PROPERTY = "tensorloom.mpo.denseGflops";
    public static final String DIRECT_PROPERTY = "tensorloom.mpo.directGflops";
    public static final String BANDWIDTH_PROPERTY = "tensorloom.mpo.bandwidthGBps";
    public static final String CALL_PROPERTY = "tensorloom.mpo.callMicros";
    public static final String STREAM_PROPERTY = "tensorloom.mpo.streamMicros";

    private static final Map<String, MpoCostModel> MEASURED = new ConcurrentHashMap<>();
    private static final long MIN_NANOS = 300_000_000L;
    private static final long MAX_NANOS = 3_000_000_000L;
    private static final long QUIET_NANOS = 300_000_000L;
    private static final long COLD_BYTES = 256L << 20;
    private static final int MAX_COPIES = 4096;

    public MpoCostModel {
        if (!(denseFlopsPerSecond > 0) || !(directFlopsPerSecond > 0) || !(bytesPerSecond > 0)
                || !(secondsPerCall >= 0) || Double.isInfinite(secondsPerCall)
                || !(secondsToStream >= 0) || Double.isInfinite(secondsToStream)) {
            throw new IllegalArgumentException("cost model rates must be positive (and the fixed costs finite and"
                    + " >= 0), got " + denseFlopsPerSecond + ", " + directFlopsPerSecond + ", " + bytesPerSecond + ", "
                    + secondsPerCall + ", " + secondsToStream);
        }
    }

    /** Rates and a call cost, with no start to a stream. */
    public MpoCostModel(double denseFlopsPerSecond, double directFlopsPerSecond, double bytesPerSecond,
            double secondsPerCall) {
        this(denseFlopsPerSecond, directFlopsPerSecond, bytesPerSecond, secondsPerCall, 0);
    }

    /** Rates with no fixed cost per call. */
    public MpoCostModel(double denseFlopsPerSecond, double directFlopsPerSecond, double bytesPerSecond) {
        this(denseFlopsPerSecond, directFlopsPerSecond, bytesPerSecond, 0);
    }

    /** This model with the direct path's rate measured for one MPO ({@link #directRate}) in place of its own. */
    public MpoCostModel withDirectRate(double flopsPerSecond) {
        return new MpoCostModel(denseFlopsPerSecond, flopsPerSecond, bytesPerSecond, secondsPerCall, secondsToStream);
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
                property(CALL_PROPERTY, 1e-6, secondsPerCall),
                property(STREAM_PROPERTY, 1e-6, secondsToStream));
    }

    /**
     * Times the constants on {@code backend}: the GEMM rate on a 192×512 by 512×512 product; the default direct rate
     * on a 4096×4096 MPO of 4 cores of 8×8 with bonds 32 and one row ({@link #directRate}: two steps of
     * [512, 256]·[256, 256] carry the work); the call cost as the time of a 4×4 GEMM (the best of runs once the time
     * settles, as the GEMM's). The bandwidth and the start of a stream from the median times of GEMVs on weights
     * not in cache ({@link #coldMedian}: 256 MiB of copies, allocated for the timing and freed), a 4096×4096 matrix
     * (64 MiB) and a 384×1536 one (2.25 MiB): the two points of time = start + bytes / bandwidth.
     */
    public static MpoCostModel measure(Backend backend) {
        Kernels kernels = backend.kernels();
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
            double direct = directRate(backend, new Mpo(shape, bonds, cores));

            long largeBytes = 4096L * 4096 * Float.BYTES;
            double large = coldGemv(backend, 4096, 4096);
            long smallBytes = 384L * 1536 * Float.BYTES;
            double small = coldGemv(backend, 384, 1536);
            double bandwidth = large > small ? (largeBytes - smallBytes) / (large - small) : largeBytes / large;
            double stream = Math.max(0, small - smallBytes / bandwidth);

            Tensor tiny = place(backend, arena, random, 4, 4);
            Tensor tinyOut = backend.allocate(arena, 4, 4);
            double call = best(backend, tinyOut, 200, () -> kernels.matmul(tiny, tiny, tinyOut));
            return new MpoCostModel(gemm, Math.min(direct, gemm), bandwidth, call, stream);
        }
    }

    /**
     * The direct product's rate on {@code mpo} for one row, as a model meets it: its cores not in cache, since the
     * products of a layer's other matrices come between two calls. Its FLOPs over the {@linkplain #coldMedian median
     * time} of products that take in turn copies of {@code mpo}, each prepared as an {@link MpoMatrix} prepares it
     * ({@link MpoKernels#prepareDirect}). With the cores in cache the rate came out 1.2-1.6 times what the products ran
     * at among others (a 1536×384 MPO at 20×: 81-87 GFLOP/s best, 68-73 warm median, 51-54 cold median, 2-core Zen 5),
     * and the model picked the direct path where the dense one was as fast.
     */
    public static double directRate(Backend backend, Mpo mpo) {
        MpoKernels kernels = MpoKernels.FAMILY.on(backend);
        try (Arena arena = Arena.ofShared()) {
            PreparedMatrix[] copies = new PreparedMatrix[coldCopies(mpo.bytes())];
            for (int i = 0; i < copies.length; i++) {
                copies[i] = kernels.prepareDirect(copy(backend, arena, mpo));
            }
            Tensor x = place(backend, arena, new Random(2), 1, mpo.rows());
            Tensor y = backend.allocate(arena, 1, mpo.cols());
            return 2.0 * MpoCost.directMultiplyAdds(mpo.shape(), mpo.bonds(), 1)
                    / coldMedian(backend, y, copies.length, i -> copies[i].multiply(x, y));
        }
    }

    /** A copy of {@code mpo} whose cores lie in fresh memory of {@code arena}, on {@code backend}. */
    private static Mpo copy(Backend backend, Arena arena, Mpo mpo) {
        Tensor[] cores = new Tensor[mpo.cores().length];
        for (int k = 0; k < cores.length; k++) {
            Tensor core = backend.toHost(mpo.cores()[k], arena);
            Tensor fresh = Tensor.allocate(arena, core.shape());
            fresh.copyFrom(core);
            cores[k] = backend.toDevice(fresh, arena);
        }
        return new Mpo(mpo.shape(), mpo.bonds(), cores);
    }

    /** The {@linkplain #coldMedian median time} of a GEMV on a [rows, cols] matrix. */
    private static double coldGemv(Backend backend, int rows, int cols) {
        Kernels kernels = backend.kernels();
        try (Arena arena = Arena.ofShared()) {
            Tensor[] w = new Tensor[coldCopies((long) rows * cols * Float.BYTES)];
            for (int i = 0; i < w.length; i++) {
                w[i] = backend.allocate(arena, rows, cols);
            }
            Tensor v = place(backend, arena, new Random(3), cols);
            Tensor u = backend.allocate(arena, rows);
            return coldMedian(backend, u, w.length, i -> kernels.gemv(w[i], v, u));
        }
    }

    /**
     * How many copies of {@code bytes} of weights a cold timing takes in turn: enough to fill {@value #COLD_BYTES}
     * bytes, at least two and at most {@value #MAX_COPIES}. 256 MiB as {@code MpoBenchmark}'s cells rotate: 64 MiB,
     * twice the L3 of a 2-core Zen 5, still ran in cache on a 2-core Xeon (a 384×1536 GEMV in 80 µs from 8 to 72 MiB
     * of copies, 180-200 µs from 256 MiB to 1 GiB, 2026-12-01).
     */
    private static int coldCopies(long bytes) {
        return (int) Math.min(MAX_COPIES, Math.max(2, Math.ceilDiv(COLD_BYTES, bytes)));
    }

    /**
     * The median time of {@code work} on copies 0, 1, ... of some weights taken in turn ({@code copies} of them, so
     * each run reads weights the others have pushed out of cache), once the time settles ({@link #best}).
     */
    private static double coldMedian(Backend backend, Tensor result, int copies, IntConsumer work) {
        int[] next = {0};
        Runnable rotating = () -> {
            work.accept(next[0]);
            next[0] = (next[0] + 1) % copies;
        };
        best(backend, result, 10, rotating);
        return median(backend, result, Math.max(2 * copies, 64), rotating);
    }

    /**
     * The fastest run of {@code work} (waiting for {@code result}), run until the fastest has not improved by 10%
     * for {@code settle} runs, {@value #MIN_NANOS} ns have passed and the JIT has compiled nothing for
     * {@value #QUIET_NANOS} ns, or for {@value #MAX_NANOS} ns at most: at start-up the kernels are still interpreted,
     * and the Vector API's code runs orders of magnitude slower before C2 compiles it. Without the JIT's quiet the
     * first rule alone stopped on plateaus of C1 code: the GEMM rate came out anywhere from 18 to 202 GFLOP/s in the
     * forks of one JMH run (2-core Zen 5, 2026-12-01), and 32 or 338 in three calls of one process; with it, 290-335.
     */
    private static double best(Backend backend, Tensor result, int settle, Runnable work) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean watchJit = jit != null && jit.isCompilationTimeMonitoringSupported();
        double best = Double.MAX_VALUE;
        try (Stopwatch stopwatch = new Stopwatch(backend, result)) {
            long begin = System.nanoTime();
            long jitMillis = watchJit ? jit.getTotalCompilationTime() : 0;
            long jitQuietSince = begin;
            int stale = 0;
            while (true) {
                double seconds = stopwatch.time(work);
                long end = System.nanoTime();
                if (seconds < 0.9 * best) {
                    stale = 0;
                } else {
                    stale++;
                }
                best = Math.min(best, seconds);
                if (watchJit && jit.getTotalCompilationTime() != jitMillis) {
                    jitMillis = jit.getTotalCompilationTime();
                    jitQuietSince = end;
                }
                boolean settled = stale >= settle && end - begin >= MIN_NANOS && end - jitQuietSince >= QUIET_NANOS;
                if (settled || end - begin >= MAX_NANOS) {
                    break;
                }
            }
        }
        return Math.max(best, 1e-9);
    }

    /** The median time of {@code runs} runs of {@code work}, each waiting for {@code result}. */
    private static double median(Backend backend, Tensor result, int runs, Runnable work) {
        double[] seconds = new double[runs];
        try (Stopwatch stopwatch = new Stopwatch(backend, result)) {
            for (int i = 0; i < runs; i++) {
                seconds[i] = stopwatch.time(work);
            }
        }
        Arrays.sort(seconds);
        return Math.max(seconds[runs / 2], 1e-9);
    }

    /**
     * Times one run of some work until its result is ready: the backend may run it asynchronously (a GPU), so each
     * run ends by copying the result's first element to the host.
     */
    private static final class Stopwatch implements AutoCloseable {
        private final Backend backend;
        private final Arena sync = Arena.ofConfined();
        private final Tensor first;

        Stopwatch(Backend backend, Tensor result) {
            this.backend = backend;
            this.first = result.rank() == 1 ? result.slice(0, 0, 1) : result.slice(0, 0, 1).slice(1, 0, 1);
        }

        double time(Runnable work) {
            long start = System.nanoTime();
            work.run();
            backend.toHost(first, sync);
            return (System.nanoTime() - start) * 1e-9;
        }

        @Override
        public void close() {
            sync.close();
        }
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
        double dense = Math.max(denseFlops / denseFlopsPerSecond, secondsToStream + denseBytes / bytesPerSecond)
                + secondsPerCall;
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
        return String.format("MpoCostModel[dense %.1f GFLOP/s, direct %.1f GFLOP/s, %.1f GB/s, %.1f µs per call,"
                + " %.1f µs to start a stream]", denseFlopsPerSecond / 1e9, directFlopsPerSecond / 1e9,
                bytesPerSecond / 1e9, secondsPerCall * 1e6, secondsToStream * 1e6);
    }
}
