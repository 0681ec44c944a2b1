package dev.tensorloom.mpo;

import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.Erf;
import dev.tensorloom.runtime.kernel.Kernels;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * MPOE (REFERENCE.md section 2): a mixture-of-experts feed-forward layer whose experts share one central tensor per
 * projection and keep their own auxiliary tensors, with a top-k router. Expert e computes
 * GELU(x·W1_e + b1)·W2_e + b2, W1_e [hidden, intermediate] and W2_e [intermediate, hidden] being MPOs with the
 * shared central cores; a token's output is the gate-weighted sum over its k experts, the gates a softmax over the
 * chosen experts' router logits (x·W_router).
 *
 * <p>The forward pass reads each shared central core once per batch, not once per expert: it sweeps each expert's
 * tokens through the auxiliary cores before the centre, stacks every expert's state (they have the same shape past
 * the batch axis), multiplies the stack by the central core in one pass, and splits it again for the auxiliary
 * cores after the centre. {@link Traffic} counts the weight bytes each pass reads, which
 * {@link #weightBytes(int, boolean)} gives in closed form.
 *
 * <p>Built from a dense FFN ({@link #fromDense}): W1 and W2 decomposed by TT-SVD with a bond cap, every expert
 * starting from those cores with its auxiliary cores perturbed (a stand-in for training, which would make them
 * differ); the biases are the dense FFN's, shared by the experts. {@link #forward} is the float64 host
 * implementation, written to be read; {@link #float32} runs the same layer in float32 on a backend, each projection's
 * experts one {@link SharedCoreProduct} of the MPO kernels (on the vector backend the central core is absorbed into
 * every routed row in one step, read once per batch), checked against the float64 pass.
 */
public final class MpoeFfn {

    private final int hidden;
    private final int intermediate;
    private final int experts;
    private final int topK;
    private final Projection up;
    private final Projection down;
    private final float[] b1;
    private final float[] b2;
    private final float[] router;

    /** One projection's MPO form: the shared central core and each expert's cores (central slot null). */
    private record Projection(MpoShape shape, int[] bonds, float[] central, float[][][] auxiliary) {

        long centralParameters() {
            return shape.coreSize(bonds, shape.centralCore());
        }

        long auxiliaryParameters() {
            return shape.parameters(bonds) - centralParameters();
        }

        float[] core(int expert, int k) {
            return k == shape.centralCore() ? central : auxiliary[expert][k];
        }
    }

    /** Weight bytes read, counted as the forward pass reads the cores (each core once per multiplication). */
    public static final class Traffic {

        private long bytes;

        public long bytes() {
            return bytes;
        }

        void read(float[] core) {
            bytes += (long) core.length * Float.BYTES;
        }

        void add(long read) {
            bytes += read;
        }
    }

    /** Each token's chosen experts (best first) and their gates. */
    public record Routing(int[][] experts, double[][] gates) {

        /** How many distinct experts the batch uses. */
        public int activeExperts() {
            return (int) Arrays.stream(experts).flatMapToInt(Arrays::stream).distinct().count();
        }
    }

    private MpoeFfn(int hidden, int intermediate, int experts, int topK, Projection up, Projection down, float[] b1,
            float[] b2, float[] router) {
        this.hidden = hidden;
        this.intermediate = intermediate;
        this.experts = experts;
        this.topK = topK;
        this.up = up;
        this.down = down;
        this.b1 = b1;
        this.b2 = b2;
        this.router = router;
    }

    /**
     * The MPOE layer of a dense FFN: w1 [hidden, intermediate], b1 [intermediate], w2 [intermediate, hidden],
     * b2 [hidden] (row-major), each matrix in {@code cores} cores capped at {@code bondCap}; each expert's auxiliary
     * cores get Gaussian noise of {@code noise} times their root-mean-square, and the router [hidden, experts] is
     * Gaussian with standard deviation 1/√hidden, all from {@code seed}.
     */
    public static MpoeFfn fromDense(float[] w1, float[] b1, float[] w2, float[] b2, int hidden, int intermediate,
            int experts, int topK, int cores, int bondCap, double noise, long seed) {
        if (experts < 1 || topK < 1 || topK > experts) {
            throw new IllegalArgumentException("top-" + topK + " of " + experts + " experts is not a routing");
        }
        if (b1.length != intermediate || b2.length != hidden) {
            throw new IllegalArgumentException("biases of " + b1.length + " and " + b2.length + " do not fit an FFN of "
                    + hidden + " → " + intermediate + " → " + hidden);
        }
        if (!(noise >= 0)) {
            throw new IllegalArgumentException("noise must be >= 0, got " + noise);
        }
        Random random = new Random(seed);
        Projection up = projection(w1, MpoShape.of(hidden, intermediate, cores), bondCap, experts, noise, random);
        Projection down = projection(w2, MpoShape.of(intermediate, hidden, cores), bondCap, experts, noise, random);
        float[] router = new float[hidden * experts];
        for (int e = 0; e < router.length; e++) {
            router[e] = (float) (random.nextGaussian() / Math.sqrt(hidden));
        }
        return new MpoeFfn(hidden, intermediate, experts, topK, up, down, b1.clone(), b2.clone(), router);
    }

    /** The MPOE layer of a BERT layer's FFN (its intermediate and output projections); see the other factory. */
    public static MpoeFfn fromLayer(BertWeights.Layer layer, int experts, int topK, int cores, int bondCap,
            double noise, long seed) {
        BertWeights.Linear in = layer.intermediate();
        BertWeights.Linear out = layer.output();
        return fromDense(in.weight().toArray(), in.bias().toArray(), out.weight().toArray(), out.bias().toArray(),
                in.in(), in.out(), experts, topK, cores, bondCap, noise, seed);
    }

    private static Projection projection(float[] w, MpoShape shape, int bondCap, int experts, double noise,
            Random random) {
        Decomposition d = TtSvd.decompose(w, shape, Truncation.bondCap(bondCap));
        int c = shape.centralCore();
        float[][][] auxiliary = new float[experts][shape.cores()][];
        for (int e = 0; e < experts; e++) {
            for (int k = 0; k < shape.cores(); k++) {
                if (k == c) {
                    continue;
                }
                float[] core = d.cores()[k];
                double rms = 0;
                for (float v : core) {
                    rms += (double) v * v;
                }
                rms = Math.sqrt(rms / core.length);
                float[] perturbed = new float[core.length];
                for (int i = 0; i < core.length; i++) {
                    perturbed[i] = (float) (core[i] + noise * rms * random.nextGaussian());
                }
                auxiliary[e][k] = perturbed;
            }
        }
        return new Projection(shape, d.bonds(), d.cores()[c], auxiliary);
    }

    public int experts() {
        return experts;
    }

    public int topK() {
        return topK;
    }

    public int hidden() {
        return hidden;
    }

    /** The top-k experts of each of the m rows of x [m, hidden], and softmax gates over their logits. */
    public Routing route(float[] x, int m) {
        requireInput(x, m);
        int[][] chosen = new int[m][topK];
        double[][] gates = new double[m][topK];
        for (int t = 0; t < m; t++) {
            double[] logits = new double[experts];
            for (int i = 0; i < hidden; i++) {
                double xi = x[t * hidden + i];
                for (int e = 0; e < experts; e++) {
                    logits[e] += xi * router[i * experts + e];
                }
            }
            boolean[] taken = new boolean[experts];
            for (int k = 0; k < topK; k++) {
                int best = -1;
                for (int e = 0; e < experts; e++) {
                    if (!taken[e] && (best < 0 || logits[e] > logits[best])) {
                        best = e;
                    }
                }
                taken[best] = true;
                chosen[t][k] = best;
            }
            double sum = 0;
            for (int k = 0; k < topK; k++) {
                gates[t][k] = Math.exp(logits[chosen[t][k]] - logits[chosen[t][0]]);
                sum += gates[t][k];
            }
            for (int k = 0; k < topK; k++) {
                gates[t][k] /= sum;
            }
        }
        return new Routing(chosen, gates);
    }

    /** y [m, hidden] for x [m, hidden]; {@code traffic} (or null) counts the weight bytes read. */
    public float[] forward(float[] x, int m, Traffic traffic) {
        Routing routing = route(x, m);
        // Each expert's tokens and their gates.
        List<List<Integer>> tokens = new ArrayList<>();
        List<List<Double>> gates = new ArrayList<>();
        for (int e = 0; e < experts; e++) {
            tokens.add(new ArrayList<>());
            gates.add(new ArrayList<>());
        }
        for (int t = 0; t < m; t++) {
            for (int k = 0; k < topK; k++) {
                tokens.get(routing.experts()[t][k]).add(t);
                gates.get(routing.experts()[t][k]).add(routing.gates()[t][k]);
            }
        }
        double[][] inputs = new double[experts][];
        for (int e = 0; e < experts; e++) {
            List<Integer> mine = tokens.get(e);
            inputs[e] = new double[mine.size() * hidden];
            for (int r = 0; r < mine.size(); r++) {
                for (int i = 0; i < hidden; i++) {
                    inputs[e][r * hidden + i] = x[mine.get(r) * hidden + i];
                }
            }
        }
        double[][] h = multiply(up, inputs, tokens, traffic);
        for (double[] he : h) {
            for (int i = 0; i < he.length; i++) {
                double v = he[i] + b1[i % intermediate];
                he[i] = 0.5 * v * (1 + Erf.erf(v / Math.sqrt(2)));
            }
        }
        double[][] out = multiply(down, h, tokens, traffic);
        float[] y = new float[m * hidden];
        double[] acc = new double[m * hidden];
        for (int e = 0; e < experts; e++) {
            List<Integer> mine = tokens.get(e);
            for (int r = 0; r < mine.size(); r++) {
                double g = gates.get(e).get(r);
                int t = mine.get(r);
                for (int i = 0; i < hidden; i++) {
                    acc[t * hidden + i] += g * (out[e][r * hidden + i] + b2[i]);
                }
            }
        }
        for (int i = 0; i < y.length; i++) {
            y[i] = (float) acc[i];
        }
        return y;
    }

    /**
     * Every expert's rows through one projection: the sweep of {@link MpoSweep}, with the central step taken once
     * over all experts' states stacked along the batch axis.
     */
    private static double[][] multiply(Projection p, double[][] inputs, List<List<Integer>> tokens, Traffic traffic) {
        MpoShape shape = p.shape();
        int[] d = p.bonds();
        int c = shape.centralCore();
        int count = inputs.length;
        double[][] states = inputs.clone();
        long[] blocks = new long[count];
        for (int e = 0; e < count; e++) {
            blocks[e] = tokens.get(e).size();
        }
        long q = shape.rows();
        for (int k = 0; k < shape.cores(); k++) {
            q /= shape.rowFactor(k);
            int r = d[k] * shape.rowFactor(k);
            int s = shape.colFactor(k) * d[k + 1];
            if (k == c) {
                long total = Arrays.stream(blocks).sum();
                double[] stacked = new double[Math.toIntExact(total * r * q)];
                int at = 0;
                for (double[] state : states) {
                    System.arraycopy(state, 0, stacked, at, state.length);
                    at += state.length;
                }
                if (total > 0) {
                    read(traffic, p.central());
                }
                double[] next = step(p.central(), (int) total, r, s, (int) q, stacked);
                at = 0;
                for (int e = 0; e < count; e++) {
                    int size = Math.toIntExact(blocks[e] * s * q);
                    states[e] = Arrays.copyOfRange(next, at, at + size);
                    at += size;
                }
            } else {
                for (int e = 0; e < count; e++) {
                    if (blocks[e] > 0) {
                        read(traffic, p.core(e, k));
                        states[e] = step(p.core(e, k), (int) blocks[e], r, s, (int) q, states[e]);
                    }
                }
            }
            for (int e = 0; e < count; e++) {
                blocks[e] *= shape.colFactor(k);
            }
        }
        return states;
    }

    private static void read(Traffic traffic, float[] core) {
        if (traffic != null) {
            traffic.read(core);
        }
    }

    /**
     * out[b][o][t] = Σ_i core[i][o]·in[b][i][t], core row by core row: row i (s numbers) is loaded once and applied
     * to every block while it sits in cache, so a step reads its core once however many rows it carries.
     */
    private static double[] step(float[] core, int blocks, int r, int s, int q, double[] in) {
        double[] out = new double[blocks * s * q];
        double[] row = new double[s];
        for (int i = 0; i < r; i++) {
            for (int o = 0; o < s; o++) {
                row[o] = core[i * s + o];
            }
            for (int b = 0; b < blocks; b++) {
                int from = (b * r + i) * q;
                int to = b * s * q;
                for (int o = 0; o < s; o++) {
                    double w = row[o];
                    int at = to + o * q;
                    for (int t = 0; t < q; t++) {
                        out[at + t] += w * in[from + t];
                    }
                }
            }
        }
        return out;
    }

    /**
     * This layer in float32 on {@code backend}: each expert's W1 and W2 an MPO whose cores are placed there (into
     * {@code arena}), the central cores placed once and shared by every expert's MPO, each projection's experts
     * prepared as one {@link SharedCoreProduct}.
     */
    public Float32 float32(Backend backend, Arena arena) {
        return new Float32(backend, arena);
    }

    /** The layer in float32 on a backend; see {@link #float32}. */
    public final class Float32 {

        private final Backend backend;
        private final SharedCoreProduct upProduct;
        private final SharedCoreProduct downProduct;
        private final Tensor bias1;
        private final Tensor bias2;

        private Float32(Backend backend, Arena arena) {
            this.backend = backend;
            MpoKernels kernels = MpoKernels.FAMILY.on(backend);
            this.upProduct = kernels.prepareSharedCore(placed(up, backend, arena), up.shape().centralCore());
            this.downProduct = kernels.prepareSharedCore(placed(down, backend, arena), down.shape().centralCore());
            this.bias1 = backend.toDevice(Tensor.of(arena, b1, intermediate), arena);
            this.bias2 = backend.toDevice(Tensor.of(arena, b2, hidden), arena);
        }

        /**
         * y [m, hidden] for x [m, hidden], routed as {@link #route} routes it; each token's row goes to each of its
         * experts once, the rows grouped by expert. {@code traffic} (or null) counts the weight bytes the kernels
         * read.
         */
        public float[] forward(float[] x, int m, Traffic traffic) {
            Routing routing = route(x, m);
            int rows = m * topK;
            int[] starts = new int[experts + 1];
            for (int[] chosen : routing.experts()) {
                for (int e : chosen) {
                    starts[e + 1]++;
                }
            }
            for (int e = 0; e < experts; e++) {
                starts[e + 1] += starts[e];
            }
            int[] tokens = new int[rows];
            double[] gates = new double[rows];
            int[] filled = Arrays.copyOf(starts, experts);
            for (int t = 0; t < m; t++) {
                for (int k = 0; k < topK; k++) {
                    int row = filled[routing.experts()[t][k]]++;
                    tokens[row] = t;
                    gates[row] = routing.gates()[t][k];
                }
            }
            Kernels kernels = backend.kernels();
            float[] y = new float[m * hidden];
            try (Arena call = Arena.ofShared()) {
                Tensor grouped = backend.allocate(call, rows, hidden);
                kernels.gatherRows(backend.toDevice(Tensor.of(call, x, m, hidden), call), tokens, grouped);
                Tensor h = backend.allocate(call, rows, intermediate);
                long bytes = upProduct.multiply(starts, grouped, h);
                kernels.addBiasGelu(h, bias1);
                Tensor out = backend.allocate(call, rows, hidden);
                bytes += downProduct.multiply(starts, h, out);
                kernels.addBias(out, bias2);
                float[] o = backend.toHost(out, call).toArray();
                for (int row = 0; row < rows; row++) {
                    float g = (float) gates[row];
                    int to = tokens[row] * hidden;
                    for (int i = 0; i < hidden; i++) {
                        y[to + i] += g * o[row * hidden + i];
                    }
                }
                if (traffic != null) {
                    traffic.add(bytes);
                }
            }
            return y;
        }
    }

    /** Every expert's MPO of {@code p}, cores placed where {@code backend} computes; one central core for all. */
    private List<Mpo> placed(Projection p, Backend backend, Arena arena) {
        MpoShape shape = p.shape();
        int[] d = p.bonds();
        int c = shape.centralCore();
        Tensor central = backend.toDevice(
                Tensor.of(arena, p.central(), d[c], shape.rowFactor(c), shape.colFactor(c), d[c + 1]), arena);
        List<Mpo> mpos = new ArrayList<>();
        for (int e = 0; e < experts; e++) {
            Tensor[] cores = new Tensor[shape.cores()];
            for (int k = 0; k < cores.length; k++) {
                cores[k] = k == c ? central : backend.toDevice(
                        Tensor.of(arena, p.core(e, k), d[k], shape.rowFactor(k), shape.colFactor(k), d[k + 1]), arena);
            }
            mpos.add(new Mpo(shape, d, cores));
        }
        return mpos;
    }

    /**
     * The weight bytes one batch reads when it uses {@code active} distinct experts: fp32 cores, the two shared
     * central cores once and each active expert's auxiliary cores once; or, for {@code dense} experts of the same
     * shape, both full matrices of each active expert. Router and biases are left out of both.
     */
    public long weightBytes(int active, boolean dense) {
        if (active < 0 || active > experts) {
            throw new IllegalArgumentException(active + " active experts of " + experts);
        }
        if (dense) {
            return (long) Float.BYTES * active * 2L * hidden * intermediate;
        }
        if (active == 0) {
            return 0;
        }
        return (long) Float.BYTES * (up.centralParameters() + down.centralParameters()
                + (long) active * (up.auxiliaryParameters() + down.auxiliaryParameters()));
    }

    /** Parameters of the experts' matrices: two central cores and every expert's auxiliary cores. */
    public long parameters() {
        return up.centralParameters() + down.centralParameters()
                + (long) experts * (up.auxiliaryParameters() + down.auxiliaryParameters());
    }

    /** Parameters of as many dense experts. */
    public long denseParameters() {
        return (long) experts * 2L * hidden * intermediate;
    }

    /** Expert e's W1 (up) or W2 (down) as an MPO of host tensors in {@code arena}. */
    public Mpo expert(int e, boolean upProjection, Arena arena) {
        Projection p = upProjection ? up : down;
        int[] d = p.bonds();
        Tensor[] cores = new Tensor[p.shape().cores()];
        for (int k = 0; k < cores.length; k++) {
            cores[k] = Tensor.of(arena, p.core(e, k), d[k], p.shape().rowFactor(k), p.shape().colFactor(k), d[k + 1]);
        }
        return new Mpo(p.shape(), d, cores);
    }

    private void requireInput(float[] x, int m) {
        if (m < 1 || x.length != (long) m * hidden) {
            throw new IllegalArgumentException("input of " + x.length + " floats is not " + m + " rows of " + hidden);
        }
    }
}
