package dev.lethe.examples.cli;

import dev.lethe.examples.protocol.ProtocolCommand;
import dev.lethe.moe.model.ModelFiles;
import java.io.IOException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IVersionProvider;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * The {@code lethe} command line: train an MoE CNN on CIFAR, look at its routing, make it forget a
 * class, measure the result. Run it through the {@code ./lethe} launcher at the repository root.
 *
 * <p>Exit codes: 0 success; 1 an error while running (missing data or model folder, corrupt files:
 * one line on stderr, the stack trace only with {@code --verbose}), or a model that {@code lethe
 * audit verify} does not verify; 2 invalid options (picocli's message and the usage).
 */
@Command(
        name = "lethe",
        mixinStandardHelpOptions = true,
        versionProvider = LetheCli.Version.class,
        description = "Mixture-of-Experts class unlearning on DJL. Start with `lethe demo`.",
        subcommands = {
            DemoCommand.class,
            TrainCommand.class,
            ProfileCommand.class,
            ForgetCommand.class,
            EvaluateCommand.class,
            ProtocolCommand.class,
            AuditCommand.class,
            CommandLine.HelpCommand.class
        })
public final class LetheCli implements Runnable {

    @Spec
    private CommandSpec spec;

    /**
     * Runs the command line and exits with its exit code.
     *
     * @param args the arguments
     */
    public static void main(String[] args) {
        System.exit(execute(args));
    }

    /**
     * Runs the command line without exiting (for tests and embedding).
     *
     * @param args the arguments
     * @return the exit code: 0 success, 1 runtime error, 2 invalid options
     */
    public static int execute(String... args) {
        return newCommandLine().execute(args);
    }

    /** @return the configured command line: error handler, case-insensitive enums, usage width */
    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new LetheCli());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setUsageHelpAutoWidth(true);
        cl.setExecutionExceptionHandler(LetheCli::handle);
        return cl;
    }

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing command: choose one of "
                + spec.subcommands().keySet());
    }

    private static int handle(Exception e, CommandLine cl, ParseResult parseResult) {
        PrintWriter err = cl.getErr();
        String message = e.getMessage();
        if (e instanceof java.nio.file.NoSuchFileException && message != null && !message.contains(":")) {
            message = "no such file or folder: " + message;
        }
        if (message == null || message.isBlank()) {
            message = e.getClass().getSimpleName();
        }
        err.println(cl.getCommandSpec().qualifiedName() + ": " + message);
        if (verbose(parseResult)) {
            e.printStackTrace(err);
        } else if (!(e instanceof IOException) && !(e instanceof IllegalArgumentException)) {
            err.println("(run again with --verbose for the stack trace)");
        }
        err.flush();
        return 1;
    }

    private static boolean verbose(ParseResult result) {
        for (ParseResult r = result; r != null; r = r.subcommand()) {
            if (r.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The version of Lethe: the library's ({@link ModelFiles#libraryVersion()}, which also records
     * it in every saved model), or "development" when run from compiled classes.
     *
     * @return the version
     */
    public static String version() {
        return ModelFiles.libraryVersion();
    }

    /** Prints the version for {@code --version}. */
    static final class Version implements IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                "lethe " + version(),
                "DJL " + ai.djl.engine.Engine.getDjlVersion() + " (PyTorch engine), Java "
                        + System.getProperty("java.version")
            };
        }
    }
}
