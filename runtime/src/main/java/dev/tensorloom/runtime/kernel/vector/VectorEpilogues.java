package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * What follows a projection, fused: bias + GELU, and bias + residual + LayerNorm. Unfused, each step is a
 * pass over the whole [tokens, n] output and a parallel region of its own (three of them, and five passes,
 * for the LayerNorm epilogue); here one parallel region walks the rows once, and the later passes of the
 * LayerNorm (variance, then normalization) reread a row of a few KiB that the first pass left in L1.
 *
 * <p>The sums are made in the oracle's order, (x + bias) + residual, so the only difference from the
 * unfused kernels is where the mean's lanes are added up.
 *
 * <p>Over packed panels, {@link VectorKernels#linear} goes one step further and adds bias + GELU in the GEMM's
 * last flush ({@link GemmMicroKernel.Epilogue}), so the encoder's feed-forward output is not passed over again;
 * {@link #addBiasGelu} serves the other prepared forms (quantized, MPO).
 */
final class VectorEpilogues {

    private VectorEpilogues() {
    }

    /** x = gelu(x + bias), a range of rows per call. */
    static void addBiasGelu(Tensor x, Tensor bias, Tasks tasks) {
        int n = x.cols();
        MemorySegment xs = x.segment();
        MemorySegment bs = bias.segment();
        long b0 = Rows.start(bias);
        long strideBytes = (long) x.leadingDim() * Float.BYTES;
        tasks.forEachRange(x.rows(), 1, (from, to) -> VectorGelu.inPlace(xs, Rows.byteOffset(x, from), strideBytes,
                to - from, bs, b0, n, true));
    }

    /** x = layerNorm((x + bias) + residual), row by row; the first pass also sums the row for its mean. */
    static void addBiasResidualLayerNorm(Tensor x, Tensor bias, Tensor residual, Tensor gamma, Tensor beta,
            float epsilon, Tasks tasks) {
        int n = x.cols();
        MemorySegment xs = x.segment();
        MemorySegment bs = bias.segment();
        MemorySegment rs = residual.segment();
        long b0 = Rows.start(bias);
        tasks.forEachRow(x.rows(), i -> {
            long row = Rows.byteOffset(x, i);
            long rRow = Rows.byteOffset(residual, i);
            FloatVector sum = FloatVector.zero(S);
            int j = 0;
            for (int end = S.loopBound(n); j < end; j += L) {
                long o = (long) j * Float.BYTES;
                FloatVector v = FloatVector.fromMemorySegment(S, xs, row + o, NATIVE)
                        .add(FloatVector.fromMemorySegment(S, bs, b0 + o, NATIVE))
                        .add(FloatVector.fromMemorySegment(S, rs, rRow + o, NATIVE));
                v.intoMemorySegment(xs, row + o, NATIVE);
                sum = sum.add(v);
            }
            if (j < n) {
                VectorMask<Float> m = S.indexInRange(j, n);
                long o = (long) j * Float.BYTES;
                FloatVector v = FloatVector.fromMemorySegment(S, xs, row + o, NATIVE, m)
                        .add(FloatVector.fromMemorySegment(S, bs, b0 + o, NATIVE, m))
                        .add(FloatVector.fromMemorySegment(S, rs, rRow + o, NATIVE, m));
                v.intoMemorySegment(xs, row + o, NATIVE, m);
                sum = sum.add(v);
            }
            VectorRowNorms.normalize(xs, row, n, sum.reduceLanes(VectorOperators.ADD) / n, gamma, beta, epsilon);
        });
    }
}
