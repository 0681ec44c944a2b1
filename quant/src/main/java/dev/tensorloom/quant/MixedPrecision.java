package dev.tensorloom.quant;

import dev.tensorloom.runtime.bert.BertEncoder;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.tensor.Tensor;
import dev.tensorloom.runtime.tokenize.TokenBatch;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Mixed precision: a policy that meets a target average of bits per weight by giving more bits to the matrices
 * that suffer most from fewer, where "suffer" is measured, not guessed.
 *
 * <p><b>Sensitivity.</b> For each matrix and each candidate recipe, the model is run on calibration text with that
 * one matrix quantized and all others fp32, and the relative error of its last hidden states (real tokens only) is
 * taken: ε = ||Ĥ - H||² / ||H||². This measures what the model's output loses, not a proxy: a matrix whose error the
 * softmax or a LayerNorm damps counts for little, one whose error every later layer carries counts for much. The
 * errors of several quantized matrices add, to first order, which is what the allocation assumes (as HAWQ and
 * similar layer-wise schemes do).
 *
 * <p><b>Allocation.</b> Every matrix starts at its cheapest candidate; then, greedily, the upgrade (to any dearer
 * candidate of one matrix) with the largest drop in ε per extra byte that still fits the budget
 * (target bits × weights / 8) is taken, until none fits. The sum of the matrices' ε is what falls; the greedy
 * choice is the classic one for this knapsack (optimal on the convex hull of each matrix's error-bytes curve).
 */
public final class MixedPrecision {

    private MixedPrecision() {
    }

    /** The measured relative output error of every candidate for one matrix. */
    public record Sensitivity(int layer, Component component, List<MatrixRecipe> recipes, double[] relativeError,
            long[] bytes, long weights) {

        public Sensitivity {
            recipes = List.copyOf(recipes);
            if (relativeError.length != recipes.size() || bytes.length != recipes.size()) {
                throw new IllegalArgumentException("one error and one size per recipe");
            }
        }
    }

    /**
     * The sensitivity of every matrix of {@code weights} to every candidate recipe, measured on {@code calibration}
     * (token batches; keep them apart from evaluation text) with the encoder on {@code backend} (a host backend).
     * GPTQ candidates quantize against {@code hessians} (from {@link ModelQuantizer#calibrate}); {@code progress}
     * hears each (matrix, recipe) once measured.
     */
    public static List<Sensitivity> measure(BertWeights weights, Backend backend, List<TokenBatch> calibration,
            List<MatrixRecipe> candidates, Map<String, Hessian> hessians, Gptq.Options options,
            Consumer<String> progress) {
        if (candidates.isEmpty() || calibration.isEmpty()) {
            throw new IllegalArgumentException("sensitivity needs candidate recipes and calibration text, got "
                    + candidates.size() + " recipes and " + calibration.size() + " batches");
        }
        int layers = weights.layers().size();
        QuantizedBert.Stored[][] dense = new QuantizedBert.Stored[layers][Component.values().length];
        for (int layer = 0; layer < layers; layer++) {
            for (Component c : Component.values()) {
                dense[layer][c.ordinal()] = new QuantizedBert.Dense(c.of(weights.layers().get(layer)).weight());
            }
        }
        List<float[]> reference = hiddenStates(weights, backend, new QuantizedBert(dense), calibration);
        double signal = 0;
        for (float[] h : reference) {
            for (float v : h) {
                signal += (double) v * v;
            }
        }
        List<Sensitivity> out = new ArrayList<>();
        for (int layer = 0; layer < layers; layer++) {
            for (Component c : Component.values()) {
                BertWeights.Linear linear = c.of(weights.layers().get(layer));
                double[] errors = new double[candidates.size()];
                long[] bytes = new long[candidates.size()];
                for (int i = 0; i < candidates.size(); i++) {
                    MatrixRecipe recipe = candidates.get(i);
                    String name = "layers." + layer + "." + c;
                    QuantizedBert.Stored q = ModelQuantizer.quantize(name, linear, recipe,
                            hessians.get(c.encoderMatrix(layer)), options);
                    QuantizedBert.Stored[][] one = new QuantizedBert.Stored[layers][];
                    for (int l = 0; l < layers; l++) {
                        one[l] = dense[l].clone();
                    }
                    one[layer][c.ordinal()] = q;
                    List<float[]> got = hiddenStates(weights, backend, new QuantizedBert(one), calibration);
                    double err = 0;
                    for (int b = 0; b < got.size(); b++) {
                        float[] x = reference.get(b);
                        float[] y = got.get(b);
                        for (int v = 0; v < x.length; v++) {
                            double d = (double) y[v] - x[v];
                            err += d * d;
                        }
                    }
                    errors[i] = err / signal;
                    bytes[i] = q.bytes();
                    progress.accept(name + " " + recipe);
                }
                out.add(new Sensitivity(layer, c, candidates, errors, bytes, (long) linear.in() * linear.out()));
            }
        }
        return out;
    }

    /** The last hidden states of the real tokens of each batch, with {@code model}'s matrices. */
    private static List<float[]> hiddenStates(BertWeights weights, Backend backend, QuantizedBert model,
            List<TokenBatch> batches) {
        List<float[]> out = new ArrayList<>();
        try (BertEncoder encoder = new BertEncoder(weights, backend, model.preparer(backend))) {
            for (TokenBatch batch : batches) {
                try (Arena arena = Arena.ofShared()) {
                    Tensor h = encoder.forward(batch, arena);
                    int hidden = h.cols();
                    int real = 0;
                    for (int length : batch.lengths()) {
                        real += length;
                    }
                    float[] states = new float[real * hidden];
                    int at = 0;
                    for (int b = 0; b < batch.batch(); b++) {
                        for (int t = 0; t < batch.lengths()[b]; t++) {
                            Tensor row = h.row((long) b * batch.seqLength() + t);
                            for (int i = 0; i < hidden; i++) {
                                states[at++] = row.get(i);
                            }
                        }
                    }
                    out.add(states);
                }
            }
        }
        return out;
    }

    /**
     * The policy that keeps the model's average bits per weight (over all matrices, scales included) at or below
     * {@code targetBitsPerWeight} with the least total relative output error the greedy allocation finds. Refuses a
     * target below what the cheapest candidates already cost.
     */
    public static QuantPolicy allocate(List<Sensitivity> sensitivities, double targetBitsPerWeight) {
        Objects.requireNonNull(sensitivities, "sensitivities");
        long weights = 0;
        long used = 0;
        int[] choice = new int[sensitivities.size()];
        for (int m = 0; m < choice.length; m++) {
            Sensitivity s = sensitivities.get(m);
            weights += s.weights();
            choice[m] = cheapest(s);
            used += s.bytes()[choice[m]];
        }
        double budget = targetBitsPerWeight * weights / 8;
        if (used > budget) {
            throw new IllegalArgumentException("a target of " + targetBitsPerWeight + " bits per weight is below the "
                    + "cheapest candidates' " + 8.0 * used / weights);
        }
        while (true) {
            int bestMatrix = -1;
            int bestRecipe = -1;
            double bestRate = 0;
            for (int m = 0; m < choice.length; m++) {
                Sensitivity s = sensitivities.get(m);
                for (int r = 0; r < s.recipes().size(); r++) {
                    long extra = s.bytes()[r] - s.bytes()[choice[m]];
                    double gain = s.relativeError()[choice[m]] - s.relativeError()[r];
                    if (extra <= 0 || gain <= 0 || used + extra > budget) {
                        continue;
                    }
                    double rate = gain / extra;
                    if (rate > bestRate) {
                        bestRate = rate;
                        bestMatrix = m;
                        bestRecipe = r;
                    }
                }
            }
            if (bestMatrix < 0) {
                break;
            }
            Sensitivity s = sensitivities.get(bestMatrix);
            used += s.bytes()[bestRecipe] - s.bytes()[choice[bestMatrix]];
            choice[bestMatrix] = bestRecipe;
        }
        QuantPolicy policy = QuantPolicy.fp32();
        for (int m = 0; m < choice.length; m++) {
            Sensitivity s = sensitivities.get(m);
            policy = policy.with(s.layer(), s.component(), s.recipes().get(choice[m]));
        }
        return policy;
    }

    /** The candidate with the fewest bytes (the least error among equals). */
    private static int cheapest(Sensitivity s) {
        List<Integer> order = new ArrayList<>();
        for (int r = 0; r < s.recipes().size(); r++) {
            order.add(r);
        }
        order.sort(Comparator.comparingLong((Integer r) -> s.bytes()[r]).thenComparingDouble(r -> s.relativeError()[r]));
        return order.getFirst();
    }
}
