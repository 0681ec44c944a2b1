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
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * y = x·b straight from the packed codes: one output channel at a time, each group's codes decoded L at a time
 * and multiplied into a group accumulator, which is scaled once at the group's end (a vector multiply per
 * group, no reduction); one reduction per channel. x is read from L1 for every channel; each thread takes a
 * contiguous range of channels, so its codes form one sequential stream.
 *
 * <p>Measured (docs/BENCHMARKS.md, 2026-11-30: 4096×4096, 2 threads, cold weights, Zen 4 with AVX-512, a quiet
 * machine): 4-bit g128 1.01 ms, 2-bit 0.93, 3-bit 2.45, 8-bit 1.73; fp32 3.07 ms; ggml's Q4_0 0.62 ms. Decoding,
 * not DRAM, bounds these: each weight becomes a float and meets x in an FMA, where ggml quantizes x to int8
 * and uses integer dot products. One-plane formats are decoded a unit at a time ({@link #dotByUnits}: each
 * byte load feeds 8/w runs); its gain over run-at-a-time decoding ({@link #dot}) was not measured on a quiet
 * machine.
 */
final class QuantGemv {

    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private QuantGemv() {
    }

    static void multiply(Tensor x, PackedWeights b, Tensor y, Tasks tasks) {
        int n = b.cols();
        int chunks = Math.min(n, 2 * tasks.threads());
        int perChunk = Math.ceilDiv(n, chunks);
        CodeDecoder decoder = new CodeDecoder(b);
        boolean whole = CodeDecoder.wholeUnits(b);
        // x once into an array padded with zeros to whole units: array loads, and no tail (padding codes meet 0).
        float[] xa = new float[Math.ceilDiv(b.rows(), 128) * 128];
        MemorySegment.copy(x.segment(), ValueLayout.JAVA_FLOAT_UNALIGNED, Rows.start(x), xa, 0, b.rows());
        MemorySegment ys = y.segment();
        long y0 = Rows.start(y);
        if (UnitGemv.wholeBlocks(b) && !VectorQuantKernels.legacy) {
            UnitGemv.Input in = UnitGemv.Input.of(b, xa);
            tasks.forEach(Math.ceilDiv(n, perChunk), chunk -> {
                int end = Math.min(n, (chunk + 1) * perChunk);
                for (int j = chunk * perChunk; j < end; j++) {
                    UnitGemv.threeBits(b, in, j, ys, y0);
                }
            });
            return;
        }
        if (whole && !VectorQuantKernels.legacy) {
            UnitGemv.Input in = UnitGemv.Input.of(b, xa);
            tasks.forEach(Math.ceilDiv(n, perChunk), chunk -> {
                int end = Math.min(n, (chunk + 1) * perChunk);
                for (int j = chunk * perChunk; j < end; j += 2) {
                    UnitGemv.dot2(b, in, j, Math.min(j + 1, end - 1), ys, y0);
                }
            });
            return;
        }
        tasks.forEach(Math.ceilDiv(n, perChunk), chunk -> {
            int end = Math.min(n, (chunk + 1) * perChunk);
            for (int j = chunk * perChunk; j < end; j++) {
                ys.set(F, y0 + (long) j * Float.BYTES, whole ? dotByUnits(b, j, xa) : dot(decoder, b, j, xa));
            }
        });
    }

    /**
     * Σ_p x[p]·ŵ(p, j) a unit at a time, for the formats {@link CodeDecoder#wholeUnits} accepts: each L bytes of
     * a 16-byte unit are loaded and widened once and give 8/w runs of L codes (their values 16 apart), where
     * {@link #dot} loads and widens them once per run. x is padded with zeros to whole units.
     */
    static float dotByUnits(PackedWeights b, int j, float[] x) {
        byte[] codes = b.codes();
        int w = b.planeWidth(0);
        int mask = (1 << w) - 1;
        int unitValues = 128 / w;
        int units = Math.ceilDiv(b.rows(), unitValues);
        int unitsPerGroup = b.groups() == 1 ? units : b.groupSize() / unitValues;
        int at = j * b.rowBytes() + b.planeStart(0);
        FloatVector acc = FloatVector.zero(S);
        for (int group = 0, unit = 0; unit < units; group++) {
            float s = b.scale(group, j);
            if (s == 0) { // an all-zero group adds nothing, as in dot
                unit += unitsPerGroup;
                at += 16 * unitsPerGroup;
                continue;
            }
            int z = b.zero(group, j);
            FloatVector sum = FloatVector.zero(S);
            for (int end = unit + unitsPerGroup; unit < end; unit++, at += 16) {
                int p = unit * unitValues;
                for (int h = 0; h < 16; h += L) {
                    IntVector v = CodeDecoder.widen(codes, at + h);
                    for (int shift = 0, q = p + h; shift < 8; shift += w, q += 16) {
                        sum = CodeDecoder.unitLevels(v, shift, mask, z).fma(FloatVector.fromArray(S, x, q), sum);
                    }
                }
            }
            acc = sum.fma(FloatVector.broadcast(S, s), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
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
