package dev.tensorloom.mpo;

import dev.tensorloom.runtime.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * Direct products by several MPOs that share one core (MPOE's experts and their central tensor), each MPO
 * multiplying its own group of rows, made by {@link MpoKernels#prepareSharedCore}.
 */
public interface SharedCoreProduct {

    /**
     * Rows [starts[g], starts[g + 1]) of y = the same rows of x · W_g for every MPO g (an empty group is skipped);
     * starts runs from 0 to x.rows() without decreasing. Returns the weight bytes read: each core once each time a
     * step absorbs it.
     */
    long multiply(int[] starts, Tensor x, Tensor y);

    /** The checks every implementation makes of the MPOs: at least one, one shape and bonds, a core index. */
    static void requireMpos(List<Mpo> mpos, int shared) {
        if (mpos.isEmpty()) {
            throw new IllegalArgumentException("no MPOs to share a core");
        }
        Mpo first = mpos.get(0);
        if (shared < 0 || shared >= first.shape().cores()) {
            throw new IllegalArgumentException("shared core " + shared + " of " + first + ", which has "
                    + first.shape().cores() + " cores");
        }
        for (int g = 1; g < mpos.size(); g++) {
            Mpo other = mpos.get(g);
            if (!other.shape().equals(first.shape()) || !Arrays.equals(other.bonds(), first.bonds())) {
                throw new IllegalArgumentException("MPO " + g + ", " + other + ", cannot share a core with MPO 0, "
                        + first + ": their shapes or bonds differ");
            }
        }
    }

    /** The checks every implementation makes of {@code starts} for {@code groups} MPOs and x with {@code rows} rows. */
    static void requireGroups(int[] starts, int groups, int rows) {
        boolean ok = starts.length == groups + 1 && starts[0] == 0 && starts[groups] == rows;
        for (int g = 0; ok && g < groups; g++) {
            ok = starts[g] <= starts[g + 1];
        }
        if (!ok) {
            throw new IllegalArgumentException("group starts " + Arrays.toString(starts) + " do not split "
                    + rows + " rows among " + groups + " MPOs (0 first, " + rows + " last, never decreasing)");
        }
    }
}
