package dev.tensorloom.quant;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Which matrices of a BERT model are quantized, and how: a list of rules, each a set of layers (or all), a set of
 * {@link Component}s and a {@link MatrixRecipe}; the last rule that matches a matrix decides, and a matrix no rule
 * matches stays fp32. Immutable: every {@code with} returns a new policy.
 *
 * <pre>{@code
 * QuantPolicy.uniform(MatrixRecipe.gptq(GroupFormat.symmetric(4, 128)))      // every matrix 4-bit GPTQ
 *         .with(Component.FFN, MatrixRecipe.gptq(GroupFormat.symmetric(3, 128)))  // FFN at 3 bits
 *         .with(Set.of(0), Component.ATTENTION, MatrixRecipe.fp32());         // layer 0's attention untouched
 * }</pre>
 */
public final class QuantPolicy {

    /** One rule: {@code layers} null for every layer. */
    private record Rule(Set<Integer> layers, Set<Component> components, MatrixRecipe recipe) {
    }

    private final List<Rule> rules;

    private QuantPolicy(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    /** No rule: every matrix stays fp32. */
    public static QuantPolicy fp32() {
        return new QuantPolicy(List.of());
    }

    /** Every matrix of every layer by {@code recipe}. */
    public static QuantPolicy uniform(MatrixRecipe recipe) {
        return fp32().with(EnumSet.allOf(Component.class), recipe);
    }

    /** This policy, then {@code components} of every layer by {@code recipe}. */
    public QuantPolicy with(Set<Component> components, MatrixRecipe recipe) {
        return add(null, components, recipe);
    }

    /** This policy, then {@code components} of the given layers by {@code recipe}. */
    public QuantPolicy with(Set<Integer> layers, Set<Component> components, MatrixRecipe recipe) {
        Objects.requireNonNull(layers, "layers");
        for (int layer : layers) {
            if (layer < 0) {
                throw new IllegalArgumentException("layer indices start at 0, got " + layer);
            }
        }
        return add(Set.copyOf(layers), components, recipe);
    }

    /** This policy, then one matrix by {@code recipe}. */
    public QuantPolicy with(int layer, Component component, MatrixRecipe recipe) {
        return with(Set.of(layer), EnumSet.of(component), recipe);
    }

    private QuantPolicy add(Set<Integer> layers, Set<Component> components, MatrixRecipe recipe) {
        Objects.requireNonNull(recipe, "recipe");
        if (components.isEmpty()) {
            throw new IllegalArgumentException("a rule needs at least one component");
        }
        List<Rule> more = new ArrayList<>(rules);
        more.add(new Rule(layers, Set.copyOf(components), recipe));
        return new QuantPolicy(more);
    }

    /** How the matrix {@code component} of layer {@code layer} is stored. */
    public MatrixRecipe recipe(int layer, Component component) {
        for (int i = rules.size() - 1; i >= 0; i--) {
            Rule r = rules.get(i);
            if ((r.layers() == null || r.layers().contains(layer)) && r.components().contains(component)) {
                return r.recipe();
            }
        }
        return MatrixRecipe.fp32();
    }

    /** Whether any matrix of a model with {@code layers} layers is quantized by GPTQ. */
    public boolean needsCalibration(int layers) {
        for (int layer = 0; layer < layers; layer++) {
            for (Component c : Component.values()) {
                if (recipe(layer, c).needsCalibration()) {
                    return true;
                }
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return rules.isEmpty() ? "fp32" : rules.toString();
    }
}
