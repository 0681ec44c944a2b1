package dev.tensorloom.mpo;

import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A whole BERT-family model in MPOBERT's form: every projection matrix an MPO, and the matrices of one type
 * ({@code attention.qkv}, {@code attention.output}, {@code intermediate}, {@code output}) in one group of layers
 * sharing one central tensor ({@link LayerSharing}), each keeping its auxiliary tensors. Built from the trained
 * weights; {@link #preparer} hands the encoder the shared form, with one central tensor in memory per group and
 * type.
 */
public final class SharedCentralModel {

    private static final Pattern NAME = Pattern.compile("layers\\.(\\d+)\\.(.+)");

    private final Backend backend;
    private final MpoCostModel model;
    private final Map<String, Member> members;
    private final Map<String, LayerSharing.Fit> fits;
    private final Map<String, Long> denseParameters;

    /** Which fit a matrix belongs to and its place there. */
    private record Member(String fit, int index) {
    }

    /** One matrix's fidelity: relative Frobenius errors with its own central tensor and with the shared one. */
    public record MatrixFidelity(String name, String group, double ownError, double sharedError) {
    }

    private SharedCentralModel(Backend backend, MpoCostModel model, Map<String, Member> members,
            Map<String, LayerSharing.Fit> fits, Map<String, Long> denseParameters) {
        this.backend = backend;
        this.model = model;
        this.members = members;
        this.fits = fits;
        this.denseParameters = denseParameters;
    }

    /**
     * Decomposes every matrix of {@code weights} (as the encoder names and shapes them, the query, key and value
     * fused) into {@code cores} cores capped at {@code bondCap}, and fits one shared central tensor per matrix type
     * and group of layers ({@code groups}: lists of layer indices covering every layer once, e.g. [[0, 1, 2],
     * [3, 4, 5]], or one list of all layers).
     */
    public static SharedCentralModel fit(BertWeights weights, List<List<Integer>> groups, int cores, int bondCap,
            Backend backend, MpoCostModel model) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(model, "model");
        int layers = weights.layers().size();
        int[] groupOf = new int[layers];
        Arrays.fill(groupOf, -1);
        for (int g = 0; g < groups.size(); g++) {
            for (int layer : groups.get(g)) {
                if (layer < 0 || layer >= layers || groupOf[layer] >= 0) {
                    throw new IllegalArgumentException("groups " + groups + " must name each of the " + layers
                            + " layers once; layer " + layer + " is out of range or repeated");
                }
                groupOf[layer] = g;
            }
        }
        for (int layer = 0; layer < layers; layer++) {
            if (groupOf[layer] < 0) {
                throw new IllegalArgumentException("groups " + groups + " leave out layer " + layer);
            }
        }
        try (Arena copies = Arena.ofShared()) {
            Map<String, Tensor> matrices = MpoModel.encoderMatrices(weights, copies);
            Map<String, List<String>> byFit = new LinkedHashMap<>();
            Map<String, Long> dense = new LinkedHashMap<>();
            for (String name : matrices.keySet()) {
                Matcher m = NAME.matcher(name);
                if (!m.matches()) {
                    throw new IllegalArgumentException("matrix " + name + " is not named layers.<i>.<type>");
                }
                String key = m.group(2) + " of layers " + groups.get(groupOf[Integer.parseInt(m.group(1))]);
                byFit.computeIfAbsent(key, k -> new ArrayList<>()).add(name);
                dense.put(name, matrices.get(name).size());
            }
            Map<String, Member> members = new LinkedHashMap<>();
            Map<String, LayerSharing.Fit> fits = new LinkedHashMap<>();
            byFit.forEach((key, names) -> {
                Tensor first = matrices.get(names.getFirst());
                MpoShape shape = MpoShape.of(first.rows(), first.cols(), cores);
                List<float[]> values = names.stream().map(n -> matrices.get(n).toArray()).toList();
                fits.put(key, LayerSharing.fit(values, shape, Truncation.bondCap(bondCap)));
                for (int i = 0; i < names.size(); i++) {
                    members.put(names.get(i), new Member(key, i));
                }
            });
            return new SharedCentralModel(backend, model, members, fits, dense);
        }
    }

    /**
     * A preparer for one encoder: each matrix an {@link MpoMatrix} whose central core is its group's one tensor
     * (placed on the backend once per group and type, in the encoder's arena).
     */
    public MatrixPreparer preparer() {
        Map<Arena, Map<String, Tensor>> centrals = new IdentityHashMap<>();
        return (name, weight, arena) -> {
            Member member = members.get(name);
            if (member == null) {
                throw new IllegalArgumentException("no shared-central fit for matrix " + name);
            }
            LayerSharing.Fit fit = fits.get(member.fit());
            Tensor central;
            synchronized (centrals) {
                central = centrals.computeIfAbsent(arena, a -> new HashMap<>())
                        .computeIfAbsent(member.fit(), k -> backend.toDevice(fit.centralTensor(arena), arena));
            }
            Mpo host = fit.mpo(member.index(), central, arena);
            Tensor[] cores = host.cores();
            int c = host.shape().centralCore();
            for (int k = 0; k < cores.length; k++) {
                if (k != c) {
                    cores[k] = backend.toDevice(cores[k], arena);
                }
            }
            PreparedMatrix matrix = new MpoMatrix(backend, new Mpo(host.shape(), host.bonds(), cores), model, null);
            if (matrix.rows() != weight.rows() || matrix.cols() != weight.cols()) {
                throw new IllegalArgumentException("matrix " + name + " is " + weight.rows() + " × " + weight.cols()
                        + " but was fitted as " + matrix.rows() + " × " + matrix.cols());
            }
            return matrix;
        };
    }

    /** The named matrix's MPO as host tensors in {@code arena} (with a copy of its group's central tensor). */
    public Mpo mpo(String name, Arena arena) {
        Member member = members.get(name);
        if (member == null) {
            throw new IllegalArgumentException("no shared-central fit for matrix " + name);
        }
        LayerSharing.Fit fit = fits.get(member.fit());
        return fit.mpo(member.index(), fit.centralTensor(arena), arena);
    }

    /** Every fit, by "type of layers [...]". */
    public Map<String, LayerSharing.Fit> fits() {
        return Map.copyOf(fits);
    }

    /** Per matrix, in the encoder's order. */
    public List<MatrixFidelity> fidelity() {
        List<MatrixFidelity> out = new ArrayList<>();
        members.forEach((name, member) -> {
            LayerSharing.Fit fit = fits.get(member.fit());
            out.add(new MatrixFidelity(name, member.fit(), fit.ownErrors()[member.index()],
                    fit.errors()[member.index()]));
        });
        return out;
    }

    /** The dense matrices' parameters. */
    public long denseParameters() {
        return denseParameters.values().stream().mapToLong(Long::longValue).sum();
    }

    /** The MPOs' parameters, each with its own central tensor. */
    public long unsharedParameters() {
        return fits.values().stream().mapToLong(LayerSharing.Fit::unsharedParameters).sum();
    }

    /** The MPOs' parameters with the central tensors shared. */
    public long sharedParameters() {
        return fits.values().stream().mapToLong(LayerSharing.Fit::parameters).sum();
    }
}
