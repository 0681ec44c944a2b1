package dev.tensorloom.mpo;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The contraction order of the direct product: which runs of consecutive cores to merge into one core before
 * sweeping. A core-by-core sweep is not always cheapest: REFERENCE.md's 4096×4096 example (4 cores of 8×8, bonds
 * 64, D, 64) costs about 8 times fewer FLOPs when each pair of cores is merged first, and the merged cores hold
 * about as many numbers as the originals at that D. Merging is exact: it contracts the bonds inside a group.
 */
public final class MpoGrouping {

    private MpoGrouping() {
    }

    /** A grouping (core counts per group, summing to n) with its merged shape, bonds and costs. */
    public record Plan(int[] groups, MpoShape shape, int[] bonds, long parameters, long multiplyAdds) {
    }

    /**
     * Of every way to cut the n cores into runs, the one whose direct product of m rows takes the fewest
     * multiply-adds, among those whose merged cores hold at most {@code growth} times the parameters of the
     * original ones; ties go to fewer merges.
     */
    public static Plan cheapest(MpoShape shape, int[] bonds, int m, double growth) {
        if (!(growth >= 1)) {
            throw new IllegalArgumentException("parameter growth must be >= 1, got " + growth);
        }
        int n = shape.cores();
        long limit = (long) Math.floor(growth * shape.parameters(bonds));
        Plan best = null;
        // Bit k of mask set: a cut between core k and core k + 1.
        for (int mask = (1 << (n - 1)) - 1; mask >= 0; mask--) {
            Plan plan = plan(shape, bonds, m, groups(n, mask));
            if (plan.parameters() <= limit && (best == null || plan.multiplyAdds() < best.multiplyAdds())) {
                best = plan;
            }
        }
        return best;
    }

    private static int[] groups(int n, int cuts) {
        List<Integer> sizes = new ArrayList<>();
        int size = 1;
        for (int k = 0; k < n - 1; k++) {
            if ((cuts & (1 << k)) != 0) {
                sizes.add(size);
                size = 1;
            } else {
                size++;
            }
        }
        sizes.add(size);
        return sizes.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The merged shape, bonds and costs of a grouping. */
    public static Plan plan(MpoShape shape, int[] bonds, int m, int[] groups) {
        int g = groups.length;
        int[] rows = new int[g];
        int[] cols = new int[g];
        int[] merged = new int[g + 1];
        int k = 0;
        for (int group = 0; group < g; group++) {
            merged[group] = bonds[k];
            rows[group] = 1;
            cols[group] = 1;
            for (int c = 0; c < groups[group]; c++, k++) {
                rows[group] *= shape.rowFactor(k);
                cols[group] *= shape.colFactor(k);
            }
        }
        if (k != shape.cores()) {
            throw new IllegalArgumentException("groups " + Arrays.toString(groups) + " do not cover the "
                    + shape.cores() + " cores");
        }
        merged[g] = 1;
        MpoShape mergedShape = new MpoShape(rows, cols);
        return new Plan(groups.clone(), mergedShape, merged, mergedShape.parameters(merged),
                MpoCost.directMultiplyAdds(mergedShape, merged, m));
    }

    /** {@code host}'s cores (host memory) merged by {@code plan}, as new host tensors in {@code arena}. */
    public static Mpo merge(Mpo host, Plan plan, Arena arena) {
        MpoShape shape = host.shape();
        int[] bonds = host.bonds();
        Tensor[] cores = new Tensor[plan.groups().length];
        int k = 0;
        for (int group = 0; group < cores.length; group++) {
            // Grow the core [d, I, J, d'] one original core at a time: [d, I, J, e]·[e, i, j, d''] gives
            // [d, I·i, J·j, d''] with the new digit least significant on both sides.
            double[] core = toDouble(host.core(k).toArray());
            int left = bonds[k];
            int rows = shape.rowFactor(k);
            int cols = shape.colFactor(k);
            int right = bonds[k + 1];
            for (int c = 1; c < plan.groups()[group]; c++) {
                k++;
                float[] next = host.core(k).toArray();
                int i2 = shape.rowFactor(k);
                int j2 = shape.colFactor(k);
                int right2 = bonds[k + 1];
                double[] grown = new double[left * rows * i2 * cols * j2 * right2];
                for (int a = 0; a < left; a++) {
                    for (int i = 0; i < rows; i++) {
                        for (int j = 0; j < cols; j++) {
                            for (int e = 0; e < right; e++) {
                                double v = core[((a * rows + i) * cols + j) * right + e];
                                for (int ii = 0; ii < i2; ii++) {
                                    for (int jj = 0; jj < j2; jj++) {
                                        int from = ((e * i2 + ii) * j2 + jj) * right2;
                                        int to = ((a * rows * i2 + i * i2 + ii) * cols * j2 + j * j2 + jj) * right2;
                                        for (int b = 0; b < right2; b++) {
                                            grown[to + b] += v * next[from + b];
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                core = grown;
                rows *= i2;
                cols *= j2;
                right = right2;
            }
            float[] values = new float[core.length];
            for (int e = 0; e < values.length; e++) {
                values[e] = (float) core[e];
            }
            cores[group] = Tensor.of(arena, values, left, rows, cols, right);
            k++;
        }
        return new Mpo(plan.shape(), plan.bonds(), cores);
    }

    private static double[] toDouble(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }
}
