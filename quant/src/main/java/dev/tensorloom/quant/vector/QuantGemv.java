package dev.tensorloom.quant.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.quant.PackedWeights;
import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.kernel.vector.Rows;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * y = x·b straight from the packed codes, each thread taking a contiguous range of output channels (so its codes
 * stream sequentially; the channels of one pass far apart, {@link #forEachPass}) and x copied once into a heap
 * array padded with zeros to whole units (plain array loads, no tail: padding codes meet zeros). 4 and 2 bits in
 * groups of 128, or per channel over whole blocks of 128, go to {@link IntegerGemv} ({@link IntegerGemv#dot4} four
 * channels a pass for 4 bits, {@link IntegerGemv#dot2} two for 2 bits), which rounds x to int8 once per call and
 * multiplies in 16-bit integer lanes (unless x holds NaN or an infinity). The other 2- and 4-bit formats whose
 * groups are whole units go to {@link UnitGemv#dot2}, two channels per pass; 8 bits in whole units and 3 bits in
 * groups of whole 128-value blocks to {@link UnitGemv#dot1}, one channel per pass; those kernels take the zero
 * point out of the inner loop and mask each run in place instead of shifting it, which leaves a widening load, an
 * AND, a conversion and an FMA per run. What remains (2 bits in groups of 32, 3 bits in groups of 32 or 64) goes
 * through {@link #dot}: each run of L codes decoded by {@link CodeDecoder} (shift, mask, minus z, convert) into a
 * group accumulator scaled once per group.
 *
 * <p>Outside {@link IntegerGemv} each weight still becomes a float and meets x in an FMA, where ggml and Jlama's
 * native path quantize x to int8 and use integer dot products (VNNI), which the Vector API does not expose; 8-bit
 * products (127·127) do not fit short lanes more than twice.
 */
final class QuantGemv {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private QuantGemv() {
    }

    static void multiply(Tensor x, PackedWeights b, Tensor y, Tasks tasks) {
        int n = b.cols();
        // x once into an array padded with zeros to whole units: array loads, and no tail (padding codes meet 0).
        float[] xa = new float[Math.ceilDiv(b.rows(), 128) * 128];
        MemorySegment.copy(x.segment(), F, Rows.start(x), xa, 0, b.rows());
        MemorySegment ys = y.segment();
        long y0 = Rows.start(y);
        IntegerGemv.Input rounded = IntegerGemv.applies(b) ? IntegerGemv.Input.of(b, xa) : null;
        if (rounded != null && b.planeWidth(0) == 4) {
            forEachPass(tasks, n, 4, (j, step, last) -> IntegerGemv.dot4(b, rounded, j,
                    Math.min(j + step, last), Math.min(j + 2 * step, last), Math.min(j + 3 * step, last), ys, y0));
        } else if (rounded != null) {
            forEachPass(tasks, n, 2,
                    (j, step, last) -> IntegerGemv.dot2(b, rounded, j, Math.min(j + step, last), ys, y0));
        } else if (UnitGemv.oneChannel(b)) {
            UnitGemv.Input in = UnitGemv.Input.of(b, xa);
            tasks.forEachRange(n, 1, (from, end) -> {
                for (int j = from; j < end; j++) {
                    UnitGemv.dot1(b, in, j, ys, y0);
                }
            });
        } else if (UnitGemv.twoChannels(b)) {
            UnitGemv.Input in = UnitGemv.Input.of(b, xa);
            forEachPass(tasks, n, 2,
                    (j, step, last) -> UnitGemv.dot2(b, in, j, Math.min(j + step, last), ys, y0));
        } else {
            CodeDecoder decoder = new CodeDecoder(b);
            tasks.forEachRange(n, 1, (from, end) -> {
                for (int j = from; j < end; j++) {
                    ys.set(F, y0 + (long) j * Float.BYTES, dot(decoder, b, j, xa));
                }
            });
        }
    }

    /**
     * Runs {@code pass} over the channels [0, n), {@code width} channels a pass, on the threads' contiguous ranges,
     * the channels of one pass a {@code width}th of the range apart: j, j + s, ... j + (width - 1)·s with s =
     * ceil(range / width), so each of the pass's rows of codes is one stream that runs on through the whole quarter
     * (or half) of the range, and the prefetchers see a few long streams. Adjacent channels of short rows (2 KiB at
     * 4 bits and k = 4096) share a page, and several streams through one page ran at half the speed of streams
     * through their own pages: the 4-bit 4096² GEMV, 2 threads, weights cold, took 925 ± 165 µs with adjacent
     * channels and 473-485 with channels a page apart (2-core Xeon, 2026-12-02). Page-apart streams still restarted
     * every 2 KiB; streams a quarter range long took the same product from a median of 546-594 µs to 479-485 (2,000
     * cold calls, the loaded 2-core Zen 4, 2026-12-03). The channels past a range's end are clamped to its last
     * (computed twice, written alike).
     */
    private static void forEachPass(Tasks tasks, int n, int width, Pass pass) {
        tasks.forEachRange(n, width, (from, end) -> {
            int step = Math.ceilDiv(end - from, width);
            for (int j = from; j < from + step; j++) {
                pass.run(j, step, end - 1);
            }
        });
    }

    /** One pass of a kernel over channels j, j + step, ..., each clamped to {@code last}. */
    @FunctionalInterface
    private interface Pass {
        void run(int j, int step, int last);
    }

    /** Σ_p x[p]·ŵ(p, j), x padded with zeros to whole vectors. */
    static float dot(CodeDecoder decoder, PackedWeights b, int j, float[] x) {
        int k = b.rows();
        int g = b.groupSize();
        FloatVector acc = FloatVector.zero(S);
        for (int group = 0, from = 0; from < k; group++, from += g) {
            float s = b.scale(group, j);
            if (s == 0) {
                continue;
            }
            int z = b.zero(group, j);
            int to = Math.min(k, from + g);
            FloatVector sum = FloatVector.zero(S);
            for (int p = from; p < to; p += L) {
                sum = decoder.levels(j, p, z).fma(FloatVector.fromArray(S, x, p), sum);
            }
            acc = sum.fma(FloatVector.broadcast(S, s), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
