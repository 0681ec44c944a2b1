package dev.tensorloom.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressBarTest {

    private static final long SECOND = 1_000_000_000L;

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);
    private final AtomicLong now = new AtomicLong(5 * SECOND);

    private String printed() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void rendersCountRateAndEta() {
        ProgressBar bar = new ProgressBar("encode", 1000, out, false, now::get);
        assertEquals("encode [#########...........]  450/1000  45%  45.0/s  ETA 0:12", bar.render(450, 10));
        assertEquals("encode [....................]    0/1000   0%  0.00/s  ETA ?", bar.render(0, 0));
        assertEquals("encode [####################] 1000/1000 100%  100/s  ETA 0:00", bar.render(1000, 10));
        assertEquals("1:01:01", ProgressBar.formatDuration(3661));
    }

    @Test
    void plainOutputPrintsOneLinePerTenthAndAFinalLine() {
        try (ProgressBar bar = new ProgressBar("load", 100, out, false, now::get)) {
            for (int i = 0; i < 100; i++) {
                now.addAndGet(SECOND / 10);
                bar.step();
            }
        }
        List<String> lines = printed().lines().toList();
        // The start, ten tenths, and the summary.
        assertEquals(12, lines.size(), printed());
        assertEquals("load [....................]   0/100   0%  0.00/s  ETA ?", lines.get(0));
        assertEquals("load [##..................]  10/100  10%  10.0/s  ETA 0:09", lines.get(1));
        assertEquals("load 100/100 in 0:10 (10.0/s)", lines.get(11));
        assertFalse(printed().contains("\r"));
    }

    @Test
    void plainOutputSpeaksUpAfterLongSilence() {
        ProgressBar bar = new ProgressBar("slow", 1000, out, false, now::get);
        now.addAndGet(ProgressBar.PLAIN_INTERVAL_SECONDS * SECOND);
        bar.step();
        assertEquals(2, printed().lines().count(), printed());
    }

    @Test
    void terminalOutputRedrawsOneLineAtMostTenTimesASecond() {
        try (ProgressBar bar = new ProgressBar("bench", 50, out, true, now::get)) {
            for (int i = 0; i < 50; i++) {
                now.addAndGet(SECOND / 50);
                bar.step();
            }
        }
        String text = printed();
        long redraws = text.chars().filter(c -> c == '\r').count();
        // Start + a redraw every 100 ms over one second (5 steps each) + last step + summary.
        assertTrue(redraws >= 10 && redraws <= 13, redraws + " redraws: " + text);
        assertEquals(1, text.chars().filter(c -> c == '\n').count(), "only the summary ends the line");
        assertTrue(text.endsWith("\n"));
        String summary = text.substring(text.lastIndexOf('\r') + 1);
        // Padded with spaces so that it covers the longer progress line it replaces.
        assertEquals("bench 50/50 in 0:01 (50.0/s)", summary.stripTrailing());
        String lastProgress = text.substring(text.lastIndexOf('\r', text.lastIndexOf('\r') - 1) + 1,
                text.lastIndexOf('\r'));
        assertEquals(lastProgress.length() + 1, summary.length());
    }

    @Test
    void countsEveryStepFromManyThreads() throws InterruptedException {
        int threads = 8;
        int perThread = 20_000;
        ProgressBar bar = new ProgressBar("parallel", (long) threads * perThread, out, true, System::nanoTime);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            workers.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perThread; i++) {
                    bar.step();
                }
            }));
        }
        for (Thread w : workers) {
            w.join();
        }
        bar.close();
        assertEquals((long) threads * perThread, bar.done());
        assertTrue(printed().contains("parallel 160000/160000 in "), printed());
    }

}
