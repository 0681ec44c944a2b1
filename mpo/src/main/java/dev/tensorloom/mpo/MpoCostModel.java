package dev.tensorloom.mpo;

import java.util.List;

/**
 * Which way one product x [m, I]·W runs: the direct sweep over the cores, or a dense copy of W contracted once
 * and kept. Each path's time is estimated as the larger of its FLOPs over the rate that path computes at and
 * its bytes over the memory bandwidth, the roofline view of REFERENCE.md section 2: at small batches the dense
 * product reads all I·J weights for few FLOPs (memory bound), where the direct path reads only the cores but
 * does more arithmetic; as the batch grows the dense FLOPs win.
 *
 * <p>The rates are the model's parameters: {@link #defaults()} are round figures of the right order for a CPU
 * (one thread of the 2-core AVX2 build machine, warm caches, 1536×384: the packed GEMM ran at 15 GFLOP/s for one
 * row and 75 for sixteen, the direct sweep at 17 to 50 depending on the bonds); a caller who has measured its
 * machine gives its own. No bench calibrates them yet.
 *
 * @param denseFlopsPerSecond  the backend's GEMM rate
 * @param directFlopsPerSecond the direct sweep's rate (a chain of small products: lower than GEMM's)
 * @param bytesPerSecond       memory bandwidth for weights that are not in cache
 */
public record MpoCostModel(double denseFlopsPerSecond, double directFlopsPerSecond, double bytesPerSecond) {

    public MpoCostModel {
        if (!(denseFlopsPerSecond > 0) || !(directFlopsPerSecond > 0) || !(bytesPerSecond > 0)) {
            throw new IllegalArgumentException("cost model rates must be positive, got " + denseFlopsPerSecond + ", "
                    + directFlopsPerSecond + ", " + bytesPerSecond);
        }
    }

    /** 50 GFLOP/s GEMM, 12.5 GFLOP/s direct, 10 GB/s: placeholders of the right order until calibrated. */
    public static MpoCostModel defaults() {
        return new MpoCostModel(50e9, 12.5e9, 10e9);
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
        long directFlops = 2 * MpoCost.directMultiplyAdds(shape, d, m);
        long io = (long) Float.BYTES * m * (shape.rows() + shape.cols());
        long directBytes = mpo.bytes() + io + stateBytes(mpo, m);
        long denseFlops = 2 * MpoCost.denseMultiplyAdds(shape, m);
        long denseBytes = (long) Float.BYTES * shape.rows() * shape.cols() + io;
        double direct = Math.max(directFlops / directFlopsPerSecond, directBytes / bytesPerSecond);
        double dense = Math.max(denseFlops / denseFlopsPerSecond, denseBytes / bytesPerSecond);
        return new Choice(direct <= dense ? Path.DIRECT : Path.DENSE, m, directFlops, directBytes, direct,
                denseFlops, denseBytes, dense);
    }

    /** The sweep's intermediate states, each written once and read once. */
    private static long stateBytes(Mpo mpo, int m) {
        List<MpoSweep.Step> steps = MpoSweep.of(mpo, m);
        long bytes = 0;
        for (MpoSweep.Step step : steps.subList(0, steps.size() - 1)) {
            bytes += 2L * Float.BYTES * step.outputSize();
        }
        return bytes;
    }
}
