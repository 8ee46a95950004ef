package dev.lethe.examples.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code --overwrite}, and the rule every command that writes a model follows, checked before any
 * data is read: the output never is, contains or lies inside a model the command reads, and an
 * existing model is only written over with {@code --overwrite}. A violation is a usage error (exit
 * code 2) that names the option, the folders and the way out.
 */
public final class OutputOptions {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    @Option(names = "--overwrite",
            description = "Write over a model that already exists in the output folder (never over the"
                    + " model being read).")
    private boolean overwrite;

    /** @return whether {@code --overwrite} was given */
    public boolean overwrite() {
        return overwrite;
    }

    /**
     * Checks an output folder.
     *
     * @param option the option that named it, e.g. {@code "--out"} (for the message)
     * @param out the output folder the command writes to
     * @param modelFolder where the model goes: {@code out} itself or a folder inside it
     * @param inputs the model folders the command reads (null entries are skipped)
     * @throws ParameterException if {@code out} is, contains or lies inside an input, or if
     *     {@code modelFolder} holds a model and {@code --overwrite} was not given
     */
    public void check(String option, Path out, Path modelFolder, Path... inputs) {
        Path o = canonical(out);
        for (Path input : inputs) {
            if (input == null) {
                continue;
            }
            Path in = canonical(input);
            String relation = o.equals(in) ? "is" : o.startsWith(in) ? "is inside" : in.startsWith(o) ? "contains"
                    : null;
            if (relation != null) {
                throw new ParameterException(spec.commandLine(), String.format(
                        "%s %s %s the model being read (%s): writing there would destroy it; choose another folder"
                                + " (--overwrite does not apply to the input)",
                        option, out, relation, in));
            }
        }
        if (!overwrite && SavedModels.isModel(modelFolder)) {
            throw new ParameterException(spec.commandLine(), String.format(
                    "%s %s already holds a model (%s): pass --overwrite to replace it, or choose another folder",
                    option, out, modelFolder.resolve(dev.lethe.moe.model.ModelFiles.MANIFEST_FILE)));
        }
    }

    /**
     * The absolute, normalised path with symbolic links of its existing part resolved, so that two
     * spellings of one folder compare equal.
     */
    static Path canonical(Path path) {
        Path p = path.toAbsolutePath().normalize();
        Deque<Path> missing = new ArrayDeque<>();
        Path existing = p;
        while (existing != null && !Files.exists(existing)) {
            missing.push(existing.getFileName());
            existing = existing.getParent();
        }
        if (existing == null) {
            return p;
        }
        try {
            Path real = existing.toRealPath();
            while (!missing.isEmpty()) {
                real = real.resolve(missing.pop());
            }
            return real;
        } catch (IOException e) {
            return p;
        }
    }
}
