package dev.tensorloom.runtime.onnx;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertOnnxLoader;
import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.testkit.ByteDamage;
import dev.tensorloom.testkit.OnnxModelWriter.Attribute;
import dev.tensorloom.testkit.OnnxModelWriter;
import dev.tensorloom.testkit.TinyBertOnnx.KeyTranspose;
import dev.tensorloom.testkit.TinyBertOnnx.LayerNormForm;
import dev.tensorloom.testkit.TinyBertOnnx.PositionIds;
import dev.tensorloom.testkit.TinyBertOnnx.Spec;
import dev.tensorloom.testkit.TinyBertOnnx;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/**
 * Thousands of damaged versions of small valid BERT models, through {@link OnnxModel#read} and
 * {@link BertOnnxLoader#load}. Whatever the damage, the only exception allowed out is
 * {@link OnnxFormatException} naming the model; nothing may hang, allocate by a corrupt size, or loop on a
 * cyclic graph. Seeds are fixed, so a failure names the case that reproduces it.
 */
class OnnxFuzzTest {

    private static final int BYTE_CASES = 3000;
    private static final int GRAPH_CASES = 1000;

    /** Small sizes keep the weights a minority of the bytes, so most damage hits structure. */
    private static final Spec DECOMPOSED = Spec.small().withSizes(11, 8, 2, 2, 16, 8, 2);
    private static final Spec FUSED = DECOMPOSED.with(LayerNormForm.FUSED).with(KeyTranspose.DOUBLE)
            .with(PositionIds.RANGE);

    private static final List<String> OPS = List.of("Add", "Mul", "Sub", "Div", "MatMul", "Transpose", "Reshape",
            "Softmax", "Erf", "Identity", "Gather", "LayerNormalization", "ReduceMean", "Sqrt", "Pow", "Slice",
            "Range", "Concat", "Unsqueeze", "Cast", "Shape", "Constant", "Tanh", "Reciprocal", "Where", "Expand");

    /** What the cases came to; a fuzz run where everything fails at the first byte would test little. */
    private static final class Outcomes {
        int loaded;
        int rejectedByReader;
        int rejectedByLoader;
    }

