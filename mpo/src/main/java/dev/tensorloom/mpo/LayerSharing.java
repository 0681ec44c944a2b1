package dev.tensorloom.mpo;

import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.CommonOps_DDRM;

/**
 * MPOBERT's central-tensor sharing (REFERENCE.md section 2): matrices of the same shape from several layers keep
 * their own auxiliary tensors and share one central tensor, fitted from the trained matrices.
 *
 * <p>The fit: each matrix W_l is decomposed by TT-SVD and brought to the canonical gauge about its central core
 * ({@link MixedCanonical}): isometric auxiliary cores A_l, B_l and the projected central core P_l = A_lᵀ·W_l·B_lᵀ.
 * For a shared central core C, ||W_l − A_l·C·B_l||² = ||W_l||² − ||P_l||² + ||P_l − C||², so with the auxiliary
 * cores fixed the least-squares C over all the layers' matrices is the mean of the P_l. The canonical gauge fixes
 * each layer's central bonds only up to signs (and rotations among equal singular values), so before averaging,
 * each layer's gauge is rotated towards C (orthogonal Procrustes, alternating between the two central bonds; a
 * rotation of the gauge changes the layer's cores, not its matrix), and mean and rotations alternate. The
 * alternation starts from the best single layer's P_m with the others rotated to it, and no step raises
 * Σ_l ||P_l − C||², so the fit is never worse than picking any one layer's central tensor.
 */
public final class LayerSharing {

    /**
     * Alignment steps between the two central bonds per rotation, and mean/rotation rounds, at most: the alternation
     * converges linearly, and on MiniLM's 64-bond central cores (about 400k numbers each) every round costs seconds,
     * so it stops early; every round only lowers the error, so stopping keeps the guarantee against a single pick.
     */
    private static final int PROCRUSTES_STEPS = 5;
    private static final int ROUNDS = 8;

    private LayerSharing() {
    }

    /**
     * Matrices sharing one central tensor.
     *
     * @param bonds          the common bonds d₀ … dₙ
     * @param central        the shared central core [d_c, i_c, j_c, d_{c+1}]
     * @param layers         per matrix, every core (the central slot holding {@code central})
     * @param errors         per matrix, ||W_l − MPO_l||_F / ||W_l||_F with the shared central tensor
     * @param ownErrors      per matrix, the same with its own projected central tensor (the cost of truncation alone)
     */
    public record Fit(MpoShape shape, int[] bonds, float[] central, List<float[][]> layers, double[] errors,
            double[] ownErrors) {

        /** Parameters of the shared form: every matrix's auxiliary cores plus one central core. */
        public long parameters() {
            return layers.size() * (shape.parameters(bonds) - centralParameters()) + centralParameters();
        }

        /** Parameters of the same MPOs unshared: each with its own central core. */
        public long unsharedParameters() {
            return layers.size() * shape.parameters(bonds);
        }

        public long centralParameters() {
            return shape.coreSize(bonds, shape.centralCore());
        }

        /**
         * Matrix l's MPO as host tensors in {@code arena}; the central core is {@code sharedCentral} (from
         * {@link #centralTensor}), the same tensor for every matrix.
         */
        public Mpo mpo(int layer, Tensor sharedCentral, Arena arena) {
            Tensor[] cores = new Tensor[shape.cores()];
            float[][] values = layers.get(layer);
            for (int k = 0; k < cores.length; k++) {
                cores[k] = k == shape.centralCore() ? sharedCentral
                        : Tensor.of(arena, values[k], bonds[k], shape.rowFactor(k), shape.colFactor(k), bonds[k + 1]);
            }
            return new Mpo(shape, bonds, cores);
        }

        /** The shared central core as a host tensor in {@code arena}. */
        public Tensor centralTensor(Arena arena) {
            int c = shape.centralCore();
            return Tensor.of(arena, central, bonds[c], shape.rowFactor(c), shape.colFactor(c), bonds[c + 1]);
        }

        @Override
        public int[] bonds() {
            return bonds.clone();
        }
    }

