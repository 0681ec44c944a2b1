package dev.tensorloom.runtime.kernel.vector;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Whether products of a few rows take twelve-row tiles ({@link GemmMicroKernel#packedTall}) on this machine:
 * {@code -Dtensorloom.gemm.tallTiles=true|false} says so, else the CPU's maker does. The twelve-row kernel loads
 * each vector of b once for twelve rows where the six-row one loads it twice, and reads four runs of the depth side
 * by side; it pays where one core draws little from memory and loses where the core would rather have fewer
 * broadcasts. Measured on MiniLM's 10×384×1536 product with its weights cold, one thread: on an Intel Emerald
 * Rapids core (10.8 GB/s to one core) 3,440-3,820 products/s against 2,830-3,360 for six-row tiles; on an AMD Zen 5
 * core 77-79 GFLOP/s against 89-95, and the encoder at batch 1, ~10 tokens, 620-645 batches/s against 682-703. So
 * the default is on for Intel cores and off for the rest (other makers not measured).
 */
final class TallTiles {

    static final String PROPERTY = "tensorloom.gemm.tallTiles";
    private static final Path CPUINFO = Path.of("/proc/cpuinfo");

    private TallTiles() {
    }

    /** This machine's choice: the property where it is set, else {@link #intel} of /proc/cpuinfo. */
    static boolean chosen() {
        return chosen(System.getProperty(PROPERTY), CPUINFO);
    }

    static boolean chosen(String property, Path cpuinfo) {
        if (property == null || property.isBlank()) {
            return intel(cpuinfo);
        }
        return switch (property.trim()) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException(
                    "-D" + PROPERTY + " must be true or false, got '" + property + "'");
        };
    }

    /** Whether cpuinfo's first "vendor_id" line names Intel; false where the file is absent or unreadable. */
    static boolean intel(Path cpuinfo) {
        if (!Files.isReadable(cpuinfo)) {
            return false;
        }
        try (Stream<String> lines = Files.lines(cpuinfo)) {
            return lines.filter(line -> line.startsWith("vendor_id"))
                    .findFirst()
                    .map(line -> line.substring(line.indexOf(':') + 1).trim().equals("GenuineIntel"))
                    .orElse(false);
        } catch (IOException | UncheckedIOException e) {
            return false;
        }
    }
}
