package dev.tensorloom.quant;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * ggml's own quantize and dequantize, run as the anchor program {@code ggml-matmul-bench} in
 * {@code ../shared/anchors/ggml} beside the repository (found from the working directory upwards, or named by
 * {@code -Dtensorloom.ggml.anchor}). Missing, it fails the test that asked, saying where it looked.
 */
final class GgmlAnchor {

    private final Path program;
    private final Path dir;

    GgmlAnchor(Path workDir) {
        this.program = locate();
        this.dir = workDir;
    }

    private static Path locate() {
        String named = System.getProperty("tensorloom.ggml.anchor");
        if (named != null) {
            Path p = Path.of(named).resolve("ggml-matmul-bench");
            if (Files.isExecutable(p)) {
                return p;
            }
            throw new AssertionError("-Dtensorloom.ggml.anchor=" + named + " has no executable ggml-matmul-bench");
        }
        StringBuilder looked = new StringBuilder();
        for (Path at = Path.of("").toAbsolutePath(); at != null; at = at.getParent()) {
            Path p = at.resolve("shared/anchors/ggml/ggml-matmul-bench");
            looked.append("\n  ").append(p);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        throw new AssertionError("the ggml anchor (../shared/anchors/ggml/ggml-matmul-bench beside the repository) "
                + "was not found; these bit-exactness tests need it. Looked at:" + looked);
    }

    /** ggml's quantization of rows × cols floats (row-major, ne0 = cols). */
    byte[] quantize(GgmlType type, float[] values, int rows, int cols) throws IOException, InterruptedException {
        Path in = dir.resolve("in.f32");
        Path out = dir.resolve("out.bin");
        ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        Files.write(in, bytes.array());
        run("quantize", type, rows, cols, in, out);
        return Files.readAllBytes(out);
    }

    /** ggml's dequantization of rows × cols weights in {@code type}. */
    float[] dequantize(GgmlType type, byte[] data, int rows, int cols) throws IOException, InterruptedException {
        Path in = dir.resolve("in.bin");
        Path out = dir.resolve("out.f32");
        Files.write(in, data);
        run("dequantize", type, rows, cols, in, out);
        float[] values = new float[rows * cols];
        ByteBuffer.wrap(Files.readAllBytes(out)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
        return values;
    }

    private void run(String command, GgmlType type, int rows, int cols, Path in, Path out)
            throws IOException, InterruptedException {
        List<String> args = List.of(program.toString(), command, "--type", type.ggmlName(), "--rows",
                Integer.toString(rows), "--cols", Integer.toString(cols), "--in", in.toString(), "--out", out.toString());
        ProcessBuilder pb = new ProcessBuilder(args).redirectErrorStream(true);
        Process p = pb.start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new AssertionError("ggml anchor failed: " + args + "\n" + output);
        }
    }
}
