package dev.tensorloom.mpo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The steps of the direct product y = x·W, shared by every implementation of {@link MpoKernels#multiply}: the
 * cores are absorbed into the state one at a time, in an order chosen to take the fewest multiply-adds.
 *
 * <p>The state is a chain: for each core k its row digit i_k (not yet absorbed) or its column digit j_k
 * (absorbed), and between cores k-1 and k the bond d_k when exactly one of the two is absorbed, all after the
 * batch index. Absorbing core k contracts i_k with the bonds beside it that are already in the state, which
 * lie next to i_k, and puts in their place j_k and the bonds beside it that are not: so each step is, for each
 * of its P leading blocks, [r, Q] → [s, Q] with core k read as a matrix [r, s], r = (d_k if core k-1 is
 * absorbed, i_k, d_{k+1} if core k+1 is), s = (d_k if not, j_k, d_{k+1} if not). No data moves between steps.
 * Left to right, every core reads as stored ([d_k·i_k, j_k·d_{k+1}]); any other order reads some cores
 * permuted.
 *
 * <p>The order matters: each step costs P·r·s·Q multiply-adds, and which digits are still rows (i) or already
 * columns (j) sets P·Q. {@link #cheapestOrder} finds the cheapest of all n! orders by dynamic programming over
 * the sets of absorbed cores (2ⁿ·n² work, under a millisecond up to n = 12; OPF's 15-core MPOs are merged to
 * dense, not swept); the batch multiplies every step alike, so the order does not depend on it. Left to right
 * wins ties, since it reads every core as stored.
 */
public final class MpoSweep {

    private MpoSweep() {
    }

    /**
     * One step: out[p][s][q] = Σ_r core[r][s]·in[p][r][q] for p < blocks, with core {@code core} [d, i, j, d']
     * read as the matrix [r, s] (see {@link #coreIndex}); {@code leftIn} / {@code rightIn} say whether the bond
     * on that side is contracted (its neighbour already absorbed) rather than new.
     */
    public record Step(int core, int blocks, int r, int s, int q, int leftBond, int rowFactor, int colFactor,
            int rightBond, boolean leftIn, boolean rightIn) {

        /** Floats of the state this step writes. */
        public int outputSize() {
            return blocks * s * q;
        }

        /** Multiply-adds of this step. */
        public long multiplyAdds() {
            return (long) blocks * r * s * q;
        }

        /** Whether the core as stored, [d·i, j·d'] row-major, is already the matrix [r, s] this step reads. */
        public boolean coreAsStored() {
            return (leftIn || leftBond == 1) && (!rightIn || rightBond == 1);
        }

        /** Where element (row, col) of the matrix [r, s] lies in the core as stored [d, i, j, d']. */
        public int coreIndex(int row, int col) {
            int dl = leftIn ? row / (rowFactor * (rightIn ? rightBond : 1)) : col / (colFactor * (rightIn ? 1 : rightBond));
            int i = row / (rightIn ? rightBond : 1) % rowFactor;
            int dr = rightIn ? row % rightBond : col % rightBond;
            int j = col / (rightIn ? 1 : rightBond) % colFactor;
            return ((dl * rowFactor + i) * colFactor + j) * rightBond + dr;
        }
    }

    /** The steps for m rows in the cheapest order; fails when a state would not fit an array. */
    public static List<Step> of(Mpo mpo, int m) {
        return of(mpo.shape(), mpo.bonds(), m, cheapestOrder(mpo.shape(), mpo.bonds()));
    }

    /** The steps for m rows absorbing the cores in {@code order} (a permutation of 0 … n-1). */
    public static List<Step> of(MpoShape shape, int[] bonds, int m, int[] order) {
        int n = shape.cores();
        requirePermutation(order, n);
        List<Step> steps = new ArrayList<>(n);
        boolean[] absorbed = new boolean[n];
        for (int k : order) {
            long p = m;
            for (int l = 0; l < k; l++) {
                p *= digit(shape, absorbed, l) * (l > 0 && absorbed[l - 1] != absorbed[l] ? bonds[l] : 1);
            }
            long q = 1;
            for (int l = k + 1; l < n; l++) {
                q *= digit(shape, absorbed, l) * (l > k + 1 && absorbed[l - 1] != absorbed[l] ? bonds[l] : 1);
            }
            boolean leftIn = k > 0 && absorbed[k - 1];
            boolean rightIn = k < n - 1 && absorbed[k + 1];
            int left = bonds[k];
            int right = bonds[k + 1];
            long r = (leftIn ? left : 1) * (long) shape.rowFactor(k) * (rightIn ? right : 1);
            long s = (leftIn ? 1 : left) * (long) shape.colFactor(k) * (rightIn ? 1 : right);
            long size = Math.max(p * r * q, p * s * q);
            if (size > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException("the direct product of " + shape + " with bonds "
                        + Arrays.toString(bonds) + " and " + m + " rows holds a state of " + size
                        + " floats, more than an array takes");
            }
            steps.add(new Step(k, (int) p, (int) r, (int) s, (int) q, left, shape.rowFactor(k), shape.colFactor(k),
                    right, leftIn, rightIn));
            absorbed[k] = true;
        }
        return steps;
    }

    /** 0, 1, …, n-1. */
    public static int[] leftToRight(int n) {
        int[] order = new int[n];
        for (int k = 0; k < n; k++) {
            order[k] = k;
        }
        return order;
    }

    /** Multiply-adds of the direct product of m rows absorbing the cores in {@code order}. */
    public static long multiplyAdds(MpoShape shape, int[] bonds, long m, int[] order) {
        return m * unitCost(shape, bonds, order);
    }

    /** The order of fewest multiply-adds over all n! orders; left to right when it is among the cheapest. */
    public static int[] cheapestOrder(MpoShape shape, int[] bonds) {
        int n = shape.cores();
        shape.requireBonds(bonds);
        if (n > 24) {
            throw new IllegalArgumentException("choosing an order over " + n + " cores takes 2^" + n
                    + " steps; merge the cores first");
        }
        int full = (1 << n) - 1;
        long[] cost = new long[full + 1];
        int[] last = new int[full + 1];
        Arrays.fill(cost, Long.MAX_VALUE);
        cost[0] = 0;
        for (int set = 0; set < full; set++) {
            if (cost[set] == Long.MAX_VALUE) {
                continue;
            }
            for (int k = 0; k < n; k++) {
                if ((set & (1 << k)) == 0) {
                    long c = cost[set] + stepCost(shape, bonds, set, k);
                    int next = set | (1 << k);
                    if (c < cost[next]) {
                        cost[next] = c;
                        last[next] = k;
                    }
                }
            }
        }
        int[] leftToRight = leftToRight(n);
        if (unitCost(shape, bonds, leftToRight) <= cost[full]) {
            return leftToRight;
        }
        int[] order = new int[n];
        for (int set = full, at = n - 1; set != 0; at--) {
            order[at] = last[set];
            set &= ~(1 << last[set]);
        }
        return order;
    }

    /** Multiply-adds for one row of absorbing core k when the cores in {@code set} are absorbed. */
    private static long stepCost(MpoShape shape, int[] bonds, int set, int k) {
        int n = shape.cores();
        long cost = (long) shape.rowFactor(k) * shape.colFactor(k) * bonds[k] * bonds[k + 1];
        for (int l = 0; l < n; l++) {
            if (l != k) {
                cost *= (set & (1 << l)) != 0 ? shape.colFactor(l) : shape.rowFactor(l);
            }
        }
        for (int b = 1; b < n; b++) {
            // Bond b joins cores b-1 and b; bonds beside k are counted once, above.
            if (b != k && b != k + 1 && ((set >> (b - 1)) & 1) != ((set >> b) & 1)) {
                cost *= bonds[b];
            }
        }
        return cost;
    }

    private static long unitCost(MpoShape shape, int[] bonds, int[] order) {
        requirePermutation(order, shape.cores());
        long sum = 0;
        int set = 0;
        for (int k : order) {
            sum += stepCost(shape, bonds, set, k);
            set |= 1 << k;
        }
        return sum;
    }

    private static long digit(MpoShape shape, boolean[] absorbed, int l) {
        return absorbed[l] ? shape.colFactor(l) : shape.rowFactor(l);
    }

    private static void requirePermutation(int[] order, int n) {
        boolean[] seen = new boolean[n];
        boolean ok = order.length == n;
        for (int k = 0; ok && k < n; k++) {
            ok = order[k] >= 0 && order[k] < n && !seen[order[k]];
            if (ok) {
                seen[order[k]] = true;
            }
        }
        if (!ok) {
            throw new IllegalArgumentException("order " + Arrays.toString(order)
                    + " is not a permutation of the " + n + " cores");
        }
    }
}
