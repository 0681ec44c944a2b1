package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
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
    void rejectsNonPositiveThreadCounts() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Parallelism.of(0));
        assertTrue(e.getMessage().contains("0"), e.getMessage());
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
