package dev.tensorloom.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.stream.IntStream;
import me.tongfei.progressbar.ProgressBar;
import org.junit.jupiter.api.Test;

/** The two faces of a bench progress bar: a short log, and a line redrawn in place on a terminal. */
class ProgressBarsTest {

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    @Test
    void inALogABarIsAStartLineAndOneFinalLine() throws InterruptedException {
        try (ProgressBar bar = ProgressBars.start("encode", 1000, out, false)) {
            // The library draws the start frame on its own thread: steps taken before it would make it 100% too,
            // the same line as the end, which is then dropped as a repeat.
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (bytes.size() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(1);
            }
            IntStream.range(0, 1000).parallel().forEach(i -> bar.step());
        }
        String log = bytes.toString(StandardCharsets.UTF_8);
        List<String> lines = log.lines().toList();
        // Well inside the interval between two plain lines: the start, and the end printed once (not twice).
        assertEquals(2, lines.size(), log);
        assertTrue(lines.get(0).matches("encode +\\d+% \\[[= ]*>? *\\] +\\d+/1000 \\(0:00:00 / .*\\)"), lines.get(0));
        String prefix = "encode 100% [";
        String suffix = "] 1000/1000 (0:00:00 / 0:00:00)";
        // The bar fills the width less the prefix, the suffix and the blank the library ends a frame with.
        assertEquals(prefix + "=".repeat(ProgressBars.LOG_WIDTH - prefix.length() - suffix.length() - 1) + suffix,
                lines.get(1));
        assertFalse(log.contains("\r"), log);
    }

    @Test
    void onATerminalABarRedrawsOneLine() throws InterruptedException {
        try (ProgressBar bar = ProgressBars.start("encode", 10, out, true)) {
            for (int i = 0; i < 10; i++) {
                Thread.sleep(30);
                bar.step();
            }
        }
        String screen = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(screen.startsWith("\r") && screen.indexOf('\n') == screen.length() - 1, screen);
        assertTrue(screen.chars().filter(c -> c == '\r').count() >= 2, screen);
        // Ten 30 ms steps take 0:00:00 on a quiet machine; a loaded one (CI's 2 shared cores) may print 0:00:01.
        assertTrue(screen.strip().matches("(?s).*10/10 \\(0:00:0\\d / 0:00:00\\)"), screen);
    }
}
