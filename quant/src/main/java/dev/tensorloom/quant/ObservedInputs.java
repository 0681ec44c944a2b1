package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Objects;
import java.util.function.BiConsumer;

/**
 * A preparer whose matrices show each input they multiply, with the matrix's name, to an observer before
 * multiplying it as {@code inner} prepared it: how calibration sees the activations a model really feeds each
 * layer ({@link Hessian#collecting}).
 */
public final class ObservedInputs {

    private ObservedInputs() {
    }

    /** {@code inner}'s matrices, each calling observer(name, a) on every product a·b before computing it. */
    public static MatrixPreparer preparer(MatrixPreparer inner, BiConsumer<String, Tensor> observer) {
        Objects.requireNonNull(inner, "inner");
        Objects.requireNonNull(observer, "observer");
        return (name, weight, arena) -> {
            PreparedMatrix prepared = inner.prepare(name, weight, arena);
            return new PreparedMatrix() {
                @Override
                public int rows() {
                    return prepared.rows();
                }

                @Override
                public int cols() {
                    return prepared.cols();
                }

                @Override
                public void multiply(Tensor a, Tensor c) {
                    observer.accept(name, a);
                    prepared.multiply(a, c);
                }

                @Override
                public long bytes() {
                    return prepared.bytes();
                }
            };
        };
    }
}
