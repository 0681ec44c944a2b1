package dev.tensorloom.bench.cli;

import java.util.Locale;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * The CLI's face for the library's java.util.logging notices ("no GPU", "Vector API not enabled"): one plain
 * line each, {@code tensorloom: <message>} for INFO and {@code tensorloom: warning: <message>} for WARNING,
 * instead of JUL's default two lines with a timestamp and the logging method. The library keeps logging as a
 * library should; only the CLI, which owns the console, decides how a record looks there.
 */
final class CliLogFormatter extends Formatter {

    private static final String PREFIX = "tensorloom: ";

    /** Puts this formatter on every console handler of the root logger, where library records end up. */
    static void install() {
        for (Handler handler : Logger.getLogger("").getHandlers()) {
            if (handler instanceof ConsoleHandler) {
                handler.setFormatter(new CliLogFormatter());
            }
        }
    }

    @Override
    public String format(LogRecord record) {
        String message = formatMessage(record);
        // Some library messages already say who speaks; one "tensorloom: " is enough.
        if (message.startsWith(PREFIX)) {
            message = message.substring(PREFIX.length());
        }
        if (record.getThrown() != null) {
            message += " (" + CliErrors.message(record.getThrown()) + ")";
        }
        return PREFIX + tag(record.getLevel()) + CliErrors.oneLine(message)
                + System.lineSeparator();
    }

    private static String tag(Level level) {
        if (level.intValue() >= Level.SEVERE.intValue()) {
            return "error: ";
        }
        if (level.intValue() >= Level.WARNING.intValue()) {
            return "warning: ";
        }
        if (level.intValue() >= Level.INFO.intValue()) {
            return "";
        }
        return level.getName().toLowerCase(Locale.ROOT) + ": ";
    }
}
