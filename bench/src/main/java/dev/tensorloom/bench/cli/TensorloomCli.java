package dev.tensorloom.bench.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** {@code ./tensorloom <command>}: the command-line entry point. */
@Command(name = "tensorloom", mixinStandardHelpOptions = true, version = "tensorloom 0.1.0",
        description = "Native-accelerated kernels for compressed transformers.",
        subcommands = {EmbedCommand.class, BenchCommand.class, QuantizeCommand.class, QuantStudyCommand.class,
                CompressCommand.class, MpoStudyCommand.class, EmbedHierarchyCommand.class, ReasonCommand.class,
                CommandLine.HelpCommand.class})
public final class TensorloomCli {

    // INHERIT copies the option into every subcommand bound to this field, so `embed --verbose` sets it too.
    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "on an error, print its stack trace after the one-line message")
    boolean verbose;

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        CliLogFormatter.install();
        System.exit(commandLine().execute(args));
    }

    /** The CLI as {@link #main} runs it: every error one line, {@code tensorloom <command>: <message>}. */
    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new TensorloomCli()).setCaseInsensitiveEnumValuesAllowed(true);
        CliErrors errors = new CliErrors();
        return cli.setExecutionExceptionHandler(errors).setParameterExceptionHandler(errors);
    }
}
