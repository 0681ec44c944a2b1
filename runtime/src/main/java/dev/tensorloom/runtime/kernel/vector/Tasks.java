package dev.tensorloom.runtime.kernel.vector;

import dev.tensorloom.runtime.kernel.Parallelism;
import java.util.function.IntConsumer;

/**
 * Where one kernel call runs its pieces: spread over the pool, or inline on the calling thread when the call
 * is too small to pay for the hand-off or its memory may only be touched by the calling thread.
 */
record Tasks(Parallelism pool, boolean parallel) {

    /** Elements of work below which a row-wise kernel stays on the calling thread. */
    static final long PARALLEL_MIN_ELEMENTS = 1 << 15;

    /** Threads the work may be cut for. */
    int threads() {
        return parallel ? pool.threads() : 1;
    }

    /** body(i) for every i in [0, count). */
    void forEach(int count, IntConsumer body) {
        if (parallel && count > 1) {
            pool.forEach(count, body);
        } else {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
        }
    }

    /**
     * body(i) for every row i in [0, rows), in a few contiguous chunks per thread when rows·cols is worth
     * splitting, else in one loop here.
     */
    void forEachRow(int rows, int cols, IntConsumer body) {
        int threads = threads();
        if (threads == 1 || rows < 2 || (long) rows * cols < PARALLEL_MIN_ELEMENTS) {
            for (int i = 0; i < rows; i++) {
                body.accept(i);
            }
            return;
        }
        int chunks = Math.min(rows, 4 * threads);
        int perChunk = (rows + chunks - 1) / chunks;
        pool.forEach((rows + perChunk - 1) / perChunk, chunk -> {
            int end = Math.min(rows, (chunk + 1) * perChunk);
            for (int i = chunk * perChunk; i < end; i++) {
                body.accept(i);
            }
        });
    }
}
