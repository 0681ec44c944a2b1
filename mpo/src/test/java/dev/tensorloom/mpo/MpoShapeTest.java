package dev.tensorloom.mpo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class MpoShapeTest {

    @Test
    void theWorkedExampleOf768IntoFiveCores() {
        MpoShape shape = MpoShape.of(768, 768, 5);
        assertArrayEquals(new int[] {3, 4, 4, 4, 4}, shape.rowFactors());
        assertArrayEquals(new int[] {4, 4, 4, 4, 3}, shape.colFactors());
        assertArrayEquals(new int[] {1, 12, 192, 192, 12, 1}, shape.fullBonds());
        assertEquals(2, shape.centralCore());
    }

    @ParameterizedTest
    @ValueSource(ints = {384, 768, 1024, 1536, 3072, 4096})
    void transformerSizesFactorEvenlyIntoTwoToSixCores(int dim) {
        for (int n = 2; n <= 6; n++) {
            int[] f = MpoShape.factor(dim, n);
            assertEquals(n, f.length);
            assertEquals(dim, Arrays.stream(f).reduce(1, (a, b) -> a * b), Arrays.toString(f));
            for (int k = 0; k < n; k++) {
                assertTrue(f[k] >= 2 && (k == 0 || f[k - 1] <= f[k]), Arrays.toString(f));
            }
            // No split into n factors >= 2 has a smaller largest factor: check every candidate below it.
            int largest = f[n - 1];
            for (int smaller = 2; smaller < largest; smaller++) {
                assertTrue(!splits(dim, n, smaller), dim + " splits into " + n + " factors <= " + smaller
                        + ", better than " + Arrays.toString(f));
            }
        }
    }

    /** Whether dim is a product of exactly n factors in [2, max]. */
    private static boolean splits(int dim, int n, int max) {
        if (n == 0) {
            return dim == 1;
        }
        for (int f = 2; f <= max; f++) {
            if (dim % f == 0 && splits(dim / f, n - 1, max)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void knownSplits() {
        assertArrayEquals(new int[] {6, 8, 8}, MpoShape.factor(384, 3));
        assertArrayEquals(new int[] {8, 8, 16}, MpoShape.factor(1024, 3));
        assertArrayEquals(new int[] {8, 8, 8, 8}, MpoShape.factor(4096, 4));
        assertArrayEquals(new int[] {4, 4, 4, 6, 8}, MpoShape.factor(3072, 5));
    }

    @Test
    void aDimensionWithTooFewPrimeFactorsSaysSo() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> MpoShape.factor(6, 3));
        assertTrue(e.getMessage().contains("dimension 6 = 2·3 has 2 prime factors"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MpoShape.of(97, 768, 2));
        assertTrue(e.getMessage().contains("dimension 97"), e.getMessage());
    }

    @Test
    void givenFactorsMustMultiplyOut() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MpoShape.of(768, 768, new int[] {3, 4, 4, 4, 4}, new int[] {4, 4, 4, 4, 4}));
        assertTrue(e.getMessage().contains("multiply out to 768 × 1024, not 768 × 768"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new MpoShape(new int[] {2, 2}, new int[] {4}));
        assertThrows(IllegalArgumentException.class, () -> new MpoShape(new int[] {0, 2}, new int[] {4, 1}));
    }

    @Test
    void interleavingPutsTheDigitsOfRowAndColumnSideBySide() {
        // I = 2·3, J = 4·5: element (i, j) with i = (i1, i2), j = (j1, j2) goes to ((i1·4 + j1)·3 + i2)·5 + j2.
        MpoShape shape = new MpoShape(new int[] {2, 3}, new int[] {4, 5});
        int[] index = shape.interleavedIndex();
        for (int i = 0; i < 6; i++) {
            for (int j = 0; j < 20; j++) {
                int i1 = i / 3, i2 = i % 3, j1 = j / 5, j2 = j % 5;
                assertEquals(((i1 * 4 + j1) * 3 + i2) * 5 + j2, index[i * 20 + j]);
            }
        }
        int[] sorted = index.clone();
        Arrays.sort(sorted);
        for (int e = 0; e < sorted.length; e++) {
            assertEquals(e, sorted[e], "a permutation");
        }
    }

    @Test
    void parametersOfTheWorkedExample() {
        MpoShape shape = MpoShape.of(768, 768, 5);
        int[] full = shape.fullBonds();
        assertEquals(663_840, shape.parameters(full));
        assertEquals(589_824, shape.coreSize(full, shape.centralCore()));
        assertEquals(74_016, shape.parameters(full) - shape.coreSize(full, 2));
        assertEquals(90_400, shape.parameters(shape.cappedBonds(64)));
        assertThrows(IllegalArgumentException.class, () -> shape.cappedBonds(0));
    }
}
