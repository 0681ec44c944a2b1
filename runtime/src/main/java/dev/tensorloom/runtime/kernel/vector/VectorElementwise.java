package dev.tensorloom.runtime.kernel.vector;

import static dev.tensorloom.runtime.kernel.vector.Simd.L;
import static dev.tensorloom.runtime.kernel.vector.Simd.NATIVE;
import static dev.tensorloom.runtime.kernel.vector.Simd.S;

import dev.tensorloom.runtime.kernel.Tasks;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/** Row-by-row elementwise updates: fill, x += y, x += bias, row gathers. Tails use masked loads and stores. */
final class VectorElementwise {


    private VectorElementwise() {
    }

    /** x[i,j] = value for every element; used for products over an empty dimension. */
    static void fill(Tensor x, float value) {
        int n = x.cols();
        FloatVector v = FloatVector.broadcast(S, value);
        MemorySegment seg = x.segment();
        for (int i = 0; i < x.rows(); i++) {
            long row = Rows.byteOffset(x, i);
            int j = 0;
            for (int end = S.loopBound(n); j < end; j += L) {
                v.intoMemorySegment(seg, row + (long) j * Float.BYTES, NATIVE);
            }
            if (j < n) {
                v.intoMemorySegment(seg, row + (long) j * Float.BYTES, NATIVE, S.indexInRange(j, n));
            }
        }
    }

    /** x += y, both [m,n]. */
    static void add(Tensor x, Tensor y, Tasks tasks) {
        int n = x.cols();
        MemorySegment xs = x.segment();
        MemorySegment ys = y.segment();
        tasks.forEachRow(x.rows(), i -> addRow(xs, Rows.byteOffset(x, i), ys, Rows.byteOffset(y, i), n));
    }

    /** x[i,:] += bias for every row. */
    static void addBias(Tensor x, Tensor bias, Tasks tasks) {
        int n = x.cols();
        MemorySegment xs = x.segment();
        tasks.forEachRow(x.rows(), i -> addRow(xs, Rows.byteOffset(x, i), bias.segment(), Rows.start(bias), n));
    }

    /** n floats at x[xOff..] += y[yOff..]. */
    private static void addRow(MemorySegment x, long xOff, MemorySegment y, long yOff, int n) {
        int j = 0;
        for (int end = S.loopBound(n); j < end; j += L) {
            long dx = xOff + (long) j * Float.BYTES;
            FloatVector.fromMemorySegment(S, x, dx, NATIVE)
                    .add(FloatVector.fromMemorySegment(S, y, yOff + (long) j * Float.BYTES, NATIVE))
                    .intoMemorySegment(x, dx, NATIVE);
        }
        if (j < n) {
            VectorMask<Float> m = S.indexInRange(j, n);
            long dx = xOff + (long) j * Float.BYTES;
            FloatVector.fromMemorySegment(S, x, dx, NATIVE, m)
                    .add(FloatVector.fromMemorySegment(S, y, yOff + (long) j * Float.BYTES, NATIVE, m))
                    .intoMemorySegment(x, dx, NATIVE, m);
        }
    }

    /**
     * out[i,:] = table[ids[i],:]. A row copy is a bulk {@link MemorySegment#copy}, which the JVM already runs
     * as wide vector moves; spelling it out in FloatVectors would only add the tail handling.
     */
    static void gatherRows(Tensor table, int[] ids, Tensor out, Tasks tasks) {
        long rowBytes = (long) table.cols() * Float.BYTES;
        tasks.forEachRow(ids.length, i -> MemorySegment.copy(
                table.segment(), Rows.byteOffset(table, ids[i]), out.segment(), Rows.byteOffset(out, i), rowBytes));
    }
}
