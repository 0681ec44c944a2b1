package dev.tensorloom.runtime.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

/** The one place that decides whether a kernel call is spread over threads. */
class TasksTest {

    private static final Parallelism TWO = Parallelism.of(2);

    @Test
    void elementwiseWorkIsSpreadFrom32kElements() {
        try (Arena shared = Arena.ofShared()) {
            Tensor x = Tensor.allocate(shared, 4);
            assertFalse(Tasks.forElements(TWO, (1 << 15) - 1, x).parallel());
            assertTrue(Tasks.forElements(TWO, 1 << 15, x).parallel());
            assertEquals(2, Tasks.forElements(TWO, 1 << 15, x).threads());
        }
    }

    @Test
    void productsAreSpreadFromAMillionMultiplyAdds() {
        try (Arena shared = Arena.ofShared()) {
            Tensor x = Tensor.allocate(shared, 4);
            assertFalse(Tasks.forMultiplyAdds(TWO, (1 << 20) - 1, x).parallel());
            assertTrue(Tasks.forMultiplyAdds(TWO, 1 << 20, x).parallel());
        }
    }

    @Test
    void oneThreadOrConfinedMemoryRunsInline() {
        try (Arena shared = Arena.ofShared(); Arena confined = Arena.ofConfined()) {
            assertFalse(Tasks.forElements(Parallelism.of(1), 1 << 30, Tensor.allocate(shared, 4)).parallel());
            Tasks tasks = Tasks.forElements(TWO, 1 << 30, Tensor.allocate(shared, 4), Tensor.allocate(confined, 4));
            assertFalse(tasks.parallel());
            assertEquals(1, tasks.threads());
        }
    }

    @Test
    void everyRowIsVisitedExactlyOnce() {
        try (Arena shared = Arena.ofShared()) {
            for (int rows : new int[] {0, 1, 2, 7, 8, 9, 1000}) {
                AtomicIntegerArray visits = new AtomicIntegerArray(Math.max(1, rows));
                Tasks.forElements(TWO, 1 << 20, Tensor.allocate(shared, 1)).forEachRow(rows, visits::incrementAndGet);
                for (int i = 0; i < rows; i++) {
                    assertEquals(1, visits.get(i), "row " + i + " of " + rows);
                }
            }
        }
    }

    @Test
    void rangesCoverEveryIndexOnceAndStartAligned() {
        try (Arena shared = Arena.ofShared()) {
            Tensor x = Tensor.allocate(shared, 1);
            for (Tasks tasks : new Tasks[] {Tasks.forElements(TWO, 1 << 20, x),
                    Tasks.forElements(Parallelism.of(3), 1 << 20, x), Tasks.forElements(TWO, 1, x)}) {
                for (int align : new int[] {1, 2, 4}) {
                    for (int count : new int[] {0, 1, 3, 4, 5, 31, 64, 1001}) {
                        AtomicIntegerArray visits = new AtomicIntegerArray(Math.max(1, count));
                        AtomicInteger ranges = new AtomicInteger();
                        tasks.forEachRange(count, align, (from, to) -> {
                            assertEquals(0, from % align, "range start " + from + " with align " + align);
                            assertTrue(from < to && to <= count, "[" + from + ", " + to + ") of " + count);
                            ranges.incrementAndGet();
                            for (int i = from; i < to; i++) {
                                visits.incrementAndGet(i);
                            }
                        });
                        for (int i = 0; i < count; i++) {
                            assertEquals(1, visits.get(i), "index " + i + " of " + count + ", align " + align);
                        }
                        int units = Math.ceilDiv(count, align);
                        assertTrue(ranges.get() <= Math.min(units, Tasks.RANGES_PER_THREAD * tasks.threads()),
                                ranges.get() + " ranges for " + units + " units on " + tasks.threads() + " threads");
                    }
                }
            }
        }
    }

    @Test
    void aCallThatIsNotSpreadRunsOneRangeOnTheCallingThread() {
        try (Arena shared = Arena.ofShared(); Arena confined = Arena.ofConfined()) {
            for (Tasks tasks : new Tasks[] {Tasks.forElements(TWO, 1, Tensor.allocate(shared, 1)),
                    Tasks.forElements(TWO, 1 << 30, Tensor.allocate(confined, 1))}) {
                Thread caller = Thread.currentThread();
                AtomicInteger ranges = new AtomicInteger();
                tasks.forEachRange(1000, 4, (from, to) -> {
                    assertEquals(caller, Thread.currentThread());
                    assertEquals(0, from);
                    assertEquals(1000, to);
                    ranges.incrementAndGet();
                });
                assertEquals(1, ranges.get());
            }
        }
    }
}