    /**
     * The least-squares shared central tensor of {@code matrices} (each row-major [I, J] for {@code shape}), every
     * one decomposed with {@code truncation}, which must give them all the same bonds (a bond cap does, for
     * matrices of full rank).
     */
    public static Fit fit(List<float[]> matrices, MpoShape shape, Truncation truncation) {
        List<MixedCanonical> layers = canonical(matrices, shape, truncation);
        int count = layers.size();
        int best = 0;
        double bestObjective = Double.POSITIVE_INFINITY;
        for (int m = 0; m < count; m++) {
            double objective = 0;
            for (int l = 0; l < count; l++) {
                objective += distanceAfterAligning(layers.get(l), layers.get(m).cores[layers.get(m).c]);
            }
            if (objective < bestObjective) {
                bestObjective = objective;
                best = m;
            }
        }
        double[] central = layers.get(best).cores[layers.get(best).c].clone();
        double previous = Double.POSITIVE_INFINITY;
        double scale = 0;
        for (MixedCanonical l : layers) {
            scale += l.normSquared;
        }
        for (int round = 0; round < ROUNDS; round++) {
            double objective = 0;
            for (MixedCanonical l : layers) {
                align(l, central);
                objective += squaredDistance(l.cores[l.c], central);
            }
            central = mean(layers);
            // Each round lowers Σ||P_l − C||²; stop when a round gains less than 1e-4 of the error.
            if (previous - objective <= 1e-4 * objective + 1e-15 * scale) {
                break;
            }
            previous = objective;
        }
        return result(layers, central);
    }

    /**
     * The baseline the fit is measured against: layer {@code m}'s own central tensor shared by all, every other
     * layer's gauge rotated towards it as in {@link #fit}.
     */
    public static Fit pick(List<float[]> matrices, MpoShape shape, Truncation truncation, int m) {
        List<MixedCanonical> layers = canonical(matrices, shape, truncation);
        if (m < 0 || m >= layers.size()) {
            throw new IllegalArgumentException("layer " + m + " is not among the " + layers.size() + " matrices");
        }
        double[] central = layers.get(m).cores[layers.get(m).c].clone();
        for (MixedCanonical l : layers) {
            align(l, central);
        }
        return result(layers, central);
    }

    private static List<MixedCanonical> canonical(List<float[]> matrices, MpoShape shape, Truncation truncation) {
        if (matrices.isEmpty()) {
            throw new IllegalArgumentException("no matrices to share a central tensor");
        }
        List<MixedCanonical> layers = new ArrayList<>();
        for (int l = 0; l < matrices.size(); l++) {
            float[] w = matrices.get(l);
            MixedCanonical m = MixedCanonical.of(w, TtSvd.decompose(w, shape, truncation));
            if (!layers.isEmpty() && !Arrays.equals(m.d, layers.getFirst().d)) {
                throw new IllegalArgumentException("matrix " + l + " has bonds " + Arrays.toString(m.d)
                        + " but matrix 0 has " + Arrays.toString(layers.getFirst().d)
                        + "; a shared central tensor needs equal bonds (truncate by a bond cap)");
            }
            layers.add(m);
        }
        return layers;
    }

    private static Fit result(List<MixedCanonical> layers, double[] central) {
        MixedCanonical first = layers.getFirst();
        List<float[][]> cores = new ArrayList<>();
        double[] errors = new double[layers.size()];
        double[] own = new double[layers.size()];
        for (int l = 0; l < layers.size(); l++) {
            MixedCanonical m = layers.get(l);
            double norm = Math.sqrt(m.normSquared);
            double ownSquared = m.ownErrorSquared();
            own[l] = norm == 0 ? 0 : Math.sqrt(ownSquared) / norm;
            errors[l] = norm == 0 ? 0 : Math.sqrt(ownSquared + squaredDistance(m.cores[m.c], central)) / norm;
            cores.add(m.floatCores(central));
        }
        float[] shared = cores.getFirst()[first.c];
        for (float[][] layer : cores) {
            layer[first.c] = shared;
        }
        return new Fit(first.shape, first.d.clone(), shared, List.copyOf(cores), errors, own);
    }

