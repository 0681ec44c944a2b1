package dev.tensorloom.bench.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tensorloom.runtime.kernel.BackendProvider;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.logging.ConsoleHandler;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** What a user sees of the library's java.util.logging notices once the CLI has started. */
class CliLogFormatterTest {

    private static final String NL = System.lineSeparator();

    @Test
    void aLibraryRecordBecomesOnePlainLineOnTheConsole() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream stderr = System.err;
        ConsoleHandler console;
        System.setErr(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            console = new ConsoleHandler();  // writes to the System.err of its construction, as the root's does
        } finally {
            System.setErr(stderr);
        }
        Logger root = Logger.getLogger("");
        Handler[] saved = root.getHandlers();
        for (Handler h : saved) {
            root.removeHandler(h);
        }
        root.addHandler(console);
        try {
            CliLogFormatter.install();
            Logger library = Logger.getLogger(BackendProvider.class.getName());
            library.info("tensorloom: no GPU (the cuda library, its driver or a device is missing); running CPU-only");
            library.warning("Java Vector API not enabled; tensorloom uses its scalar kernels");
            console.flush();
        } finally {
            root.removeHandler(console);
            for (Handler h : saved) {
                root.addHandler(h);
            }
        }
        assertEquals("tensorloom: no GPU (the cuda library, its driver or a device is missing); running CPU-only" + NL
                + "tensorloom: warning: Java Vector API not enabled; tensorloom uses its scalar kernels" + NL,
                bytes.toString(StandardCharsets.UTF_8));
    }

    @Test
    void aRecordWithAnExceptionStaysOnOneLine() {
        LogRecord record = new LogRecord(Level.SEVERE, "could not read {0}\nskipping it");
        record.setParameters(new Object[] {"model.onnx"});
        record.setThrown(new IOException("disk gone"));
        assertEquals("tensorloom: error: could not read model.onnx skipping it (disk gone)" + NL,
                new CliLogFormatter().format(record));
    }
}
