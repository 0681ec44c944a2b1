package dev.tensorloom.runtime.kernel;

import dev.tensorloom.runtime.tensor.Tensor;
import java.util.function.IntConsumer;

/**
 * Where one kernel call runs its pieces: spread over a {@link Parallelism} pool, or inline on the calling
 * thread. Whether a call is worth spreading is decided here and nowhere else, once per call, from the size of
 * its work and whether its memory may be touched by the pool's threads; kernels only cut their work into
 * {@link #threads()}-sized pieces. Any family's multithreaded implementation uses it the same way.
 */
public final class Tasks {

    /** Elements below which a row-wise or elementwise kernel stays on the calling thread. */
    static final long PARALLEL_MIN_ELEMENTS = 1 << 15;
    /** Multiply-adds below which a product is not worth handing to other threads. */
    static final long PARALLEL_MIN_MULTIPLY_ADDS = 1L << 20;
    /**
     * Ranges per thread in {@link #forEachRange}. Threads take ranges as they come, so the last range bounds how
     * long one thread waits for the others; when that wait outlasts the pool's spin the worker parks, wakes late
     * for the next call and is left fewer ranges again. The 3-bit GEMV's worker (4096², 2 threads) parked about
     * 4,000 times in a JMH fork at 2 ranges per thread, 385 and 2,570 in two forks at 4, 257-689 at 8. But 8 cost
     * the Q4_K and Q6_K GEMVs 10-17% (reasons not found), so 4 it is: one run of each at 2 / 4 / 8, µs per product,
     * int4-g128 403 / 362 / 367, int3-g128 1,077 / 1,013 / 954, Q4_0 499 / 485 / 487, Q8_0 483 / 478 / 502, Q4_K
     * 723 / 727 / 795, Q6_K 983 / 959 / 1,146 (2-core Zen 5, 2026-12-01).
     */
    static final int RANGES_PER_THREAD = 4;

    /** A thread that owns no arena: a segment it may access is one that pool threads may access too. */
    private static final Thread STRANGER = new Thread(() -> { });

    private final Parallelism pool;
    private final boolean parallel;

    private Tasks(Parallelism pool, boolean parallel) {
        this.pool = pool;
        this.parallel = parallel;
    }

    /** Tasks for a kernel that touches {@code elements} elements once or a few times each. */
    public static Tasks forElements(Parallelism pool, long elements, Tensor... operands) {
        return decide(pool, elements >= PARALLEL_MIN_ELEMENTS, operands);
    }

    /** Tasks for a product of {@code multiplyAdds} multiply-adds. */
    public static Tasks forMultiplyAdds(Parallelism pool, long multiplyAdds, Tensor... operands) {
        return decide(pool, multiplyAdds >= PARALLEL_MIN_MULTIPLY_ADDS, operands);
    }

    private static Tasks decide(Parallelism pool, boolean largeEnough, Tensor... operands) {
        return new Tasks(pool, pool.threads() > 1 && largeEnough && shareable(operands));
    }

    /**
     * A memory segment of a confined arena may only be touched by its owner thread, so a call with such an
     * operand runs entirely on the calling thread.
     */
    private static boolean shareable(Tensor... operands) {
        for (Tensor t : operands) {
            if (!t.segment().isAccessibleBy(STRANGER)) {
                return false;
            }
        }
        return true;
    }

    /** The pool this call's work would be spread over (a prepared matrix keeps it for later calls). */
    public Parallelism pool() {
        return pool;
    }

    /** True when this call's work is spread over the pool. */
    public boolean parallel() {
        return parallel;
    }

    /** Threads the work may be cut for: 1 when this call runs inline. */
    public int threads() {
        return parallel ? pool.threads() : 1;
    }

    /** body(i) for every i in [0, count). */
    public void forEach(int count, IntConsumer body) {
        if (parallel && count > 1) {
            pool.forEach(count, body);
        } else {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
        }
    }

    /** body(i) for every row i in [0, rows), in contiguous ranges (see {@link #forEachRange}). */
    public void forEachRow(int rows, IntConsumer body) {
        forEachRange(rows, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                body.accept(i);
            }
        });
    }

    /**
     * body(from, to) over contiguous ranges that cover [0, count), each starting at a multiple of {@code align}
     * (a kernel that takes four rows a step passes 4), about {@link #RANGES_PER_THREAD} ranges per thread; one
     * range, run inline, when this call is not spread.
     */
    public void forEachRange(int count, int align, Range body) {
        if (count <= 0) {
            return;
        }
        int units = Math.ceilDiv(count, align);
        int ranges = Math.min(units, RANGES_PER_THREAD * threads());
        if (!parallel || ranges <= 1) {
            body.run(0, count);
            return;
        }
        int perRange = Math.ceilDiv(units, ranges) * align;
        pool.forEach(Math.ceilDiv(count, perRange), r -> {
            int from = r * perRange;
            body.run(from, Math.min(count, from + perRange));
        });
    }

    /** One contiguous range [from, to) of a loop's indices. */
    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }
}
