package dev.tensorloom.mpo;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.Random;

/** Test inputs: standard normal floats, and MPOs whose cores are filled with them. */
public final class RandomMpos {

    private RandomMpos() {
    }

    /** {@code size} standard normal floats. */
    public static float[] gaussian(Random random, int size) {
        float[] v = new float[size];
        for (int i = 0; i < size; i++) {
            v[i] = (float) random.nextGaussian();
        }
        return v;
    }

    /** An MPO of the given shape and bonds with standard normal cores, as host tensors in {@code arena}. */
    public static Mpo mpo(MpoShape shape, int[] bonds, Random random, Arena arena) {
        Tensor[] cores = new Tensor[shape.cores()];
        for (int k = 0; k < cores.length; k++) {
            cores[k] = Tensor.of(arena, gaussian(random, (int) shape.coreSize(bonds, k)), bonds[k], shape.rowFactor(k),
                    shape.colFactor(k), bonds[k + 1]);
        }
        return new Mpo(shape, bonds, cores);
    }
}
