package dev.tensorloom.runtime.kernel;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.RecursiveAction;
import java.util.function.IntConsumer;

/**
 * Runs index ranges on {@code threads} threads: the calling thread plus a fixed pool of threads - 1
 * workers. There is one pool per thread count in a process ({@link #of}), so asking for the same count
 * twice never starts more threads; the default
 * count comes from {@code -Dtensorloom.threads}, else the number of processors. Workers are daemon
 * threads. Nested calls (a parallel kernel inside a parallel loop) are safe: the pool steals work instead
 * of blocking.
 */
public final class Parallelism {

    /** System property that sets the default number of kernel threads. */
    public static final String THREADS_PROPERTY = "tensorloom.threads";

    private static final ConcurrentHashMap<Integer, Parallelism> POOLS = new ConcurrentHashMap<>();

    private final int threads;
    private final ForkJoinPool pool;

    private Parallelism(int threads) {
        this.threads = threads;
        // threads - 1 workers: the calling thread is the last one (see forEach).
        this.pool = threads == 1 ? null
                : new ForkJoinPool(threads - 1, ForkJoinPool.defaultForkJoinWorkerThreadFactory, null, false);
    }

    /** The process's pool of {@code threads} workers, started on first use. */
    public static Parallelism of(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("thread count must be >= 1, got " + threads);
        }
        return POOLS.computeIfAbsent(threads, Parallelism::new);
    }

    /** The pool sized by {@code -Dtensorloom.threads}, else the number of processors. */
    public static Parallelism shared() {
        return of(defaultThreads());
    }

    public static int defaultThreads() {
        String v = System.getProperty(THREADS_PROPERTY);
        if (v == null || v.isBlank()) {
            return Runtime.getRuntime().availableProcessors();
        }
        try {
            int n = Integer.parseInt(v.trim());
            if (n < 1) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + THREADS_PROPERTY + " must be a positive integer, got '" + v + "'");
        }
    }

    public int threads() {
        return threads;
    }

    /** Runs body(i) for every i in [0, count), spread over the pool; returns when all are done. */
    public void forEach(int count, IntConsumer body) {
        if (count <= 0) {
            return;
        }
        if (pool == null || count == 1) {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
            return;
        }
        if (Thread.currentThread() instanceof ForkJoinWorkerThread worker && worker.getPool() == pool) {
            new Range(0, count, body).invoke();
            return;
        }
        // The caller works too, on its own share: the operation starts at once instead of waiting for
        // workers to wake up, and no more threads run than there are cores. Measured on the encoder's
        // many short kernels, the wake-ups otherwise cost as much as a third of a batch.
        int split = count - count / threads;
        ForkJoinTask<?> rest = pool.submit(new Range(0, split, body));
        try {
            for (int i = split; i < count; i++) {
                body.accept(i);
            }
        } finally {
            rest.join();
        }
    }

    private static final class Range extends RecursiveAction {
        private final int from;
        private final int to;
        private final IntConsumer body;

        Range(int from, int to, IntConsumer body) {
            this.from = from;
            this.to = to;
            this.body = body;
        }

        @Override
        protected void compute() {
            if (to - from == 1) {
                body.accept(from);
                return;
            }
            int mid = (from + to) >>> 1;
            invokeAll(new Range(from, mid, body), new Range(mid, to, body));
        }
    }
}