    private static double[] mean(List<MixedCanonical> layers) {
        int c = layers.getFirst().c;
        double[] sum = new double[layers.getFirst().cores[c].length];
        for (MixedCanonical l : layers) {
            for (int e = 0; e < sum.length; e++) {
                sum[e] += l.cores[c][e];
            }
        }
        for (int e = 0; e < sum.length; e++) {
            sum[e] /= layers.size();
        }
        return sum;
    }

    /** ||P − target||² after rotating a copy of the layer's gauge towards target (the layer itself unchanged). */
    private static double distanceAfterAligning(MixedCanonical layer, double[] target) {
        double[] p = layer.cores[layer.c].clone();
        Rotation r = rotationTowards(layer, p, target);
        return squaredDistance(r.rotated, target);
    }

    /** Rotates the layer's central bonds so that its central core comes closest to target. */
    private static void align(MixedCanonical layer, double[] target) {
        Rotation r = rotationTowards(layer, layer.cores[layer.c], target);
        layer.rotate(r.q, r.r);
    }

    private record Rotation(DMatrixRMaj q, DMatrixRMaj r, double[] rotated) {
    }

    /**
     * Orthogonal Q and R maximizing ⟨Qᵀ·P·R, T⟩ (slice by slice over the central digits), alternating: for fixed R
     * the best Q is the polar factor of G = Σ P·R·Tᵀ, for fixed Q the best R that of H = Σ (QᵀP)ᵀ·T. Each step is
     * optimal for its bond given the other, so the distance never grows.
     */
    private static Rotation rotationTowards(MixedCanonical layer, double[] p, double[] target) {
        int c = layer.c;
        int left = layer.d[c];
        int mid = layer.p[c];
        int right = layer.d[c + 1];
        DMatrixRMaj q = CommonOps_DDRM.identity(left);
        DMatrixRMaj r = CommonOps_DDRM.identity(right);
        DMatrixRMaj t = DMatrixRMaj.wrap(left, mid * right, target);
        DMatrixRMaj tRows = DMatrixRMaj.wrap(left * mid, right, target);
        // ⟨QᵀPR, T⟩ after a step is the sum of the singular values of the G or H it solved: stop once it stalls.
        double inner = Double.NEGATIVE_INFINITY;
        for (int step = 0; step < PROCRUSTES_STEPS; step++) {
            double reached = inner;
            if (layer.leftFree()) {
                // P·R as [left, mid·right], then G = (P·R)·Tᵀ [left, left].
                DMatrixRMaj pr = MixedCanonical.times(DMatrixRMaj.wrap(left * mid, right, p), r);
                DMatrixRMaj g = new DMatrixRMaj(left, left);
                CommonOps_DDRM.multTransB(DMatrixRMaj.wrap(left, mid * right, pr.data), t, g);
                ThinSvd svd = ThinSvd.of(g);
                q = svd.polar();
                reached = Arrays.stream(svd.sigma()).sum();
            }
            if (layer.rightFree()) {
                // QᵀP as [left·mid, right], then H = (QᵀP)ᵀ·T [right, right].
                DMatrixRMaj qp = new DMatrixRMaj(left, mid * right);
                CommonOps_DDRM.multTransA(q, DMatrixRMaj.wrap(left, mid * right, p), qp);
                DMatrixRMaj h = new DMatrixRMaj(right, right);
                CommonOps_DDRM.multTransA(DMatrixRMaj.wrap(left * mid, right, qp.data), tRows, h);
                ThinSvd svd = ThinSvd.of(h);
                r = svd.polar();
                reached = Arrays.stream(svd.sigma()).sum();
            }
            if (!layer.leftFree() || !layer.rightFree() || reached - inner <= 1e-10 * Math.abs(reached)) {
                break;
            }
            inner = reached;
        }
        DMatrixRMaj qp = new DMatrixRMaj(left, mid * right);
        CommonOps_DDRM.multTransA(q, DMatrixRMaj.wrap(left, mid * right, p), qp);
        double[] rotated = MixedCanonical.times(DMatrixRMaj.wrap(left * mid, right, qp.data), r).data;
        return new Rotation(layer.leftFree() ? q : null, layer.rightFree() ? r : null, rotated);
    }

    private static double squaredDistance(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double diff = a[i] - b[i];
            s += diff * diff;
        }
        return s;
    }
}
