package dev.tensorloom.mpo;

import java.util.ArrayList;
import java.util.List;

/**
 * The steps of the direct product y = x·W, shared by every implementation of {@link MpoKernels#multiply}. The
 * state starts as x [m, I] read as [P = m, R = i₁, Q = i₂…iₙ]; step k multiplies each of its P blocks
 * [R = d_k·i_k, Q] by core k read as [R, S = j_k·d_{k+1}], giving [P, S, Q], which is already the next step's
 * [P·j_k, d_{k+1}·i_{k+1}, Q/i_{k+1}]: no data moves between steps. After the last core the state is y [m, J].
 */
public final class MpoSweep {

    private MpoSweep() {
    }

    /** One step: out[p][s][q] = Σ_r core_k[r][s]·in[p][r][q] for p < blocks, r < r, s < s, q < q. */
    public record Step(int core, int blocks, int r, int s, int q) {

        /** Floats of the state this step writes. */
        public int outputSize() {
            return blocks * s * q;
        }
    }

    /** The steps for m rows; fails when a state would not fit an array. */
    public static List<Step> of(Mpo mpo, int m) {
        MpoShape shape = mpo.shape();
        int[] d = mpo.bonds();
        List<Step> steps = new ArrayList<>(shape.cores());
        long p = m;
        long q = shape.rows();
        for (int k = 0; k < shape.cores(); k++) {
            q /= shape.rowFactor(k);
            long r = (long) d[k] * shape.rowFactor(k);
            long s = (long) shape.colFactor(k) * d[k + 1];
            long size = Math.max(p * r * q, p * s * q);
            if (size > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("the direct product of " + mpo + " with " + m
                        + " rows holds a state of " + size + " floats, more than an array takes");
            }
            steps.add(new Step(k, (int) p, (int) r, (int) s, (int) q));
            p *= shape.colFactor(k);
        }
        return steps;
    }
}
