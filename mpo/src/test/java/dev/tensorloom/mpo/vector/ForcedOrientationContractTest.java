package dev.tensorloom.mpo.vector;

import dev.tensorloom.mpo.MpoKernelsContract;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Nested;

/**
 * The MPO contract on the vector backend with every step of few rows forced into one orientation
 * ({@code -Dtensorloom.mpo.orientation}), so both kernels meet every shape of the contract, not only the steps the plan
 * would give them.
 */
class ForcedOrientationContractTest {

    @Nested
    class Rows extends Forced {
        Rows() {
            super("rows");
        }
    }

    @Nested
    class Columns extends Forced {
        Columns() {
            super("columns");
        }
    }

    abstract static class Forced extends MpoKernelsContract {
        private final String orientation;
        private String before;

        Forced(String orientation) {
            this.orientation = orientation;
        }

        @Override
        protected Backend backend() {
            return new VectorBackend(Parallelism.of(2));
        }

        @BeforeEach
        void force() {
            before = System.getProperty(DirectProduct.ORIENTATION_PROPERTY);
            System.setProperty(DirectProduct.ORIENTATION_PROPERTY, orientation);
        }

        @AfterEach
        void restore() {
            if (before == null) {
                System.clearProperty(DirectProduct.ORIENTATION_PROPERTY);
            } else {
                System.setProperty(DirectProduct.ORIENTATION_PROPERTY, before);
            }
        }
    }
}
