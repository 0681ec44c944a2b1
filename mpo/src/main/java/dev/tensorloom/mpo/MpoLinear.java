package dev.tensorloom.mpo;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A linear layer y = x·W + b whose W [in, out] is an {@link MpoMatrix}: it stands wherever a dense linear layer
 * stands. Its cores split into the central tensor (the middle core, which holds most of the parameters) and the
 * auxiliary tensors (the rest); MPOP fine-tunes only the auxiliary tensors, so the central one can be frozen,
 * and then {@link #trainable()} lists only the auxiliary cores and the bias.
 */
public final class MpoLinear {

    private final Backend backend;
    private final MpoMatrix weight;
    private final Tensor bias;
    private volatile boolean centralFrozen;

    /** {@code bias} [out] (or null for none) lives where {@code backend} computes, like the weight's cores. */
    public MpoLinear(Backend backend, MpoMatrix weight, Tensor bias) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.weight = Objects.requireNonNull(weight, "weight");
        if (bias != null && (bias.size() != weight.cols() || !bias.isContiguous())) {
            throw new IllegalArgumentException("bias " + bias + " does not fit the " + weight.cols()
                    + " outputs of " + weight);
        }
        this.bias = bias;
    }

    /** The layer of a host weight [in, out] and bias [out] (or null), decomposed and placed on {@code backend}. */
    public static MpoLinear decompose(Backend backend, Tensor weight, Tensor bias, int cores, Truncation truncation,
            MpoCostModel model, Arena arena) {
        Decomposition d = TtSvd.decompose(weight, MpoShape.of(weight.rows(), weight.cols(), cores), truncation);
        return new MpoLinear(backend, MpoMatrix.of(backend, d, model, null, arena),
                bias == null ? null : backend.toDevice(bias, arena));
    }

    /** y [m, out] = x [m, in]·W + b. */
    public void forward(Tensor x, Tensor y) {
        weight.multiply(x, y);
        if (bias != null) {
            backend.kernels().addBias(y, bias);
        }
    }

    public MpoMatrix weight() {
        return weight;
    }

    public int in() {
        return weight.rows();
    }

    public int out() {
        return weight.cols();
    }

    /** Freezes the central tensor: from now on only the auxiliary tensors and the bias are trainable. */
    public void freezeCentral() {
        centralFrozen = true;
    }

    /** Makes the central tensor trainable again. */
    public void unfreezeCentral() {
        centralFrozen = false;
    }

    public boolean centralFrozen() {
        return centralFrozen;
    }

    /** The tensors an optimizer may update: every core but the central one while it is frozen, and the bias. */
    public List<Tensor> trainable() {
        Mpo mpo = weight.mpo();
        List<Tensor> tensors = new ArrayList<>();
        for (int k = 0; k < mpo.shape().cores(); k++) {
            if (!(centralFrozen && k == mpo.shape().centralCore())) {
                tensors.add(mpo.core(k));
            }
        }
        if (bias != null) {
            tensors.add(bias);
        }
        return List.copyOf(tensors);
    }

    /** The layer's parameters by kind, and how many of them are trainable now. */
    public Parameters parameters() {
        Mpo mpo = weight.mpo();
        long central = mpo.centralParameters();
        long auxiliary = mpo.auxiliaryParameters();
        long biases = bias == null ? 0 : bias.size();
        return new Parameters(central, auxiliary, biases, auxiliary + biases + (centralFrozen ? 0 : central));
    }

    /**
     * Parameter accounting of an MPO layer.
     *
     * @param central   the central core's
     * @param auxiliary every other core's
     * @param bias      the bias's
     * @param trainable those {@link #trainable()} holds
     */
    public record Parameters(long central, long auxiliary, long bias, long trainable) {

        public long total() {
            return central + auxiliary + bias;
        }

        /** The sum of two accounts, for a model's total. */
        public Parameters plus(Parameters other) {
            return new Parameters(central + other.central, auxiliary + other.auxiliary, bias + other.bias,
                    trainable + other.trainable);
        }
    }
}
