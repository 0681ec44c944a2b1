package dev.tensorloom.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs a main class in a fresh JVM on the calling test's class path, with JVM options of the test's choosing
 * and none from the environment: how a test sees what a user's JVM does without {@code --add-modules} or
 * native access (which backend is chosen, which classes get loaded, what is printed). The class-load log is
 * always on, so a test can assert what a path never links.
 */
public final class ChildJvm {

    private static final long TIMEOUT_SECONDS = 60;

    private ChildJvm() {
    }

    /** What the child printed, how it ended, and the names of the classes it loaded (when logged). */
    public record Result(int exit, String stdout, String stderr, List<String> loadedClasses) {

        /** The loaded classes whose names start with any of {@code prefixes}. */
        public List<String> loaded(String... prefixes) {
            return loadedClasses.stream().filter(c -> List.of(prefixes).stream().anyMatch(c::startsWith)).toList();
        }

        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    /**
     * Runs {@code mainClass} with {@code jvmOptions}, its output and the JVM's class-load log captured in files
     * under {@code dir}; fails if it does not end within a minute.
     */
    public static Result run(Path dir, String mainClass, String... jvmOptions) throws IOException, InterruptedException {
        Path classLog = Files.createTempFile(dir, "classes", ".txt");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xlog:class+load=info:file=" + classLog);
        command.addAll(List.of(jvmOptions));
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(mainClass);
        ProcessBuilder pb = new ProcessBuilder(command);
        // Options from the environment would reach the child and could add the module or extra warnings.
        pb.environment().remove("JAVA_TOOL_OPTIONS");
        pb.environment().remove("JDK_JAVA_OPTIONS");
        pb.environment().remove("_JAVA_OPTIONS");
        Path out = Files.createTempFile(dir, "stdout", ".txt");
        Path err = Files.createTempFile(dir, "stderr", ".txt");
        pb.redirectOutput(out.toFile());
        pb.redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("child JVM did not finish within " + TIMEOUT_SECONDS + " s: " + command);
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8), classNames(classLog));
    }

    /** The class names of a class+load log, whose lines read "[...][class,load] NAME source: ...". */
    private static List<String> classNames(Path log) throws IOException {
        return Files.readAllLines(log, StandardCharsets.UTF_8).stream()
                .map(line -> line.substring(line.indexOf(']', line.indexOf("class,load")) + 1).trim())
                .map(rest -> rest.contains(" ") ? rest.substring(0, rest.indexOf(' ')) : rest)
                .filter(name -> !name.isEmpty())
                .toList();
    }
}
