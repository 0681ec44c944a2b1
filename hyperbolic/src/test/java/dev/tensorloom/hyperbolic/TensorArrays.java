package dev.tensorloom.hyperbolic;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/** float32 tensors to and from the float64 arrays of the reference. */
public final class TensorArrays {

    private TensorArrays() {
    }

    /** The tensor's floats as doubles, row-major, so the reference sees exactly what a kernel saw. */
    public static double[] read(Tensor t) {
        float[] f = t.toArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** A contiguous float tensor of the given shape holding values rounded to float. */
    public static Tensor of(Arena arena, double[] values, long... shape) {
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        return Tensor.of(arena, f, shape);
    }
}
