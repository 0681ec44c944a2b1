package dev.tensorloom.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * What a benchmark ran on, so that numbers in a report can be compared with numbers from another machine.
 *
 * @param os      name, version and architecture
 * @param cpu     CPU model from /proc/cpuinfo, or the architecture where that file does not exist
 * @param cores   processors available to the JVM (cgroup limits included)
 * @param jvm     vendor, VM name and version
 * @param maxHeap maximum heap in bytes ({@code -Xmx})
 * @param date    when the description was taken
 */
public record MachineDescription(String os, String cpu, int cores, String jvm, long maxHeap, ZonedDateTime date) {

    private static final Path CPUINFO = Path.of("/proc/cpuinfo");

    /** The machine this JVM runs on, now. */
    public static MachineDescription current() {
        String arch = System.getProperty("os.arch");
        String os = System.getProperty("os.name") + " " + System.getProperty("os.version") + " (" + arch + ")";
        String jvm = System.getProperty("java.vm.vendor") + " " + System.getProperty("java.vm.name") + " "
                + Runtime.version();
        return new MachineDescription(os, cpuModel(CPUINFO).orElse(arch), Runtime.getRuntime().availableProcessors(),
                jvm, Runtime.getRuntime().maxMemory(), ZonedDateTime.now().truncatedTo(ChronoUnit.SECONDS));
    }

    /** A two-column table, one property per row. */
    public MarkdownTable toTable() {
        return new MarkdownTable("Property", "Value")
                .row("OS", os)
                .row("CPU", cpu)
                .row("Cores", cores)
                .row("JVM", jvm)
                .row("Max heap", formatBytes(maxHeap))
                .row("Date", date.format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    }

    /**
     * The "model name" line of an x86 cpuinfo; on ARM, where Linux prints no model name, the "Hardware" or
     * "CPU implementer/part" lines say at least whose core it is.
     */
    static Optional<String> cpuModel(Path cpuinfo) {
        if (!Files.isReadable(cpuinfo)) {
            return Optional.empty();
        }
        List<String> lines;
        try (Stream<String> stream = Files.lines(cpuinfo)) {
            lines = stream.toList();
        } catch (IOException | RuntimeException e) {
            // A description without the CPU model is still worth writing; the report must not fail for it.
            return Optional.empty();
        }
        for (String key : List.of("model name", "Hardware", "Processor", "cpu model")) {
            Optional<String> value = field(lines, key);
            if (value.isPresent()) {
                return value;
            }
        }
        Optional<String> implementer = field(lines, "CPU implementer");
        Optional<String> part = field(lines, "CPU part");
        if (implementer.isPresent() && part.isPresent()) {
            return Optional.of("CPU implementer " + implementer.get() + ", part " + part.get());
        }
        return Optional.empty();
    }

    private static Optional<String> field(List<String> lines, String key) {
        for (String line : lines) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).strip().equals(key)) {
                String value = line.substring(colon + 1).strip();
                if (!value.isEmpty()) {
                    return Optional.of(value);
                }
            }
        }
        return Optional.empty();
    }

    static String formatBytes(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "unlimited";
        }
        double gib = bytes / (1024.0 * 1024 * 1024);
        if (gib >= 1) {
            return String.format(Locale.ROOT, "%.1f GiB", gib);
        }
        return String.format(Locale.ROOT, "%.0f MiB", bytes / (1024.0 * 1024));
    }
}
