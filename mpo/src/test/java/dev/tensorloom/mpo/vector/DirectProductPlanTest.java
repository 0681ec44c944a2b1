package dev.tensorloom.mpo.vector;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.RandomMpos;
import dev.tensorloom.mpo.vector.StepProduct.Orientation;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.vector.VectorBackend;
import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The vector direct product's plan: which orientation its steps take (the choices asserted hold at 4, 8 and 16
 * lanes), and a forced orientation that names none. {@link ForcedOrientationContractTest} holds each orientation,
 * forced on every step, to the contract.
 */
class DirectProductPlanTest {

    private static final MpoShape SMALL = new MpoShape(new int[] {4, 6, 8, 8}, new int[] {6, 4, 4, 4});

    private Arena arena;
    private VectorBackend backend;

    @BeforeEach
    void open() {
        arena = Arena.ofShared();
        backend = new VectorBackend(Parallelism.of(2));
    }

    @AfterEach
    void close() {
        arena.close();
    }

    /**
     * At 100× the third step multiplies a core 36 columns wide over 64 rows: as rows it fills 36 of 64 (or 48, 40)
     * columns of its panels, transposed two whole panels (or four, eight) of rows, and the step before writes its
     * tiles into the transposed layout. (Which of the other steps follow depends on the vector width.)
     */
    @Test
    void aNarrowCoreOverManyRowsIsMultipliedTransposed() {
        DirectProduct plan = plan(new int[] {1, 9, 9, 9, 1});
        assertEquals(Orientation.COLUMNS, plan.orientation(2), plan.toString());
        assertTrue(plan.toString().contains("core 1 columns [64x54]·[54x36]"), plan.toString());
    }

    /** At 10× the first step (192 rows, 128 columns) fills its panels as rows and keeps them. */
    @Test
    void aStepThatFillsItsPanelsKeepsItsRows() {
        DirectProduct plan = plan(new int[] {1, 24, 35, 32, 1});
        assertEquals(Orientation.ROWS, plan.orientation(0), plan.toString());
    }

    @Test
    void anUnknownForcedOrientationIsNamed() {
        String before = System.getProperty(DirectProduct.ORIENTATION_PROPERTY);
        System.setProperty(DirectProduct.ORIENTATION_PROPERTY, "diagonal");
        try {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> plan(new int[] {1, 9, 9, 9, 1}));
            assertTrue(e.getMessage().contains("tensorloom.mpo.orientation=diagonal"), e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty(DirectProduct.ORIENTATION_PROPERTY);
            } else {
                System.setProperty(DirectProduct.ORIENTATION_PROPERTY, before);
            }
        }
    }

    private DirectProduct plan(int[] bonds) {
        return new DirectProduct(RandomMpos.mpo(SMALL, bonds, new Random(3), arena), backend.parallelism());
    }
}
