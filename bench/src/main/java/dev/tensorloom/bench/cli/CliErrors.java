package dev.tensorloom.bench.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * How the CLI reports an error: one line on standard error, {@code tensorloom <command>: <message>}, and
 * picocli's exit codes (1 for a failed command, 2 for a usage error). A usage error keeps picocli's
 * suggestions or usage help after that line; a failed command prints its stack trace only under
 * {@code --verbose}.
 */
final class CliErrors implements IExecutionExceptionHandler, IParameterExceptionHandler {

    @Override
    public int handleExecutionException(Exception e, CommandLine command, ParseResult parseResult) {
        PrintWriter err = command.getErr();
        err.println(line(command, e));
        if (((TensorloomCli) command.getCommandSpec().root().userObject()).verbose) {
            e.printStackTrace(err);
        }
        err.flush();
        return command.getCommandSpec().exitCodeOnExecutionException();
    }

    @Override
    public int handleParseException(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        PrintWriter err = command.getErr();
        err.println(line(command, e));
        if (!UnmatchedArgumentException.printSuggestions(e, err)) {
            command.usage(err, command.getColorScheme());
        }
        err.flush();
        return command.getCommandSpec().exitCodeOnInvalidInput();
    }

    /** {@code tensorloom embed: <message>}, on one line whatever the message holds. */
    static String line(CommandLine command, Throwable e) {
        return command.getCommandSpec().qualifiedName() + ": " + message(e);
    }

    /**
     * The exception's own message, which whoever threw it wrote for this failure (a wrapper's message
     * already names its cause); its class name when it has none. Line breaks become spaces.
     */
    static String message(Throwable e) {
        String message = e.getMessage();
        if (message == null || message.isBlank()) {
            return e.getClass().getName();
        }
        return oneLine(message);
    }

    /** {@code text} with each line break and the blanks around it turned into one space. */
    static String oneLine(String text) {
        return text.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
