package dev.lethe.examples.cli;

import java.util.Locale;
import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/**
 * Checks of option values that end the command with exit code 2 (invalid options) and a message
 * naming the option, the value and the rule. Commands call them before reading any data, so that a
 * wrong value costs no time.
 */
public final class OptionChecks {

    private OptionChecks() {}

    /**
     * @throws ParameterException unless {@code value >= min}
     */
    public static void atLeast(CommandSpec spec, String option, long value, long min) {
        if (value < min) {
            throw new ParameterException(spec.commandLine(),
                    String.format(Locale.ROOT, "%s (%d) must be >= %d", option, value, min));
        }
    }

    /**
     * @throws ParameterException unless the value is null (not given) or {@code >= min}
     */
    public static void atLeast(CommandSpec spec, String option, Integer value, long min) {
        if (value != null) {
            atLeast(spec, option, (long) value, min);
        }
    }

    /**
     * @throws ParameterException unless the value is null (not given) or finite and &gt; 0
     */
    public static void positive(CommandSpec spec, String option, Float value) {
        if (value != null && !(value > 0 && Float.isFinite(value))) {
            throw new ParameterException(spec.commandLine(),
                    String.format(Locale.ROOT, "%s (%s) must be finite and > 0", option, value));
        }
    }

    /**
     * Checks {@code --class} at once when it is an id: it must be in [0, numClasses). A name is
     * checked later, against the class names of the data.
     *
     * @param spec the command
     * @param option the option's name, e.g. {@code "--class"}
     * @param idOrName the value
     * @param numClasses the classes of the model (or of the data set)
     * @throws ParameterException for a negative id or an id &gt;= numClasses
     */
    public static void classIdInRange(CommandSpec spec, String option, String idOrName, int numClasses) {
        if (idOrName == null || !idOrName.trim().matches("-?\\d+")) {
            return;
        }
        int id;
        try {
            id = CifarSplits.parseId(idOrName);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), option + ": " + e.getMessage());
        }
        if (id >= numClasses) {
            throw new ParameterException(spec.commandLine(), String.format(Locale.ROOT,
                    "%s: class id %d must be in [0, %d): the model has %d classes", option, id, numClasses, numClasses));
        }
    }

    /**
     * Resolves {@code --class} against the data, turning an unknown class into a usage error.
     *
     * @param spec the command
     * @param splits the data
     * @param idOrName the value
     * @return the class id
     * @throws ParameterException if it is neither a valid id nor a class name; the message lists the
     *     names
     */
    public static int classId(CommandSpec spec, CifarSplits splits, String idOrName) {
        try {
            return splits.classId(idOrName);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--class: " + e.getMessage());
        }
    }

    /**
     * Runs a library builder fed from options, turning its {@link IllegalArgumentException} (which
     * names the setting and the rule) into a usage error.
     *
     * @param spec the command
     * @param what what is being built, for the message, e.g. "unlearning options"
     * @param build the builder call
     * @param <T> the built type
     * @return what it built
     * @throws ParameterException if the builder rejects a value
     */
    public static <T> T build(CommandSpec spec, String what, Supplier<T> build) {
        try {
            return build.get();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "invalid " + what + ": " + e.getMessage());
        }
    }
}
