package dev.tensorloom.mpo.vector;

import dev.tensorloom.mpo.Mpo;
import dev.tensorloom.mpo.MpoArguments;
import dev.tensorloom.mpo.MpoShape;
import dev.tensorloom.mpo.MpoSweep;
import dev.tensorloom.runtime.kernel.Parallelism;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;

/**
 * The direct product x·W cut into one part per thread by a digit of W's column index, so that no state crosses
 * between the threads. The sweep's first step absorbs core c and makes the digit j_c of the output; every later step
 * only carries j_c along (its products are block-diagonal in it). So the columns of W whose digit j_c lies in a range
 * are themselves an MPO, the same cores but core c's j_c cut to that range, and each thread sweeps its own from x to
 * its columns of y: a whole {@link DirectProduct} on one thread, its states in its own caches, the cores' copies the
 * parts plan alike held once ({@link DirectProduct#shareCopies}). Splitting each step over the threads instead, as a
 * {@link DirectProduct} on several threads does, moves every state between the cores' caches, which at batch 1 on a
 * 1536×384 MPO (four steps of 0.02-0.6 M multiply-adds at 50×) cost as much as the second thread saved: 34 µs a
 * product on one thread or two, against 19 µs in two parts (warm, best of windows, 2-core Zen 4, 2026-12-03; at 10×
 * 63 against 86 µs, at 100× 22 against 24).
 */
final class ColumnParts implements PreparedMatrix {

    private final Mpo mpo;
    private final Parallelism parallelism;
    private final DirectProduct[] parts;
    /** Per part: where its runs of columns start in y, each {@link #run} floats long. */
    private final int[][] runStarts;
    private final int[] run;
    private final long bytes;

    /**
     * One part per thread of {@code parallelism} (fewer where the first core's column factor has fewer values), the
     * digit of the sweep's first core cut as evenly as it allows.
     */
    ColumnParts(Mpo mpo, Parallelism parallelism) {
        this.mpo = mpo;
        this.parallelism = parallelism;
        MpoShape shape = mpo.shape();
        int[] order = MpoSweep.cheapestOrder(shape, mpo.bonds());
        int c = order[0];
        int digits = shape.colFactor(c);
        int count = Math.min(parallelism.threads(), digits);
        int after = 1;
        for (int k = c + 1; k < shape.cores(); k++) {
            after *= shape.colFactor(k);
        }
        int prefixes = shape.cols() / (digits * after);
        parts = new DirectProduct[count];
        runStarts = new int[count][];
        run = new int[count];
        for (int part = 0; part < count; part++) {
            int j0 = digits * part / count;
            int j1 = digits * (part + 1) / count;
            parts[part] = new DirectProduct(sliced(mpo, c, j0, j1), Parallelism.of(1), -1,
                    DirectProduct.forcedOrientation(), order);
            run[part] = (j1 - j0) * after;
            runStarts[part] = new int[prefixes];
            for (int prefix = 0; prefix < prefixes; prefix++) {
                runStarts[part][prefix] = (prefix * digits + j0) * after;
            }
        }
        this.bytes = DirectProduct.shareCopies(parts);
    }

    /** Whether cutting {@code mpo} so gives every thread of {@code parallelism} a part. */
    static boolean splits(Mpo mpo, Parallelism parallelism) {
        int c = MpoSweep.cheapestOrder(mpo.shape(), mpo.bonds())[0];
        return parallelism.threads() > 1 && mpo.shape().colFactor(c) >= parallelism.threads();
    }

    /** The MPO of W's columns whose digit j_c lies in [j0, j1): core c keeps those j_c, the others are shared. */
    private static Mpo sliced(Mpo mpo, int c, int j0, int j1) {
        MpoShape shape = mpo.shape();
        int[] d = mpo.bonds();
        int i = shape.rowFactor(c);
        int j = shape.colFactor(c);
        int width = j1 - j0;
        int[] colFactors = shape.colFactors();
        colFactors[c] = width;
        Tensor[] cores = mpo.cores();
        float[] from = cores[c].toArray();
        float[] into = new float[d[c] * i * width * d[c + 1]];
        for (int a = 0; a < d[c] * i; a++) {
            System.arraycopy(from, (a * j + j0) * d[c + 1], into, a * width * d[c + 1], width * d[c + 1]);
        }
        // The part's plan reads its own copies of the cores; it keeps this MPO for its shape alone, and the cut core
        // (usually an end of the chain, the cheapest to absorb first: small) is freed by the GC with the plan.
        cores[c] = Tensor.of(Arena.ofAuto(), into, d[c], i, width, d[c + 1]);
        return new Mpo(new MpoShape(shape.rowFactors(), colFactors), d, cores);
    }

    @Override
    public int rows() {
        return mpo.rows();
    }

    @Override
    public int cols() {
        return mpo.cols();
    }

    @Override
    public long bytes() {
        return bytes;
    }

    @Override
    public boolean readsSource() {
        return false;
    }

    @Override
    public void multiply(Tensor x, Tensor y) {
        MpoArguments.multiply(mpo, x, y);
        int m = x.rows();
        if (m == 0) {
            return;
        }
        DirectProduct.Scratch scratch = DirectProduct.Scratch.of();
        float[] in = scratch.input(x);
        // Each part places its columns into one array of the caller's, which alone writes y: y may belong to an
        // arena only the caller's thread may touch. (A part's own result lies in its thread's scratch, which a
        // part run next on the same thread, as when the pool is busy, would overwrite.)
        float[] out = scratch.floats(DirectProduct.Scratch.OUTPUT, m * mpo.cols());
        int steps = mpo.shape().cores();
        parallelism.forEach(parts.length, part -> place(parts[part].run(in, m, 0, steps), part, m, out));
        DirectProduct.writeRows(out, y);
    }

    /** Part {@code part}'s product for m rows, [m, its columns] in {@code result}, into its columns of out [m, J]. */
    private void place(float[] result, int part, int m, float[] out) {
        int length = run[part];
        int[] starts = runStarts[part];
        int partCols = length * starts.length;
        int colsOfW = mpo.cols();
        for (int b = 0; b < m; b++) {
            int from = b * partCols;
            for (int start : starts) {
                System.arraycopy(result, from, out, b * colsOfW + start, length);
                from += length;
            }
        }
    }

    @Override
    public String toString() {
        return "ColumnParts[" + parts.length + " parts, first " + parts[0] + "]";
    }
}
