package dev.tensorloom.bench.report;

import java.io.Console;
import java.io.PrintStream;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * Console progress for a long step (loading a model, encoding thousands of sentences): label, done/total,
 * percentage, rate and estimated time left.
 *
 * <pre>{@code
 * try (var progress = new ProgressBar("encode", sentences.size())) {
 *     sentences.parallelStream().forEach(s -> { encode(s); progress.step(); });
 * }
 * }</pre>
 * On a terminal the line is redrawn in place with {@code \r}, at most ten times a second:
 * <pre>encode [#########...........]   450/1000  45%  123.4/s  ETA 0:04</pre>
 * When the JVM is not on a terminal ({@code System.console()} is null or not a terminal, as under Maven, CI or
 * with output redirected to a file) it prints a plain line at the start, at each tenth of the way and at least every
 * {@value #PLAIN_INTERVAL_SECONDS} s, so logs stay short. {@link #close()} prints the final line with the total
 * time. Writes to standard error, leaving standard output to results. {@link #step()} may be called from many
 * threads at once; it costs an atomic add when nothing needs redrawing.
 */
public final class ProgressBar implements AutoCloseable {

    /** Longest silence between two plain lines. */
    public static final int PLAIN_INTERVAL_SECONDS = 30;

    private static final int BAR_WIDTH = 20;
    private static final long REDRAW_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long PLAIN_NANOS = TimeUnit.SECONDS.toNanos(PLAIN_INTERVAL_SECONDS);

    private final String label;
    private final long total;
    private final PrintStream out;
    private final boolean terminal;
    private final LongSupplier clock;
    private final long start;
    private final AtomicLong done = new AtomicLong();
    private final ReentrantLock drawing = new ReentrantLock();

    // Guarded by drawing.
    private long lastDrawNanos;
    private long lastDrawnTenth;
    private int lastLineLength;
    private boolean closed;

    /** A progress bar on standard error that redraws in place when {@link #isTerminal()}. */
    public ProgressBar(String label, long total) {
        this(label, total, System.err, isTerminal(), System::nanoTime);
    }

    /**
     * A progress bar on {@code out}.
     *
     * @param terminal true to redraw one line with {@code \r}, false for sparse plain lines
     * @param clock    nanosecond time source, {@code System::nanoTime} outside tests
     */
    public ProgressBar(String label, long total, PrintStream out, boolean terminal, LongSupplier clock) {
        if (total < 0) {
            throw new IllegalArgumentException("total must be >= 0, got " + total);
        }
        this.label = label;
        this.total = total;
        this.out = out;
        this.terminal = terminal;
        this.clock = clock;
        this.start = clock.getAsLong();
        this.lastDrawNanos = start;
        // A first line at once, so that a log shows which step started even if it then hangs.
        draw(0, start);
    }

    /**
     * Whether the JVM runs on an interactive terminal (standard input and output are not redirected), the case in
     * which redrawing with \r looks right.
     */
    public static boolean isTerminal() {
        Console console = System.console();
        return console != null && console.isTerminal();
    }

    /** One more item done. */
    public void step() {
        step(1);
    }

    /** {@code n} more items done. */
    public void step(long n) {
        long now = done.addAndGet(n);
        long time = clock.getAsLong();
        boolean finished = now >= total;
        if (finished) {
            // The last step must be shown even if another thread is drawing, so wait for it.
            drawing.lock();
        } else if (!drawing.tryLock()) {
            return;
        }
        try {
            if (closed) {
                return;
            }
            if (terminal) {
                if (finished || time - lastDrawNanos >= REDRAW_NANOS) {
                    draw(done.get(), time);
                }
            } else {
                long tenth = total == 0 ? 10 : Math.min(10, now * 10 / total);
                if (tenth > lastDrawnTenth || time - lastDrawNanos >= PLAIN_NANOS) {
                    lastDrawnTenth = tenth;
                    draw(done.get(), time);
                }
            }
        } finally {
            drawing.unlock();
        }
    }

    /** Items done so far. */
    public long done() {
        return done.get();
    }

    public long total() {
        return total;
    }

    /** Prints the final line (count, total time and mean rate) and ends it. Later steps print nothing. */
    @Override
    public void close() {
        drawing.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            long time = clock.getAsLong();
            long count = done.get();
            double seconds = (time - start) / 1e9;
            String line = String.format(Locale.ROOT, "%s %d/%d in %s (%s/s)", label, count, total,
                    formatDuration(seconds), formatRate(rate(count, seconds)));
            if (terminal) {
                out.print("\r" + padToLastLine(line) + "\n");
            } else {
                out.println(line);
            }
            out.flush();
        } finally {
            drawing.unlock();
        }
    }

    /** The progress line for {@code count} items after {@code seconds}; shown on a terminal and in plain logs. */
    String render(long count, double seconds) {
        long shown = Math.min(count, total);
        double fraction = total == 0 ? 1 : (double) shown / total;
        double rate = rate(count, seconds);
        String eta = rate > 0 && shown < total ? formatDuration((total - shown) / rate) : shown >= total ? "0:00" : "?";
        int filled = (int) Math.floor(fraction * BAR_WIDTH);
        String bar = "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled);
        int digits = Long.toString(total).length();
        return String.format(Locale.ROOT, "%s [%s] %" + digits + "d/%d %3d%%  %s/s  ETA %s", label, bar, count, total,
                (int) Math.floor(fraction * 100), formatRate(rate), eta);
    }

    private void draw(long count, long time) {
        String line = render(count, (time - start) / 1e9);
        if (terminal) {
            out.print("\r" + padToLastLine(line));
        } else {
            out.println(line);
        }
        out.flush();
        lastDrawNanos = time;
    }

    // Spaces over the tail of a longer previous line, which \r alone would leave on screen.
    private String padToLastLine(String line) {
        String padded = line.length() < lastLineLength ? line + " ".repeat(lastLineLength - line.length()) : line;
        lastLineLength = line.length();
        return padded;
    }

    private static double rate(long count, double seconds) {
        return seconds > 0 ? count / seconds : 0;
    }

    static String formatRate(double perSecond) {
        if (perSecond >= 100) {
            return String.format(Locale.ROOT, "%.0f", perSecond);
        }
        if (perSecond >= 10) {
            return String.format(Locale.ROOT, "%.1f", perSecond);
        }
        return String.format(Locale.ROOT, "%.2f", perSecond);
    }

    /** m:ss below an hour, h:mm:ss above. */
    static String formatDuration(double seconds) {
        long s = Math.round(seconds);
        long h = s / 3600;
        long m = s % 3600 / 60;
        long sec = s % 60;
        return h > 0 ? String.format(Locale.ROOT, "%d:%02d:%02d", h, m, sec)
                : String.format(Locale.ROOT, "%d:%02d", m, sec);
    }
}
