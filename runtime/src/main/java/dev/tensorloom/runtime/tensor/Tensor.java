package dev.tensorloom.runtime.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * An fp32 tensor over a {@link MemorySegment}: a shape, strides in elements, and an element offset into
 * the segment. Views ({@link #slice}, {@link #row}, {@link #reshape}, {@link #transpose}) share the memory
 * and copy nothing.
 *
 * <p>A tensor owns nothing: its memory belongs to the {@link Arena} it was allocated in, and it is valid
 * for exactly as long as that arena is alive. Kernels take 2-D tensors whose last stride is 1 and read the
 * first stride as the leading dimension, so a row-slab of a wider matrix (one attention head, say) is an
 * ordinary argument.
 *
 * <p>A tensor may also live in {@link DeviceMemory} (a device backend's buffers): it then has a shape,
 * strides and views like any other, but the host-side accessors ({@link #segment}, {@link #get},
 * {@link #toArray}, ...) refuse it with an exception; the backend's {@code toHost} copies it back.
 */
public final class Tensor {

    /** Bytes per element. */
    public static final long FLOAT_BYTES = Float.BYTES;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final MemorySegment segment;
    private final long offset;
    private final long[] shape;
    private final long[] strides;
    /** Null for host tensors. */
    private final DeviceMemory device;

    private Tensor(MemorySegment segment, long offset, long[] shape, long[] strides, DeviceMemory device) {
        this.segment = segment;
        this.offset = offset;
        this.shape = shape;
        this.strides = strides;
        this.device = device;
    }

    private Tensor(MemorySegment segment, long offset, long[] shape, long[] strides) {
        this(segment, offset, shape, strides, null);
    }

    /** A view of this tensor's memory (host or device) with another offset, shape and strides. */
    private Tensor view(long offset, long[] shape, long[] strides) {
        return new Tensor(segment, offset, shape, strides, device);
    }

    /** A zero-filled, contiguous tensor whose memory lives as long as {@code arena}. */
    public static Tensor allocate(Arena arena, long... shape) {
        long[] s = checkedShape(shape);
        long n = product(s);
        MemorySegment seg = arena.allocate(n * FLOAT_BYTES, 64);
        return new Tensor(seg, 0, s, contiguousStrides(s));
    }

    /** A contiguous tensor copied from {@code values}, which must hold exactly product(shape) floats. */
    public static Tensor of(Arena arena, float[] values, long... shape) {
        Tensor t = allocate(arena, shape);
        if (values.length != t.size()) {
            throw new IllegalArgumentException(
                    "tensor of shape " + Arrays.toString(shape) + " needs " + t.size() + " values, got " + values.length);
        }
        MemorySegment.copy(values, 0, t.segment, F32, 0, values.length);
        return t;
    }

    /**
     * A contiguous tensor over existing memory (a mapped file, say), starting at byte offset 0.
     *
     * <p>A heap segment ({@code MemorySegment.ofArray}) is accepted, but keep it away from the vector kernels: the
     * Vector API's loads and stores from segments share one type profile per JDK method across the process, so once
     * any kernel has run on a heap segment, every kernel reading native memory may run through code compiled for
     * both kinds, up to half as fast (a 4096×4096 GEMV, 2 threads, 2-core Zen 5: 1.5-2.0 ms instead of 0.9-1.0).
     * {@link #of} copies an array into native memory instead.
     */
    public static Tensor wrap(MemorySegment segment, long... shape) {
        long[] s = checkedShape(shape);
        long needed = product(s) * FLOAT_BYTES;
        if (segment.byteSize() < needed) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes is too small for shape "
                    + Arrays.toString(s) + " (" + needed + " bytes)");
        }
        return new Tensor(segment, 0, s, contiguousStrides(s));
    }

    /**
     * A contiguous tensor over device memory, starting at byte offset 0; its contents are the backend's
     * business.
     */
    public static Tensor onDevice(DeviceMemory memory, long... shape) {
        long[] s = checkedShape(shape);
        long needed = product(s) * FLOAT_BYTES;
        if (memory.byteSize() < needed) {
            throw new IllegalArgumentException("device memory of " + memory.byteSize() + " bytes is too small for "
                    + "shape " + Arrays.toString(s) + " (" + needed + " bytes)");
        }
        return new Tensor(MemorySegment.NULL, 0, s, contiguousStrides(s), memory);
    }

    /** True when the elements live in {@link DeviceMemory}, not in host memory. */
    public boolean isOnDevice() {
        return device != null;
    }

    /** The device memory of a device tensor. */
    public DeviceMemory deviceMemory() {
        if (device == null) {
            throw new IllegalStateException("tensor " + this + " lives in host memory, not on a device");
        }
        return device;
    }

    /** The host memory of this tensor. */
    public MemorySegment segment() {
        requireHost();
        return segment;
    }

    /** Element offset of index (0, ..., 0) in {@link #segment()}. */
    public long offset() {
        return offset;
    }

    public int rank() {
        return shape.length;
    }

    public long dim(int axis) {
        return shape[axis];
    }

    public long stride(int axis) {
        return strides[axis];
    }

    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements. */
    public long size() {
        return product(shape);
    }

    /** Rows of a 2-D tensor. */
    public int rows() {
        require2d();
        return Math.toIntExact(shape[0]);
    }

    /** Columns of a 2-D tensor. */
    public int cols() {
        require2d();
        return Math.toIntExact(shape[1]);
    }

    /** The leading dimension of a 2-D tensor with unit column stride: elements between row starts. */
    public int leadingDim() {
        require2d();
        if (strides[1] != 1) {
            throw new IllegalStateException("tensor " + this + " has column stride " + strides[1] + ", kernels need 1");
        }
        return Math.toIntExact(strides[0]);
    }

    /** True when the elements lie in row-major order without gaps (axes of length 1 have any stride). */
    public boolean isContiguous() {
        long expected = 1;
        for (int ax = shape.length - 1; ax >= 0; ax--) {
            if (shape[ax] != 1 && strides[ax] != expected) {
                return false;
            }
            expected *= shape[ax];
        }
        return true;
    }

    public float get(long... index) {
        requireHost();
        return segment.getAtIndex(F32, elementIndex(index));
    }

    public void set(float value, long... index) {
        requireHost();
        segment.setAtIndex(F32, elementIndex(index), value);
    }

    /** The sub-range [from, to) of {@code axis}, same rank, shared memory. */
    public Tensor slice(int axis, long from, long to) {
        if (axis < 0 || axis >= shape.length || from < 0 || to > shape[axis] || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of axis " + axis + " of " + this);
        }
        long[] s = shape.clone();
        s[axis] = to - from;
        return view(offset + from * strides[axis], s, strides);
    }

    /** Index {@code i} of the first axis, rank reduced by one. */
    public Tensor row(long i) {
        if (shape.length == 0 || i < 0 || i >= shape[0]) {
            throw new IndexOutOfBoundsException("row " + i + " of " + this);
        }
        return view(offset + i * strides[0], Arrays.copyOfRange(shape, 1, shape.length),
                Arrays.copyOfRange(strides, 1, strides.length));
    }

    /** The same elements under another shape; only contiguous tensors can be reshaped without a copy. */
    public Tensor reshape(long... newShape) {
        long[] s = checkedShape(newShape);
        if (product(s) != size()) {
            throw new IllegalArgumentException("cannot reshape " + this + " to " + Arrays.toString(s));
        }
        if (!isContiguous()) {
            throw new IllegalStateException("reshape needs a contiguous tensor, got " + this);
        }
        return view(offset, s, contiguousStrides(s));
    }

    /** The view with axes {@code a} and {@code b} swapped. */
    public Tensor transpose(int a, int b) {
        if (a < 0 || a >= shape.length || b < 0 || b >= shape.length) {
            throw new IndexOutOfBoundsException("transpose of axes " + a + " and " + b + " of " + this);
        }
        long[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return view(offset, s, st);
    }

    /** Row-major position of the first NaN or infinite element, or -1 when every element is finite. */
    public long firstNonFinite() {
        requireHost();
        if (isContiguous()) {
            for (long i = 0, n = size(); i < n; i++) {
                if (!Float.isFinite(segment.getAtIndex(F32, offset + i))) {
                    return i;
                }
            }
            return -1;
        }
        float[] values = toArray();
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                return i;
            }
        }
        return -1;
    }

    /** Copies all elements into a new float array, in row-major order. */
    public float[] toArray() {
        requireHost();
        float[] out = new float[Math.toIntExact(size())];
        if (isContiguous()) {
            MemorySegment.copy(segment, F32, offset * FLOAT_BYTES, out, 0, out.length);
            return out;
        }
        long[] idx = new long[shape.length];
        for (int n = 0; n < out.length; n++) {
            out[n] = segment.getAtIndex(F32, elementIndex(idx));
            for (int ax = shape.length - 1; ax >= 0 && ++idx[ax] == shape[ax]; ax--) {
                idx[ax] = 0;
            }
        }
        return out;
    }

    /** Copies every element of {@code source}, which must have the same shape, into this tensor. */
    public void copyFrom(Tensor source) {
        if (!Arrays.equals(shape, source.shape)) {
            throw new IllegalArgumentException("copy from " + source + " into " + this + ": shapes differ");
        }
        requireHost();
        source.requireHost();
        if (isContiguous() && source.isContiguous()) {
            MemorySegment.copy(source.segment, offset(source), segment, offset(this), size() * FLOAT_BYTES);
            return;
        }
        float[] values = source.toArray();
        long[] idx = new long[shape.length];
        for (float v : values) {
            segment.setAtIndex(F32, elementIndex(idx), v);
            for (int ax = shape.length - 1; ax >= 0 && ++idx[ax] == shape[ax]; ax--) {
                idx[ax] = 0;
            }
        }
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + (isContiguous() ? "" : " strides " + Arrays.toString(strides))
                + (device == null ? "" : " on " + device.location());
    }

    private void requireHost() {
        if (device != null) {
            throw new IllegalStateException("tensor " + this + " lives in device memory, which the host cannot "
                    + "read: copy it to the host first (Backend.toHost)");
        }
    }

    private static long offset(Tensor t) {
        return t.offset * FLOAT_BYTES;
    }

    private long elementIndex(long[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index of rank " + index.length + " into " + this);
        }
        long e = offset;
        for (int ax = 0; ax < index.length; ax++) {
            if (index[ax] < 0 || index[ax] >= shape[ax]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " out of " + this);
            }
            e += index[ax] * strides[ax];
        }
        return e;
    }

    private void require2d() {
        if (shape.length != 2) {
            throw new IllegalStateException("expected a 2-D tensor, got " + this);
        }
    }

    private static long[] checkedShape(long[] shape) {
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
            }
        }
        return shape.clone();
    }

    private static long product(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    private static long[] contiguousStrides(long[] shape) {
        long[] st = new long[shape.length];
        long s = 1;
        for (int ax = shape.length - 1; ax >= 0; ax--) {
            st[ax] = s;
            s *= Math.max(shape[ax], 1);
        }
        return st;
    }
}
