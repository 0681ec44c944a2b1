package dev.tensorloom.runtime.bert;

import static dev.tensorloom.runtime.bert.GraphNavigator.MAX_CHAIN;

import dev.tensorloom.runtime.kernel.Erf;
import dev.tensorloom.runtime.onnx.OnnxAttribute;
import dev.tensorloom.runtime.onnx.OnnxFormatException;
import dev.tensorloom.runtime.onnx.OnnxNode;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Finds the activation between a layer's intermediate and output projections and checks that it is the
 * exact GELU, x/2·(1 + erf(x/√2)), which the encoder computes. Exports spell it in many ways (Div by √2 or
 * Mul by 1/√2, the 0.5 first or last, a Gelu node at opset 20), so instead of matching one spelling the
 * elementwise subgraph is evaluated at a few probe points and compared with GELU. A tanh or sigmoid
 * approximation, a wrong constant, or a wire to anything but the activation's input fails the comparison.
 */
final class GeluMatcher {

    private static final Set<String> ELEMENTWISE = Set.of("Div", "Mul", "Add", "Sub", "Neg", "Erf", "Pow", "Sqrt",
            "Reciprocal", "Tanh", "Sigmoid", "Cast", "Identity", "Gelu");
    private static final double[] PROBES = {-4, -2.5, -1, -0.5, -0.1, 0, 0.2, 0.7, 1.3, 3};
    /** Far below the gap to the tanh approximation (above 1e-4 at several probes), far above float rounding. */
    private static final double TOLERANCE = 2e-5;

    private final GraphNavigator graph;
    private final LinearMatcher linears;

    GeluMatcher(GraphNavigator graph, LinearMatcher linears) {
        this.graph = graph;
        this.linears = linears;
    }

    /** The output projection MatMul that the GELU of {@code activated} feeds. */
    OnnxNode followToOutputProjection(String activated, String where) throws OnnxFormatException {
        Deque<String> frontier = new ArrayDeque<>(List.of(activated));
        Set<OnnxNode> region = new LinkedHashSet<>();
        OnnxNode exit = null;
        while (!frontier.isEmpty()) {
            String v = frontier.pop();
            for (OnnxNode n : graph.dataConsumers(v)) {
                if (linears.isProjection(n, v)) {
                    if (exit != null && exit != n) {
                        throw graph.fail(where + ": expected one output MatMul after the activation, found " + exit
                                + " and " + n);
                    }
                    exit = n;
                } else if (n.domain().isEmpty() && ELEMENTWISE.contains(n.opType())) {
                    if (region.add(n)) {
                        if (region.size() > MAX_CHAIN) {
                            throw graph.fail(where + ": the activation after " + graph.describeValue(activated)
                                    + " does not reach an output MatMul within " + MAX_CHAIN + " nodes");
                        }
                        frontier.push(n.output(0));
                    }
                } else {
                    throw graph.fail(where + ": expected the GELU activation of " + graph.describeValue(activated)
                            + " to lead to the output MatMul, found " + n + " consuming '" + v + "'");
                }
            }
        }
        if (exit == null) {
            throw graph.fail(where + ": expected the activation of " + graph.describeValue(activated)
                    + " to feed an output MatMul with a constant weight, found none");
        }
        double[] computed = evaluate(activated, region, exit.input(0), where);
        for (int i = 0; i < PROBES.length; i++) {
            double expected = gelu(PROBES[i]);
            if (!(Math.abs(computed[i] - expected) <= TOLERANCE * Math.max(1, Math.abs(expected)))) {
                throw graph.fail(where + ": expected the exact GELU between the intermediate and output layers,"
                        + " but the nodes " + region.stream().map(n -> n.opType() + " '" + n.name() + "'").toList()
                        + " give " + computed[i] + " at " + PROBES[i] + " where GELU is " + expected);
            }
        }
        return exit;
    }

    static double gelu(double x) {
        return 0.5 * x * (1 + Erf.erf(x / Math.sqrt(2)));
    }

    /** The value {@code result} takes when {@code input} is each probe, running the region in file order. */
    private double[] evaluate(String input, Set<OnnxNode> region, String result, String where)
            throws OnnxFormatException {
        Map<String, double[]> values = new HashMap<>();
        values.put(input, PROBES.clone());
        for (OnnxNode n : graph.model().nodes()) {
            if (!region.contains(n)) {
                continue;
            }
            double[][] in = new double[n.inputs().size()][];
            for (int k = 0; k < in.length; k++) {
                in[k] = operand(n.input(k), values, n, where);
            }
            values.put(n.output(0), apply(n, in, where));
        }
        double[] out = values.get(result);
        if (out == null) {
            throw graph.fail(where + ": expected the output MatMul to read the activation of "
                    + graph.describeValue(input) + ", found it reads " + graph.describeValue(result));
        }
        return out;
    }

    private double[] operand(String name, Map<String, double[]> values, OnnxNode n, String where)
            throws OnnxFormatException {
        double[] v = values.get(name);
        if (v != null) {
            return v;
        }
        if (graph.isScalarConstant(name)) {
            double[] c = new double[PROBES.length];
            Arrays.fill(c, graph.scalar(name, "a constant of " + n));
            return c;
        }
        throw graph.fail(where + ": expected " + n + " in the activation to read its input or a scalar constant,"
                + " found " + graph.describeValue(name));
    }

    private double[] apply(OnnxNode n, double[][] in, String where) throws OnnxFormatException {
        int arity = switch (n.opType()) {
            case "Div", "Mul", "Add", "Sub", "Pow" -> 2;
            default -> 1;
        };
        if (in.length != arity) {
            throw graph.fail(where + ": expected " + arity + " inputs on " + n);
        }
        double[] out = new double[PROBES.length];
        for (int i = 0; i < out.length; i++) {
            double a = in[0][i];
            double b = arity == 2 ? in[1][i] : 0;
            out[i] = switch (n.opType()) {
                case "Div" -> a / b;
                case "Mul" -> a * b;
                case "Add" -> a + b;
                case "Sub" -> a - b;
                case "Pow" -> Math.pow(a, b);
                case "Neg" -> -a;
                case "Erf" -> Erf.erf(a);
                case "Sqrt" -> Math.sqrt(a);
                case "Reciprocal" -> 1 / a;
                case "Tanh" -> Math.tanh(a);
                case "Sigmoid" -> 1 / (1 + Math.exp(-a));
                case "Gelu" -> geluOp(n, a);
                default -> a;
            };
        }
        return out;
    }

    private double geluOp(OnnxNode n, double x) throws OnnxFormatException {
        Optional<OnnxAttribute> approximate = n.attribute("approximate");
        if (approximate.isEmpty() || approximate.get().asString().equals("none")) {
            return gelu(x);
        }
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }
}
