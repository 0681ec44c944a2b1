package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;

/**
 * Round-to-nearest: every group gets its {@link GroupGrid} from its own minimum and maximum, and every weight
 * the nearest level, so |w - ŵ| ≤ s/2 for each weight. No data, no error feedback: the baseline GPTQ beats.
 */
public final class Rtn {

    private Rtn() {
    }

    /** b [k, n] (host, finite) in {@code format}, grouped along k for each of the n output channels. */
    public static PackedWeights quantize(Tensor b, GroupFormat format) {
        Shapes.requireMatrix(b, "weight");
        int k = b.rows();
        int n = b.cols();
        PackedWeights packed = new PackedWeights(format, k, n);
        int g = packed.groupSize();
        float[] column = new float[k];
        for (int j = 0; j < n; j++) {
            for (int p = 0; p < k; p++) {
                column[p] = b.get(p, j);
            }
            requireFinite(column, j);
            for (int group = 0; group < packed.groups(); group++) {
                quantizeGroup(column, group * g, g, packed, group, j);
            }
        }
        return packed;
    }

    /** Rounds column[from, from + g) to its own grid, as group {@code group} of output channel j. */
    static void quantizeGroup(float[] column, int from, int g, PackedWeights packed, int group, int j) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (int p = from; p < from + g; p++) {
            min = Math.min(min, column[p]);
            max = Math.max(max, column[p]);
        }
        GroupGrid grid = GroupGrid.of(packed.format(), min, max);
        packed.setScale(group, j, grid.scaleBits());
        if (!packed.format().symmetric()) {
            packed.setZero(group, j, grid.zero());
        }
        for (int p = from; p < from + g; p++) {
            packed.setCode(p, j, grid.code(column[p]));
        }
    }

    static void requireFinite(float[] column, int j) {
        for (int p = 0; p < column.length; p++) {
            if (!Float.isFinite(column[p])) {
                throw new IllegalArgumentException("weight (" + p + ", " + j + ") is " + column[p]
                        + "; only finite weights can be quantized");
            }
        }
    }
}
