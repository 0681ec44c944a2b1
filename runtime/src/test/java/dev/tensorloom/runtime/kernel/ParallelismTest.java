package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ParallelismTest {

    @Test
    void visitsEveryIndexExactlyOnce() {
        for (int threads : new int[] {1, 2, 3, 8}) {
            Parallelism p = Parallelism.of(threads);
            for (int count : new int[] {0, 1, 2, 7, 1000}) {
                AtomicIntegerArray visits = new AtomicIntegerArray(Math.max(count, 1));
                p.forEach(count, i -> visits.incrementAndGet(i));
                for (int i = 0; i < count; i++) {
                    assertEquals(1, visits.get(i), "index " + i + " of " + count + " with " + threads + " threads");
                }
            }
        }
    }

    @Test
    void nestedLoopsDoNotDeadlock() {
        Parallelism p = Parallelism.of(2);
        AtomicLong sum = new AtomicLong();
        assertTimeoutPreemptively(Duration.ofSeconds(20), () -> p.forEach(16,
                i -> p.forEach(16, j -> p.forEach(4, k -> sum.addAndGet(i * 64 + j * 4 + k)))));
        long n = 16 * 16 * 4;
        assertEquals(n * (n - 1) / 2, sum.get());
    }

    @Test
    void theWorkersTakePartAlongsideTheCaller() throws InterruptedException {
        for (int threads : new int[] {2, 3}) {
            // Each body waits until every thread has one: that passes only when threads - 1 workers take indices.
            CountDownLatch all = new CountDownLatch(threads);
            Set<Thread> ran = ConcurrentHashMap.newKeySet();
            Parallelism.of(threads).forEach(threads, i -> {
                ran.add(Thread.currentThread());
                all.countDown();
                try {
                    assertTrue(all.await(10, TimeUnit.SECONDS), "only " + ran.size() + " of " + threads + " threads came");
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            assertEquals(threads, ran.size());
            assertTrue(ran.contains(Thread.currentThread()), "the caller works too");
            for (Thread t : ran) {
                assertTrue(t == Thread.currentThread() || t.isDaemon(), t.getName() + " is not a daemon thread");
            }
        }
    }

    @Test
    void aFailingBodyIsRethrownAndThePoolGoesOn() {
        Parallelism p = Parallelism.of(2);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> p.forEach(100, i -> {
            if (i == 37) {
                throw new IllegalStateException("index 37");
            }
        }));
        assertEquals("index 37", e.getMessage());
        AtomicIntegerArray visits = new AtomicIntegerArray(100);
        p.forEach(100, visits::incrementAndGet);
        for (int i = 0; i < 100; i++) {
            assertEquals(1, visits.get(i), "index " + i + " after a failed loop");
        }
    }

    @Test
    void callersOnSeveralThreadsShareThePool() throws InterruptedException {
        Parallelism p = Parallelism.of(2);
        int callers = 4;
        int loops = 200;
        AtomicLong sum = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int l = 0; l < loops; l++) {
                    p.forEach(10, sum::addAndGet);
                }
            }));
        }
        for (Thread t : threads) {
            t.join(20_000);
            assertTrue(!t.isAlive(), "a caller is still waiting after 20 s");
        }
        assertEquals((long) callers * loops * 45, sum.get());
    }

    @Test
    void idleWorkersStopSpinningAndPark() throws InterruptedException {
        Parallelism.of(3).forEach(100, i -> { });
        List<Thread> workers = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().startsWith("tensorloom-3-worker-")).toList();
        assertEquals(2, workers.size(), "one pool of 3 threads has 2 workers");
        // The spin is bounded (100 µs by default): well within a second every worker is parked, using no CPU.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        for (Thread w : workers) {
            while (w.getState() != Thread.State.WAITING && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(Thread.State.WAITING, w.getState(), w.getName() + " still spins");
        }
    }

    @Test
    void rejectsNonPositiveThreadCounts() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Parallelism.of(0));
        assertTrue(e.getMessage().contains("0"), e.getMessage());
    }

    @Test
    void theSpinIsReadFromTheSystemProperty() {
        String old = System.getProperty(Parallelism.SPIN_PROPERTY);
        try {
            System.clearProperty(Parallelism.SPIN_PROPERTY);
            assertEquals(100, Parallelism.spinMicros());
            System.setProperty(Parallelism.SPIN_PROPERTY, "0");
            assertEquals(0, Parallelism.spinMicros());
            // A pool that parks at once still runs every index once.
            AtomicIntegerArray visits = new AtomicIntegerArray(50);
            Parallelism.of(5).forEach(50, visits::incrementAndGet);
            for (int i = 0; i < 50; i++) {
                assertEquals(1, visits.get(i), "index " + i);
            }
            System.setProperty(Parallelism.SPIN_PROPERTY, "-1");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Parallelism::spinMicros);
            assertTrue(e.getMessage().contains("'-1'"), e.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty(Parallelism.SPIN_PROPERTY);
            } else {
                System.setProperty(Parallelism.SPIN_PROPERTY, old);
            }
        }
    }

    @Test
    void defaultThreadsReadsTheSystemProperty() {
        String old = System.getProperty(Parallelism.THREADS_PROPERTY);
        try {
            System.setProperty(Parallelism.THREADS_PROPERTY, "3");
            assertEquals(3, Parallelism.defaultThreads());
            System.setProperty(Parallelism.THREADS_PROPERTY, "two");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, Parallelism::defaultThreads);
            assertTrue(e.getMessage().contains("'two'"), e.getMessage());
            System.clearProperty(Parallelism.THREADS_PROPERTY);
            assertEquals(Runtime.getRuntime().availableProcessors(), Parallelism.defaultThreads());
        } finally {
            if (old == null) {
                System.clearProperty(Parallelism.THREADS_PROPERTY);
            } else {
                System.setProperty(Parallelism.THREADS_PROPERTY, old);
            }
        }
    }
}
