package dev.tensorloom.bench.report;

import java.io.Console;
import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * The bench's progress bars on standard error, set up for where that goes.
 *
 * <pre>{@code
 * try (ProgressBar bar = ProgressBars.start("parity " + engine.name(), sentences.size())) {
 *     ... bar.stepBy(chunk.size()); ...
 * }
 * }</pre>
 * On a terminal the bar is redrawn in place ten times a second. Elsewhere (Maven, CI, output redirected to a
 * file) a redraw with {@code \r} would pile every frame into one line of the log, so the bar prints a plain
 * line when it starts, every {@value #LOG_INTERVAL_MILLIS} ms, and when it closes. The elapsed
 * time on the last line is the step's total time. {@code step} and {@code stepBy} may be called from many
 * threads; the library draws on a thread of its own.
 */
public final class ProgressBars {

    /** Time between two plain lines in a log. */
    static final int LOG_INTERVAL_MILLIS = 30_000;
    /** Width of a plain line: a terminal's is asked for, a log has none. */
    static final int LOG_WIDTH = 100;
    private static final int TERMINAL_INTERVAL_MILLIS = 100;

    private ProgressBars() {
    }

    /** A bar on standard error that redraws in place when {@link #isTerminal()}, else prints sparse lines. */
    public static ProgressBar start(String task, long total) {
        return start(task, total, System.err, isTerminal());
    }

    static ProgressBar start(String task, long total, PrintStream out, boolean terminal) {
        return new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(total)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(terminal ? TERMINAL_INTERVAL_MILLIS : LOG_INTERVAL_MILLIS)
                .continuousUpdate()  // a frame even without progress: the clock shows a slow step is alive
                .setConsumer(terminal ? new ConsoleProgressBarConsumer(out) : new LogLines(out))
                .build();
    }

    /**
     * Whether the JVM runs on an interactive terminal (standard input and output not redirected), the case in
     * which redrawing with {@code \r} looks right.
     */
    public static boolean isTerminal() {
        Console console = System.console();
        return console != null && console.isTerminal();
    }

    /**
     * One plain line per frame. On close the library draws the last frame twice (ctongfei/progressbar#171,
     * open in 0.10.1); a frame equal to the one before is dropped. Frames come from the library's one drawing
     * thread, so {@code last} needs no lock.
     */
    private static final class LogLines implements ProgressBarConsumer {
        private final PrintStream out;
        private String last;

        LogLines(PrintStream out) {
            this.out = out;
        }

        @Override
        public int getMaxRenderedLength() {
            return LOG_WIDTH;
        }

        @Override
        public void accept(String frame) {
            String line = frame.stripTrailing();
            if (!line.equals(last)) {
                out.println(line);
                last = line;
            }
        }

        @Override
        public void close() {
            out.flush();
        }
    }
}
