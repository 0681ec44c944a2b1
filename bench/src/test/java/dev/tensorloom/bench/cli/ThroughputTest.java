package dev.tensorloom.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The latency percentiles of the bench's cells, by the nearest-rank definition, and when a warm-up has settled (the
 * rate steady and the JIT idle).
 */
class ThroughputTest {

    @Test
    void nearestRankPercentilesOfOneToAHundredAreTheirRanks() {
        long[] values = new long[100];
        for (int i = 0; i < values.length; i++) {
            values[i] = i + 1;
        }
        assertEquals(50, Throughput.percentile(values, 50));
        assertEquals(99, Throughput.percentile(values, 99));
        assertEquals(100, Throughput.percentile(values, 100));
        assertEquals(1, Throughput.percentile(values, 0));
    }

    @Test
    void fewValuesGiveTheLargestForTheTail() {
        // With 3 values the 99th percentile's rank is ceil(2.97) = 3: the slowest batch, never an interpolation.
        assertEquals(30, Throughput.percentile(new long[] {10, 20, 30}, 99));
        assertEquals(20, Throughput.percentile(new long[] {10, 20, 30}, 50));
        assertEquals(7, Throughput.percentile(new long[] {7}, 99));
    }

    @Test
    void aWarmUpWindowSettlesWithinFivePercentOfTheOneBefore() {
        assertTrue(Throughput.settled(100, 104.9, 0));
        assertTrue(Throughput.settled(100, 95.1, 0));
        assertFalse(Throughput.settled(100, 105.1, 0), "still speeding up");
        assertFalse(Throughput.settled(100, 94.9, 0), "slowing down");
        assertFalse(Throughput.settled(Double.NaN, 100, 0), "no window before it");
    }

    @Test
    void aWarmUpWindowInWhichTheJitCompiledForMoreThanTwoPercentOfItIsNotSettled() {
        assertTrue(Throughput.settled(100, 100, 0.02));
        assertFalse(Throughput.settled(100, 100, 0.021), "C2 still compiling, however steady the rate");
    }

    @Test
    void noValuesIsAnError() {
        assertThrows(IllegalArgumentException.class, () -> Throughput.percentile(new long[0], 50));
    }
}
