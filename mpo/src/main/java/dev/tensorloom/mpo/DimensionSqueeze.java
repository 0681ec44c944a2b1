package dev.tensorloom.mpo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * MPOP's dimension squeezing: lower the bond cap step by step, as long as the MPO stays within a fidelity target,
 * and keep the last MPO that did. Fidelity here is the guaranteed relative Frobenius error sqrt(Σε²)/||W||_F (no
 * training runs between steps yet: the aim of the steps is to let fine-tuning recover between them).
 */
public final class DimensionSqueeze {

    private DimensionSqueeze() {
    }

    /**
     * @param steps   every cap tried, in order, with its decomposition (the last one tried may miss the target)
     * @param result  the smallest-cap decomposition that met the target (the untruncated one if none did)
     */
    public record Result(List<Integer> caps, List<Decomposition> steps, Decomposition result) {
    }

    /**
     * Starting from the largest bond of the exact MPO, multiplies the cap by {@code shrink} (in (0, 1), and at least
     * one less each step) while the relative bound stays ≤ {@code target}.
     */
    public static Result squeeze(float[] w, MpoShape shape, double target, double shrink) {
        if (!(target >= 0 && target <= 1)) {
            throw new IllegalArgumentException("fidelity target must be a relative error in [0, 1], got " + target);
        }
        if (!(shrink > 0 && shrink < 1)) {
            throw new IllegalArgumentException("shrink factor must be in (0, 1), got " + shrink);
        }
        Decomposition kept = TtSvd.decompose(w, shape, Truncation.none());
        int cap = Arrays.stream(shape.fullBonds()).max().orElseThrow();
        List<Integer> caps = new ArrayList<>();
        List<Decomposition> steps = new ArrayList<>();
        while (cap > 1) {
            cap = Math.min(cap - 1, (int) Math.floor(cap * shrink));
            cap = Math.max(cap, 1);
            Decomposition next = TtSvd.decompose(w, shape, Truncation.bondCap(cap));
            caps.add(cap);
            steps.add(next);
            if (next.relativeBound() > target) {
                break;
            }
            kept = next;
        }
        return new Result(List.copyOf(caps), List.copyOf(steps), kept);
    }
}
