package dev.tensorloom.quant;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tensorloom.runtime.bert.BertWeights;
import dev.tensorloom.testkit.ByteDamage;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Thousands of damaged quantized model files (every record kind: fp32, grouped codes at 2 to 8 bits, GPTQ, ggml
 * blocks) through {@link QuantizedModelFile#read}: whatever the damage, the only exception allowed out is
 * {@link QuantizedModelFormatException} naming the file; nothing may hang or allocate by a corrupt size. The seed is
 * fixed, so a failure names the case that reproduces it.
 */
class QuantizedModelFileFuzzTest {

    private static final int CASES = 4000;

    @Test
    void damagedFilesOnlyEverFailWithTheFormatException() throws Exception {
        byte[] base;
        try (BertWeights weights = TinyBert.weights(5)) {
            base = QuantizedModelFileTest.bytes(weights, QuantizedModelFileTest.mixedModel(weights));
        }
        Random random = new Random(0x7E51_F11EL);
        int[] outcomes = new int[2];
        assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
            for (int i = 0; i < CASES; i++) {
                StringBuilder damage = new StringBuilder();
                byte[] bytes = ByteDamage.damage(base, random, damage);
                String source = "case-" + i + ".tlq";
                try (QuantizedModelFile.Contents loaded = QuantizedModelFile.read(bytes, source)) {
                    // Only damage that changed nothing a checksum covers can load: a cut, deletion or insertion
                    // that left the same bytes, say.
                    outcomes[0]++;
                } catch (QuantizedModelFormatException e) {
                    if (!e.getMessage().startsWith(source + ": at byte ")) {
                        throw new AssertionError(source + " (" + damage + "): message does not name the file and "
                                + "byte: " + e.getMessage());
                    }
                    outcomes[1]++;
                } catch (Throwable t) {
                    throw new AssertionError(source + " (" + damage + "): the reader threw " + t, t);
                }
            }
        });
        System.out.printf("quantized model fuzz: %d cases, %d rejected, %d loaded%n", CASES, outcomes[1], outcomes[0]);
        assertTrue(outcomes[1] > CASES * 9 / 10, "most damage must be caught");
    }
}