    @Test
    void damagedBytesOnlyEverFailWithOnnxFormatException() {
        byte[][] bases = {TinyBertOnnx.build(DECOMPOSED).bytes(), TinyBertOnnx.build(FUSED).bytes()};
        Random random = new Random(0x5EED_0B7EL);
        Outcomes outcomes = new Outcomes();
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int i = 0; i < BYTE_CASES; i++) {
                StringBuilder damage = new StringBuilder();
                byte[] bytes = ByteDamage.damage(bases[i % 2], random, damage);
                run("bytes-" + i + ".onnx", () -> bytes, damage, outcomes);
            }
        });
        report("byte", BYTE_CASES, outcomes);
    }

    @Test
    void damagedGraphsOnlyEverFailWithOnnxFormatException() {
        Random random = new Random(0x6A4F_C0DEL);
        Outcomes outcomes = new Outcomes();
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int i = 0; i < GRAPH_CASES; i++) {
                TinyBertOnnx tiny = TinyBertOnnx.build((i % 2 == 0 ? DECOMPOSED : FUSED).withSeed(i));
                StringBuilder damage = new StringBuilder();
                damageGraph(tiny.writer(), random, damage);
                byte[] bytes = tiny.bytes();
                run("graph-" + i + ".onnx", () -> bytes, damage, outcomes);
            }
        });
        report("graph", GRAPH_CASES, outcomes);
    }

    private static void run(String source, Supplier<byte[]> bytes, StringBuilder damage, Outcomes outcomes) {
        OnnxModel model;
        try {
            model = OnnxModel.read(bytes.get(), source);
        } catch (OnnxFormatException e) {
            requireNamed(e, source, damage);
            outcomes.rejectedByReader++;
            return;
        } catch (Throwable t) {
            throw new AssertionError(source + " (" + damage + "): the reader threw " + t, t);
        }
        try (model; BertWeights w = BertOnnxLoader.load(model)) {
            if (w.config().layers() < 1 || w.layers().size() != w.config().layers()) {
                throw new AssertionError(source + " (" + damage + "): loaded an inconsistent " + w.config());
            }
            outcomes.loaded++;
        } catch (OnnxFormatException e) {
            requireNamed(e, source, damage);
            outcomes.rejectedByLoader++;
        } catch (Throwable t) {
            throw new AssertionError(source + " (" + damage + "): the loader threw " + t, t);
        }
    }

    private static void requireNamed(OnnxFormatException e, String source, StringBuilder damage) {
        if (!e.getMessage().startsWith(source)) {
            throw new AssertionError(source + " (" + damage + "): message does not name the file: " + e.getMessage());
        }
    }

    private static void report(String kind, int cases, Outcomes o) {
        System.out.printf("%s fuzz: %d cases, %d rejected by the reader, %d by the loader, %d loaded%n", kind, cases,
                o.rejectedByReader, o.rejectedByLoader, o.loaded);
        assertTrue(o.rejectedByReader > 0 || !kind.equals("byte"), "no damage reached the reader's checks");
        assertTrue(o.rejectedByLoader > 0, "no damage reached the loader's checks");
        assertTrue(o.loaded > 0, "no damaged model loaded: the damage is too coarse to test anything deep");
    }

    private static void damageGraph(OnnxModelWriter w, Random r, StringBuilder log) {
        List<OnnxModelWriter.Node> nodes = w.nodes();
        List<String> values = new ArrayList<>(List.of("input_ids", "attention_mask", "token_type_ids", "missing"));
        nodes.forEach(n -> values.addAll(n.outputs));
        int edits = 1 + r.nextInt(3);
        for (int e = 0; e < edits && !nodes.isEmpty(); e++) {
            OnnxModelWriter.Node n = nodes.get(r.nextInt(nodes.size()));
            switch (r.nextInt(7)) {
                case 0 -> {
                    nodes.remove(n);
                    log.append("removed ").append(n.name).append("; ");
                }
                case 1 -> {
                    n.opType = OPS.get(r.nextInt(OPS.size()));
                    log.append(n.name).append(" became ").append(n.opType).append("; ");
                }
                case 2 -> {
                    if (!n.inputs.isEmpty()) {
                        int k = r.nextInt(n.inputs.size());
                        // Any value, downstream ones included: this is how cycles arise.
                        n.inputs.set(k, values.get(r.nextInt(values.size())));
                        log.append(n.name).append(" input ").append(k).append(" rewired to ")
                                .append(n.inputs.get(k)).append("; ");
                    }
                }
                case 3 -> {
                    java.util.Collections.reverse(n.inputs);
                    log.append(n.name).append(" inputs reversed; ");
                }
                case 4 -> {
                    long[] ints = new long[r.nextInt(5)];
                    for (int k = 0; k < ints.length; k++) {
                        ints[k] = r.nextInt(9) - 4;
                    }
                    String name = List.of("perm", "axes", "axis", "epsilon", "to").get(r.nextInt(5));
                    n.set(name.equals("axis") || name.equals("to") ? Attribute.integer(name, ints.length)
                            : name.equals("epsilon") ? Attribute.real(name, r.nextFloat())
                            : Attribute.ints(name, ints));
                    log.append(n.name).append(" attribute ").append(name).append(" changed; ");
                }
                case 5 -> {
                    long[] v = new long[r.nextInt(5)];
                    for (int k = 0; k < v.length; k++) {
                        v[k] = r.nextInt(70) - 3;
                    }
                    n.set(Attribute.tensor("value", r.nextBoolean()
                            ? OnnxModelWriter.int64Tensor("", v, v.length)
                            : OnnxModelWriter.floatTensor("", new float[] {r.nextFloat() * 10 - 5})));
                    log.append(n.name).append(" value replaced; ");
                }
                default -> {
                    OnnxModelWriter.Node other = nodes.get(r.nextInt(nodes.size()));
                    n.outputs = new ArrayList<>(other.outputs);
                    log.append(n.name).append(" now writes the outputs of ").append(other.name).append("; ");
                }
            }
        }
    }
}
