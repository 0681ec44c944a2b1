package dev.tensorloom.outside;

import dev.tensorloom.runtime.kernel.ScalarBackend;
import dev.tensorloom.runtime.tensor.Tensor;

public final class ScalarSumOfSquares implements SumOfSquares {

    public ScalarSumOfSquares(ScalarBackend backend) {
    }

    @Override
    public float of(Tensor x) {
        float sum = 0;
        for (float v : x.toArray()) {
            sum += v * v;
        }
        return sum;
    }
}
