package dev.tensorloom.runtime.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class TensorTest {

    private final Arena arena = Arena.ofConfined();

    @AfterEach
    void close() {
        arena.close();
    }

    /** [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]. */
    private Tensor counting() {
        float[] v = new float[12];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        return Tensor.of(arena, v, 3, 4);
    }

    @Test
    void allocateIsZeroedContiguousAndRowMajor() {
        Tensor t = Tensor.allocate(arena, 2, 3);
        assertArrayEquals(new long[] {2, 3}, t.shape());
        assertEquals(3, t.stride(0));
        assertEquals(1, t.stride(1));
        assertEquals(6, t.size());
        assertTrue(t.isContiguous());
        assertArrayEquals(new float[6], t.toArray());
        assertEquals(5f, counting().get(1, 1));
    }

    @Test
    void viewsShareMemoryWithTheirParent() {
        Tensor t = counting();
        Tensor column = t.slice(1, 2, 3);
        Tensor row = t.row(1);
        Tensor transposed = t.transpose(0, 1);
        Tensor flat = t.reshape(12);
        assertSame(t.segment(), column.segment());
        column.set(-1f, 0, 0);
        row.set(-2f, 3);
        transposed.set(-3f, 0, 2);
        flat.set(-4f, 11);
        assertEquals(-1f, t.get(0, 2));
        assertEquals(-2f, t.get(1, 3));
        assertEquals(-3f, t.get(2, 0));
        assertEquals(-4f, t.get(2, 3));
    }

    @Test
    void sliceKeepsStridesAndMovesTheOffset() {
        Tensor block = counting().slice(0, 1, 3).slice(1, 1, 3);
        assertArrayEquals(new long[] {2, 2}, block.shape());
        assertEquals(5, block.offset());
        assertEquals(4, block.leadingDim());
        assertFalse(block.isContiguous());
        assertArrayEquals(new float[] {5, 6, 9, 10}, block.toArray());
        assertTrue(block.toString().contains("strides"), block.toString());
    }

    @Test
    void rowDropsTheFirstAxis() {
        Tensor row = counting().row(2);
        assertEquals(1, row.rank());
        assertEquals(8, row.offset());
        assertArrayEquals(new float[] {8, 9, 10, 11}, row.toArray());
        assertTrue(counting().slice(0, 1, 2).isContiguous(), "one full row is contiguous");
    }

    @Test
    void reshapeNeedsContiguityAndTheSameSize() {
        Tensor t = counting();
        assertArrayEquals(t.toArray(), t.reshape(2, 6).toArray());
        assertArrayEquals(new long[] {4, 3}, t.reshape(4, 3).shape());
        IllegalArgumentException size = assertThrows(IllegalArgumentException.class, () -> t.reshape(5, 2));
        assertTrue(size.getMessage().contains("[3, 4]") && size.getMessage().contains("[5, 2]"), size.getMessage());
        assertThrows(IllegalStateException.class, () -> t.slice(1, 0, 2).reshape(6));
    }

    @Test
    void transposeSwapsShapeAndStrides() {
        Tensor tt = counting().transpose(0, 1);
        assertArrayEquals(new long[] {4, 3}, tt.shape());
        assertEquals(1, tt.stride(0));
        assertEquals(4, tt.stride(1));
        assertArrayEquals(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, tt.toArray());
        IllegalStateException e = assertThrows(IllegalStateException.class, tt::leadingDim);
        assertTrue(e.getMessage().contains("column stride 4"), e.getMessage());
    }

    @Test
    void copyFromHandlesStridedSourcesAndTargets() {
        Tensor t = counting();
        Tensor target = Tensor.allocate(arena, 4, 3);
        target.copyFrom(t.transpose(0, 1));
        assertArrayEquals(t.transpose(0, 1).toArray(), target.toArray());
        Tensor block = t.slice(1, 0, 2);
        block.copyFrom(Tensor.of(arena, new float[] {-1, -2, -3, -4, -5, -6}, 3, 2));
        assertArrayEquals(new float[] {-1, -2, 2, 3, -3, -4, 6, 7, -5, -6, 10, 11}, t.toArray());
        assertThrows(IllegalArgumentException.class, () -> target.copyFrom(t));
    }

    @Test
    void boundsErrorsNameTheShape() {
        Tensor t = counting();
        IndexOutOfBoundsException get = assertThrows(IndexOutOfBoundsException.class, () -> t.get(3, 0));
        assertTrue(get.getMessage().contains("[3, 0]") && get.getMessage().contains("Tensor[3, 4]"), get.getMessage());
        IndexOutOfBoundsException slice = assertThrows(IndexOutOfBoundsException.class, () -> t.slice(1, 2, 5));
        assertTrue(slice.getMessage().contains("Tensor[3, 4]"), slice.getMessage());
        IndexOutOfBoundsException row = assertThrows(IndexOutOfBoundsException.class, () -> t.row(-1));
        assertTrue(row.getMessage().contains("Tensor[3, 4]"), row.getMessage());
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class, () -> t.get(1));
        assertTrue(rank.getMessage().contains("Tensor[3, 4]"), rank.getMessage());
        IllegalArgumentException of = assertThrows(IllegalArgumentException.class,
                () -> Tensor.of(arena, new float[5], 2, 3));
        assertTrue(of.getMessage().contains("[2, 3]") && of.getMessage().contains("6"), of.getMessage());
        IllegalStateException rows = assertThrows(IllegalStateException.class, () -> t.row(0).rows());
        assertTrue(rows.getMessage().contains("Tensor[4]"), rows.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(arena, 2, -1));
    }

    @Test
    void wrapChecksTheSegmentSize() {
        var segment = arena.allocate(24);
        assertEquals(6, Tensor.wrap(segment, 2, 3).size());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.wrap(segment, 7));
        assertTrue(e.getMessage().contains("24 bytes") && e.getMessage().contains("[7]"), e.getMessage());
    }
}
