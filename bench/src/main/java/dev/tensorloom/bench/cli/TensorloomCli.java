package dev.tensorloom.bench.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code ./tensorloom <command>}: the command-line entry point. */
@Command(name = "tensorloom", mixinStandardHelpOptions = true, version = "tensorloom 0.1.0",
        description = "Native-accelerated kernels for compressed transformers.",
        subcommands = {EmbedCommand.class, BenchCommand.class, CommandLine.HelpCommand.class})
public final class TensorloomCli {

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        int code = new CommandLine(new TensorloomCli()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
        System.exit(code);
    }
}
