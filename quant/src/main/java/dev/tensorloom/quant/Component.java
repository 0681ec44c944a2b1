package dev.tensorloom.quant;

import dev.tensorloom.runtime.bert.BertWeights;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/**
 * The six weight matrices of a BERT layer that a quantization policy chooses for: the attention's query, key,
 * value and output projections and the feed-forward block's up (intermediate) and down (output) projections.
 * The encoder multiplies Q, K and V as one fused matrix; each keeps its own columns there, so each may still be
 * quantized its own way.
 */
public enum Component {
    QUERY("q"),
    KEY("k"),
    VALUE("v"),
    ATTENTION_OUTPUT("o"),
    FFN_UP("up"),
    FFN_DOWN("down");

    /** Q, K, V and O. */
    public static final Set<Component> ATTENTION = EnumSet.of(QUERY, KEY, VALUE, ATTENTION_OUTPUT);
    /** FFN up and down. */
    public static final Set<Component> FFN = EnumSet.of(FFN_UP, FFN_DOWN);

    private final String shortName;

    Component(String shortName) {
        this.shortName = shortName;
    }

    /** q, k, v, o, up or down: the name the CLI and the study print. */
    public String shortName() {
        return shortName;
    }

    /** The component a short name (q, k, v, o, up, down) or an enum name stands for, case-insensitive. */
    public static Component parse(String name) {
        for (Component c : values()) {
            if (c.shortName.equalsIgnoreCase(name) || c.name().equalsIgnoreCase(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException("unknown component '" + name + "'; expected one of q, k, v, o, up, down");
    }

    /** This component's projection in a layer of the model. */
    public BertWeights.Linear of(BertWeights.Layer layer) {
        return switch (this) {
            case QUERY -> layer.query();
            case KEY -> layer.key();
            case VALUE -> layer.value();
            case ATTENTION_OUTPUT -> layer.attentionOutput();
            case FFN_UP -> layer.intermediate();
            case FFN_DOWN -> layer.output();
        };
    }

    /** The name of the matrix the encoder multiplies this component in (Q, K and V share the fused one). */
    public String encoderMatrix(int layer) {
        String suffix = switch (this) {
            case QUERY, KEY, VALUE -> "attention.qkv";
            case ATTENTION_OUTPUT -> "attention.output";
            case FFN_UP -> "intermediate";
            case FFN_DOWN -> "output";
        };
        return "layers." + layer + "." + suffix;
    }

    @Override
    public String toString() {
        return name().toLowerCase(Locale.ROOT);
    }
}
