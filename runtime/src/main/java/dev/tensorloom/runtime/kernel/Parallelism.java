package dev.tensorloom.runtime.kernel;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * Runs index ranges on {@code threads} threads: the calling thread plus a fixed pool of threads - 1
 * workers. There is one pool per thread count in a process ({@link #of}), so asking for the same count
 * twice never starts more threads; the default count comes from {@code -Dtensorloom.threads}, else the
 * number of processors. Workers are daemon threads.
 *
 * <p>A loop is one job: the caller publishes it, every thread takes indices from one shared counter until
 * none is left, and the caller returns when all are done. After a job a worker spins for
 * {@value #DEFAULT_SPIN_MICROS} µs ({@code -Dtensorloom.spinMicros}) watching for the next one before it parks,
 * as OpenMP's and
 * ONNX Runtime's pools do: an encoder's forward pass is some thirty kernel calls a few hundred microseconds
 * apart, and a parked worker takes tens of microseconds to wake, which left the one worker of a 2-thread pool
 * idle about 40% of a batch-1 pass (JFR, docs/BENCHMARKS.md). The spin is bounded in time, so an idle process
 * uses no CPU. The caller waits for the last stragglers the same way.
 *
 * <p>A spinning thread calls Thread.yield, not Thread.onSpinWait: on a free core yield returns at once and
 * the thread sees the next job within a microsecond or so, but on a machine with more busy threads than cores
 * it hands the core to a thread with work. Paired in one JVM on a loaded 2-core machine (encoder, batch 1, ~10
 * tokens, with the GEMM's column split) this pool ran 1.14-1.34x the ForkJoinPool build with yield and
 * 0.85-0.97x with onSpinWait.
 *
 * <p>The pool runs one job at a time. A loop that finds it busy (a parallel kernel inside a parallel loop,
 * on the caller or on a worker, or a second thread calling at the same time) runs on its own thread: every
 * thread of the pool is already working on the outer job, so nothing waits for a thread that cannot come,
 * and nested loops never deadlock.
 */
public final class Parallelism {

    /** System property that sets the default number of kernel threads. */
    public static final String THREADS_PROPERTY = "tensorloom.threads";

    /**
     * System property that sets how many microseconds a thread spins for the next loop before it parks
     * (default {@value #DEFAULT_SPIN_MICROS}; 0 parks at once, which suits a machine with more busy threads
     * than cores, where a spinning worker takes a core from a thread with work: on a 2-core machine at a load of
     * 15-20, paired in one JVM, the encoder at batch 1 ran 1.1-1.5x faster at ~10 tokens and 1.1-1.9x at ~100
     * with 0 than with 100).
     */
    public static final String SPIN_PROPERTY = "tensorloom.spinMicros";

    /**
     * Longer than the serial gaps between an encoder's kernel calls, short enough that a pool left idle
     * sleeps at once.
     */
    static final long DEFAULT_SPIN_MICROS = 100;

    private static final ConcurrentHashMap<Integer, Parallelism> POOLS = new ConcurrentHashMap<>();

    private final int threads;
    private final long spinNanos;
    private final Worker[] workers;
    /** Held by the thread whose job the pool runs. */
    private final AtomicBoolean busy = new AtomicBoolean();
    /** The job in flight, or null; workers tell jobs apart by their number. */
    private volatile Job current;
    private long jobs;

    private Parallelism(int threads) {
        this.threads = threads;
        this.spinNanos = spinMicros() * 1000;
        // threads - 1 workers: the calling thread is the last one (see forEach).
        this.workers = new Worker[threads - 1];
        for (int w = 0; w < workers.length; w++) {
            workers[w] = new Worker("tensorloom-" + threads + "-worker-" + w);
            workers[w].start();
        }
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

    /** The spin before a thread parks, from {@code -Dtensorloom.spinMicros}, read when a pool starts. */
    public static long spinMicros() {
        String v = System.getProperty(SPIN_PROPERTY);
        if (v == null || v.isBlank()) {
            return DEFAULT_SPIN_MICROS;
        }
        try {
            long n = Long.parseLong(v.trim());
            if (n < 0 || n > 1_000_000) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + SPIN_PROPERTY
                    + " must be a number of microseconds in [0, 1000000], got '" + v + "'");
        }
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs body(i) for every i in [0, count), spread over the pool; returns when all are done. The first
     * exception a body throws is rethrown here once every thread has stopped; indices not yet started are
     * skipped.
     */
    public void forEach(int count, IntConsumer body) {
        if (count <= 0) {
            return;
        }
        if (workers.length == 0 || count == 1 || !busy.compareAndSet(false, true)) {
            for (int i = 0; i < count; i++) {
                body.accept(i);
            }
            return;
        }
        // The caller works too: the loop starts at once instead of waiting for a worker, and no more threads
        // run than there are cores.
        Job job = new Job(++jobs, count, body, Thread.currentThread(), spinNanos);
        try {
            current = job;
            for (Worker w : workers) {
                if (w.parked) {
                    LockSupport.unpark(w);
                }
            }
            job.work();
            job.awaitDone();
        } finally {
            current = null;
            busy.set(false);
        }
        job.rethrow();
    }

    /** One loop: indices handed out by a shared counter, and how many have finished. */
    private static final class Job {
        final long number;
        private final int count;
        private final IntConsumer body;
        private final Thread caller;
        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger done = new AtomicInteger();
        private final long spinNanos;
        private volatile Throwable failure;

        Job(long number, int count, IntConsumer body, Thread caller, long spinNanos) {
            this.number = number;
            this.count = count;
            this.body = body;
            this.caller = caller;
            this.spinNanos = spinNanos;
        }

        /** Takes indices until none is left; after a failure, claims the rest unrun so the job ends. */
        void work() {
            int finished = 0;
            for (int i; (i = next.getAndIncrement()) < count; ) {
                finished++;
                try {
                    body.accept(i);
                } catch (Throwable t) {
                    if (failure == null) {
                        failure = t;
                    }
                    finished += Math.max(0, count - next.getAndSet(count));
                    break;
                }
            }
            if (finished > 0 && done.addAndGet(finished) == count) {
                LockSupport.unpark(caller);
            }
        }

        void awaitDone() {
            long spinUntil = System.nanoTime() + spinNanos;
            while (done.get() < count) {
                if (System.nanoTime() < spinUntil) {
                    Thread.yield();
                } else {
                    LockSupport.park(this);
                }
            }
        }

        void rethrow() {
            Throwable t = failure;
            if (t instanceof RuntimeException e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
            if (t != null) {
                throw new IllegalStateException(t);
            }
        }
    }

    private final class Worker extends Thread {
        /** Set before the worker parks, so a publisher knows to wake it. */
        volatile boolean parked;

        Worker(String name) {
            super(name);
            setDaemon(true);
        }

        @Override
        public void run() {
            long seen = 0;
            while (true) {
                Job job = awaitJob(seen);
                seen = job.number;
                job.work();
            }
        }

        /** Spins for a job newer than {@code seen} for a while, then parks until one is published. */
        private Job awaitJob(long seen) {
            long spinUntil = System.nanoTime() + spinNanos;
            while (true) {
                Job job = current;
                if (job != null && job.number != seen) {
                    return job;
                }
                if (System.nanoTime() < spinUntil) {
                    Thread.yield();
                    continue;
                }
                // Dekker with forEach: it writes current then reads parked; this writes parked then reads current,
                // so either this sees the job or the publisher sees parked and unparks.
                parked = true;
                job = current;
                if (job == null || job.number == seen) {
                    LockSupport.park(Parallelism.this);
                }
                parked = false;
            }
        }
    }
}
