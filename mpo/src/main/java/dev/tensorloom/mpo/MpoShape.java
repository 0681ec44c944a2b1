package dev.tensorloom.mpo;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * How a weight W [I, J] is cut into n cores: I = i₁·…·iₙ and J = j₁·…·jₙ, with W's row index read as the digits
 * (i₁, …, iₙ) and its column index as (j₁, …, jₙ), both most significant first, and the axes interleaved to
 * (i₁, j₁, …, iₙ, jₙ). Core k has shape (d_{k-1}, i_k, j_k, d_k) with d₀ = dₙ = 1.
 *
 * <p>{@link #of(int, int, int)} chooses the factors: the most even split of each dimension into factors of at
 * least 2, rows in ascending and columns in descending order, so the products i_k·j_k stay even along the chain
 * and the largest untruncated bond sits in the middle (768 into 5 gives (3, 4, 4, 4, 4) × (4, 4, 4, 4, 3), the
 * shape of REFERENCE.md's worked example).
 */
public record MpoShape(int[] rowFactors, int[] colFactors) {

    public MpoShape {
        if (rowFactors.length == 0 || rowFactors.length != colFactors.length) {
            throw new IllegalArgumentException("row factors " + Arrays.toString(rowFactors) + " and column factors "
                    + Arrays.toString(colFactors) + " must be the same, non-zero number of cores");
        }
        for (int k = 0; k < rowFactors.length; k++) {
            if (rowFactors[k] < 1 || colFactors[k] < 1) {
                throw new IllegalArgumentException("factors must be positive, got " + Arrays.toString(rowFactors)
                        + " × " + Arrays.toString(colFactors));
            }
        }
        product(rowFactors);
        product(colFactors);
        rowFactors = rowFactors.clone();
        colFactors = colFactors.clone();
    }

    /** The shape with the given factors, after checking that they multiply out to rows and cols. */
    public static MpoShape of(int rows, int cols, int[] rowFactors, int[] colFactors) {
        MpoShape shape = new MpoShape(rowFactors, colFactors);
        if (shape.rows() != rows || shape.cols() != cols) {
            throw new IllegalArgumentException("factors " + Arrays.toString(rowFactors) + " × "
                    + Arrays.toString(colFactors) + " multiply out to " + shape.rows() + " × " + shape.cols()
                    + ", not " + rows + " × " + cols);
        }
        return shape;
    }

    /** rows × cols in {@code cores} cores, each dimension split as evenly as it goes (see the class comment). */
    public static MpoShape of(int rows, int cols, int cores) {
        int[] i = factor(rows, cores);
        int[] j = factor(cols, cores);
        reverse(j);
        return new MpoShape(i, j);
    }

    /**
     * rows × cols in many cores for over-parameterization (OPF): each dimension is cut into its prime factors,
     * ascending, the rows' placed from the first core on and the columns' from the last core back, the remaining
     * places being 1; a dimension with at least {@code cores} prime factors is split as in {@link #factor}. Every
     * core then holds at least one factor of 2 or more, the products i_k·j_k stay small (2 to 6 for BERT sizes),
     * and the untruncated bonds grow toward the middle. 768 × 768 in 15 cores: rows (2,2,2,2,2,2,2,2,3,1,1,1,1,1,1),
     * columns (1,1,1,1,1,1,3,2,2,2,2,2,2,2,2). Refused when rows and columns together have fewer prime factors than
     * cores, which would leave a core with i_k = j_k = 1.
     */
    public static MpoShape deep(int rows, int cols, int cores) {
        if (rows < 1 || cols < 1 || cores < 1) {
            throw new IllegalArgumentException("cannot cut " + rows + " × " + cols + " into " + cores + " cores");
        }
        List<Integer> rowPrimes = primeFactors(rows);
        List<Integer> colPrimes = primeFactors(cols);
        if (rowPrimes.size() + colPrimes.size() < cores) {
            throw new IllegalArgumentException(rows + " × " + cols + " has " + (rowPrimes.size() + colPrimes.size())
                    + " prime factors in all and cannot be cut into " + cores + " cores each holding one");
        }
        int[] i = spread(rows, rowPrimes, cores);
        int[] j = spread(cols, colPrimes, cores);
        reverse(j);
        return new MpoShape(i, j);
    }

    /** dim's primes, ascending, then 1s; or {@link #factor} when there are at least n primes. */
    private static int[] spread(int dim, List<Integer> primes, int n) {
        if (primes.size() >= n) {
            return factor(dim, n);
        }
        int[] f = new int[n];
        Arrays.fill(f, 1);
        for (int k = 0; k < primes.size(); k++) {
            f[k] = primes.get(k);
        }
        return f;
    }

    /**
     * {@code dim} as a product of {@code n} factors of at least 2 (1 only for n = 1 and dim = 1), in ascending
     * order, with the smallest largest factor and, among those, the largest smallest one.
     */
    public static int[] factor(int dim, int n) {
        if (dim < 1 || n < 1) {
            throw new IllegalArgumentException("cannot factor dimension " + dim + " into " + n + " factors");
        }
        if (n == 1) {
            return new int[] {dim};
        }
        List<Integer> primes = primeFactors(dim);
        if (primes.size() < n) {
            throw new IllegalArgumentException("dimension " + dim + " = " + primes.stream().map(String::valueOf)
                    .reduce((a, b) -> a + "·" + b).orElse("1") + " has " + primes.size()
                    + " prime factors and cannot be factored into " + n + " factors of at least 2");
        }
        int[][] best = {null};
        search(dim, n, 2, new int[n], 0, best);
        return best[0];
    }

    /** Non-decreasing factor lists of {@code rest} into {@code n - depth} more factors >= min; keeps the best. */
    private static void search(int rest, int n, int min, int[] current, int depth, int[][] best) {
        if (depth == n - 1) {
            if (rest >= min) {
                current[depth] = rest;
                if (best[0] == null || better(current, best[0])) {
                    best[0] = current.clone();
                }
            }
            return;
        }
        // The remaining n - depth factors are all >= f, so f^(n - depth) <= rest.
        for (int f = min; pow(f, n - depth) <= rest; f++) {
            if (rest % f == 0) {
                current[depth] = f;
                search(rest / f, n, f, current, depth + 1, best);
            }
        }
    }

    private static boolean better(int[] a, int[] b) {
        int n = a.length;
        if (a[n - 1] != b[n - 1]) {
            return a[n - 1] < b[n - 1];
        }
        return a[0] > b[0];
    }

    private static long pow(int f, int e) {
        long p = 1;
        for (int i = 0; i < e && p <= Integer.MAX_VALUE; i++) {
            p *= f;
        }
        return p;
    }

    private static List<Integer> primeFactors(int dim) {
        List<Integer> primes = new ArrayList<>();
        int rest = dim;
        for (int p = 2; (long) p * p <= rest; p++) {
            while (rest % p == 0) {
                primes.add(p);
                rest /= p;
            }
        }
        if (rest > 1) {
            primes.add(rest);
        }
        return primes;
    }

    private static void reverse(int[] a) {
        for (int l = 0, r = a.length - 1; l < r; l++, r--) {
            int t = a[l];
            a[l] = a[r];
            a[r] = t;
        }
    }

    private static int product(int[] factors) {
        long p = 1;
        for (int f : factors) {
            p *= f;
            if (p > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("factors " + Arrays.toString(factors) + " multiply past 2^31");
            }
        }
        return (int) p;
    }

    /** The number of cores n. */
    public int cores() {
        return rowFactors.length;
    }

    /** I. */
    public int rows() {
        return product(rowFactors);
    }

    /** J. */
    public int cols() {
        return product(colFactors);
    }

    /** i_k, k counted from 0. */
    public int rowFactor(int k) {
        return rowFactors[k];
    }

    /** j_k, k counted from 0. */
    public int colFactor(int k) {
        return colFactors[k];
    }

    /** The central core: the middle one, index n/2 counted from 0. */
    public int centralCore() {
        return cores() / 2;
    }

    /**
     * The bonds d₀ … dₙ of an exact MPO: d_k = min(∏_{m≤k} i_m·j_m, ∏_{m>k} i_m·j_m), the ranks of W's
     * unfoldings at most, and d₀ = dₙ = 1.
     */
    public int[] fullBonds() {
        int n = cores();
        int[] d = new int[n + 1];
        for (int k = 0; k <= n; k++) {
            long left = 1;
            long right = 1;
            for (int m = 0; m < k; m++) {
                left *= (long) rowFactors[m] * colFactors[m];
            }
            for (int m = k; m < n; m++) {
                right *= (long) rowFactors[m] * colFactors[m];
            }
            d[k] = (int) Math.min(left, right);
        }
        return d;
    }

    /** Σ_k d_{k-1}·i_k·j_k·d_k: the parameters of the cores with bonds d₀ … dₙ. */
    public long parameters(int[] bonds) {
        requireBonds(bonds);
        long sum = 0;
        for (int k = 0; k < cores(); k++) {
            sum += coreSize(bonds, k);
        }
        return sum;
    }

    /** d_{k-1}·i_k·j_k·d_k. */
    public long coreSize(int[] bonds, int k) {
        return (long) bonds[k] * rowFactors[k] * colFactors[k] * bonds[k + 1];
    }

    /** Bonds every one of {@code cap} at most: min(cap, d_k) of the exact MPO. */
    public int[] cappedBonds(int cap) {
        if (cap < 1) {
            throw new IllegalArgumentException("bond cap must be >= 1, got " + cap);
        }
        int[] d = fullBonds();
        for (int k = 0; k < d.length; k++) {
            d[k] = Math.min(d[k], cap);
        }
        return d;
    }

    void requireBonds(int[] bonds) {
        if (bonds.length != cores() + 1 || bonds[0] != 1 || bonds[cores()] != 1) {
            throw new IllegalArgumentException("bonds " + Arrays.toString(bonds) + " must be d_0 .. d_" + cores()
                    + " with d_0 = d_n = 1");
        }
        for (int b : bonds) {
            if (b < 1) {
                throw new IllegalArgumentException("bonds " + Arrays.toString(bonds) + " must be >= 1");
            }
        }
    }

    /**
     * W [I, J] (row-major) with its axes interleaved to (i₁, j₁, …, iₙ, jₙ), row-major: the tensor whose first
     * unfolding TT-SVD cuts.
     */
    public double[] interleave(float[] w) {
        if (w.length != (long) rows() * cols()) {
            throw new IllegalArgumentException("matrix of " + w.length + " elements is not " + rows() + " × " + cols());
        }
        double[] t = new double[w.length];
        int[] target = interleavedIndex();
        for (int e = 0; e < w.length; e++) {
            t[target[e]] = w[e];
        }
        return t;
    }

    /**
     * For each element e = i·J + j of W, its position in the interleaved order:
     * {@link #interleavedRowOffsets()}[i] + {@link #interleavedColOffsets()}[j].
     */
    public int[] interleavedIndex() {
        int[] rowPart = interleavedRowOffsets();
        int[] colPart = interleavedColOffsets();
        int cols = cols();
        int[] index = new int[rowPart.length * cols];
        for (int i = 0; i < rowPart.length; i++) {
            for (int j = 0; j < cols; j++) {
                index[i * cols + j] = rowPart[i] + colPart[j];
            }
        }
        return index;
    }

    /** Row i's part of an interleaved position: Σ_k i_k·j_k·stride_k, stride_k = ∏_{m>k} i_m·j_m, i_k the digits of i. */
    public int[] interleavedRowOffsets() {
        return offsets(rowFactors, true);
    }

    /** Column j's part of an interleaved position: Σ_k j_k·stride_k, j_k the digits of j. */
    public int[] interleavedColOffsets() {
        return offsets(colFactors, false);
    }

    private int[] offsets(int[] factors, boolean row) {
        int[] offsets = new int[product(factors)];
        for (int index = 0; index < offsets.length; index++) {
            long position = 0;
            long stride = 1;
            int rest = index;
            for (int k = cores() - 1; k >= 0; k--) {
                int digit = rest % factors[k];
                rest /= factors[k];
                position += digit * (row ? stride * colFactors[k] : stride);
                stride *= (long) rowFactors[k] * colFactors[k];
            }
            offsets[index] = (int) position;
        }
        return offsets;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MpoShape s && Arrays.equals(rowFactors, s.rowFactors)
                && Arrays.equals(colFactors, s.colFactors);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(rowFactors) + Arrays.hashCode(colFactors);
    }

    @Override
    public int[] rowFactors() {
        return rowFactors.clone();
    }

    @Override
    public int[] colFactors() {
        return colFactors.clone();
    }

    @Override
    public String toString() {
        return Arrays.toString(rowFactors) + " × " + Arrays.toString(colFactors);
    }
}
