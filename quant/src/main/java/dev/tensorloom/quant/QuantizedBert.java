package dev.tensorloom.quant;

import dev.tensorloom.runtime.kernel.Backend;
import dev.tensorloom.runtime.kernel.MatrixPreparer;
import dev.tensorloom.runtime.kernel.PreparedMatrix;
import dev.tensorloom.runtime.kernel.Shapes;
import dev.tensorloom.runtime.tensor.Tensor;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The six weight matrices of every layer of a BERT model, each as its policy stored it: quantized
 * ({@link Quantized}) or fp32 ({@link Dense}). {@link #preparer} hands them to the unchanged
 * {@code BertEncoder}, which then multiplies by them without knowing their form; the model's other tensors
 * (embeddings, LayerNorms, biases) stay with its {@code BertWeights}. Made by {@link ModelQuantizer}, saved and
 * loaded by {@link QuantizedModelFile}.
 */
public final class QuantizedBert {

    /** One matrix [k, n] (input channels k) as stored. */
    public sealed interface Stored permits Quantized, Dense {

        MatrixRecipe recipe();

        int rows();

        int cols();

        /** Bytes of the stored form, scales and zero points included. */
        long bytes();
    }

    /** A quantized matrix: its recipe and its codes. */
    public record Quantized(MatrixRecipe recipe, QuantizedWeights weights) implements Stored {

        public Quantized {
            Objects.requireNonNull(weights, "weights");
            boolean ggml = weights instanceof GgmlWeights;
            if (recipe.method() == MatrixRecipe.Method.FP32 || ggml != (recipe.method() == MatrixRecipe.Method.GGML)
                    || weights instanceof PackedWeights p && !p.format().equals(recipe.format())
                    || weights instanceof GgmlWeights g && g.type() != recipe.ggmlType()) {
                throw new IllegalArgumentException(weights + " is not stored as " + recipe);
            }
        }

        @Override
        public int rows() {
            return weights.rows();
        }

        @Override
        public int cols() {
            return weights.cols();
        }

        @Override
        public long bytes() {
            return weights.bytes();
        }
    }

    /** An fp32 matrix, host memory owned by whoever made it (the model's weights). */
    public record Dense(Tensor weight) implements Stored {

        public Dense {
            Shapes.requireMatrix(weight, "weight");
        }

        @Override
        public MatrixRecipe recipe() {
            return MatrixRecipe.fp32();
        }

        @Override
        public int rows() {
            return weight.rows();
        }

        @Override
        public int cols() {
            return weight.cols();
        }

        @Override
        public long bytes() {
            return weight.size() * Tensor.FLOAT_BYTES;
        }
    }

    /** [layer][component ordinal]. */
    private final Stored[][] matrices;

    /** The stored matrices, [layer][component ordinal]; every layer holds all six. */
    public QuantizedBert(Stored[][] matrices) {
        if (matrices.length == 0) {
            throw new IllegalArgumentException("a model has at least one layer");
        }
        this.matrices = new Stored[matrices.length][];
        for (int layer = 0; layer < matrices.length; layer++) {
            if (matrices[layer].length != Component.values().length) {
                throw new IllegalArgumentException("layer " + layer + " has " + matrices[layer].length
                        + " matrices, not one per component (" + Component.values().length + ")");
            }
            for (Component c : Component.values()) {
                if (matrices[layer][c.ordinal()] == null) {
                    throw new IllegalArgumentException("layer " + layer + " has no " + c + " matrix");
                }
            }
            this.matrices[layer] = matrices[layer].clone();
        }
    }

    public int layers() {
        return matrices.length;
    }

    /** The stored form of one matrix. */
    public Stored matrix(int layer, Component component) {
        Objects.checkIndex(layer, matrices.length);
        return matrices[layer][component.ordinal()];
    }

    /** Bytes of all stored matrices (what the model's projections cost), in their stored forms. */
    public long bytes() {
        long bytes = 0;
        for (Stored[] layer : matrices) {
            for (Stored s : layer) {
                bytes += s.bytes();
            }
        }
        return bytes;
    }

    /** Weights in all matrices. */
    public long weightCount() {
        long count = 0;
        for (Stored[] layer : matrices) {
            for (Stored s : layer) {
                count += (long) s.rows() * s.cols();
            }
        }
        return count;
    }

    /** Average bits per weight over all matrices, scales, zero points and fp32 matrices included. */
    public double bitsPerWeight() {
        return 8.0 * bytes() / weightCount();
    }

    /**
     * A preparer that gives the encoder these matrices for its projections, multiplying on {@code backend}
     * (quantized ones with the quant kernels, fp32 ones with the backend's dense kernels). Q, K and V become one
     * fused matrix, as the encoder multiplies them: one quantized matrix when all three share a recipe (columns
     * quantize independently, so this is exactly their three forms), else {@link ColumnBlocks}. The weight the
     * encoder hands over is only checked for its shape: the stored forms are used.
     */
    public MatrixPreparer preparer(Backend backend) {
        QuantKernels kernels = QuantKernels.FAMILY.on(backend);
        return (name, weight, arena) -> {
            List<Stored> parts = partsOf(name);
            PreparedMatrix prepared = prepare(parts, backend, kernels, arena);
            if (prepared.rows() != weight.rows() || prepared.cols() != weight.cols()) {
                throw new IllegalArgumentException(name + ": stored as " + prepared.rows() + "x" + prepared.cols()
                        + ", but the model's matrix is " + weight.rows() + "x" + weight.cols());
            }
            return prepared;
        };
    }

    /** The stored matrices behind one of the encoder's matrix names, in column order. */
    private List<Stored> partsOf(String name) {
        String[] parts = name.split("\\.", 3);
        int layer = -1;
        if (parts.length == 3 && parts[0].equals("layers")) {
            try {
                layer = Integer.parseInt(parts[1]);
            } catch (NumberFormatException e) {
                layer = -1;
            }
        }
        if (layer < 0 || layer >= matrices.length) {
            throw new IllegalArgumentException(name + ": not a projection of this " + matrices.length
                    + "-layer model");
        }
        return switch (parts[2]) {
            case "attention.qkv" -> List.of(matrix(layer, Component.QUERY), matrix(layer, Component.KEY),
                    matrix(layer, Component.VALUE));
            case "attention.output" -> List.of(matrix(layer, Component.ATTENTION_OUTPUT));
            case "intermediate" -> List.of(matrix(layer, Component.FFN_UP));
            case "output" -> List.of(matrix(layer, Component.FFN_DOWN));
            default -> throw new IllegalArgumentException(name + ": not a projection this model stores");
        };
    }

    private static PreparedMatrix prepare(List<Stored> parts, Backend backend, QuantKernels kernels, Arena arena) {
        boolean sameRecipe = parts.stream().allMatch(p -> p.recipe().equals(parts.getFirst().recipe()));
        if (parts.size() == 1 || sameRecipe) {
            return switch (parts.getFirst()) {
                case Quantized q -> new QuantizedMatrix(concatColumns(parts), kernels);
                case Dense d -> backend.kernels().prepare(backend.toDevice(denseColumns(parts, arena), arena));
            };
        }
        List<PreparedMatrix> blocks = new ArrayList<>();
        for (Stored part : parts) {
            blocks.add(prepare(List.of(part), backend, kernels, arena));
        }
        return new ColumnBlocks(blocks);
    }

    private static QuantizedWeights concatColumns(List<Stored> parts) {
        if (parts.size() == 1) {
            return ((Quantized) parts.getFirst()).weights();
        }
        if (((Quantized) parts.getFirst()).weights() instanceof GgmlWeights first) {
            int n = 0;
            byte[][] data = new byte[parts.size()][];
            for (int i = 0; i < data.length; i++) {
                GgmlWeights g = (GgmlWeights) ((Quantized) parts.get(i)).weights();
                if (g.rows() != first.rows()) {
                    throw new IllegalArgumentException("cannot put " + g + " beside " + first);
                }
                data[i] = g.data();
                n += g.cols();
            }
            byte[] all = new byte[Math.multiplyExact(first.rowBytes(), n)];
            int at = 0;
            for (byte[] d : data) {
                System.arraycopy(d, 0, all, at, d.length);
                at += d.length;
            }
            return new GgmlWeights(first.type(), first.rows(), n, all);
        }
        return PackedWeights.concatColumns(parts.stream().map(p -> (PackedWeights) ((Quantized) p).weights()).toList());
    }

    private static Tensor denseColumns(List<Stored> parts, Arena arena) {
        if (parts.size() == 1) {
            return ((Dense) parts.getFirst()).weight();
        }
        int k = parts.getFirst().rows();
        int n = parts.stream().mapToInt(Stored::cols).sum();
        Tensor fused = Tensor.allocate(arena, k, n);
        int col = 0;
        for (Stored p : parts) {
            if (p.rows() != k) {
                throw new IllegalArgumentException("cannot put a " + p.rows() + "-row matrix beside " + k + " rows");
            }
            fused.slice(1, col, col + p.cols()).copyFrom(((Dense) p).weight());
            col += p.cols();
        }
        return fused;
    }

    @Override
    public String toString() {
        return "QuantizedBert[" + matrices.length + " layers, " + String.format("%.3f", bitsPerWeight())
                + " bits per weight, " + Arrays.stream(matrices[0]).map(Stored::recipe).toList() + " in layer 0]";
    }
}
