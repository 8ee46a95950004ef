package dev.lethe.examples.cli;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** {@code --model DIR}: the saved model a command reads (profile, forget, evaluate). */
public final class ModelInput {

    @Option(names = "--model", paramLabel = "DIR", required = true,
            description = "The model's folder (written by `lethe train --out DIR`; a `lethe forget --out` folder,"
                    + " which holds it as model/, works too).")
    private Path dir;

    /**
     * @return the model folder ({@link SavedModels#resolve})
     * @throws NoSuchFileException if the folder holds no model; the message names it
     */
    public Path folder() throws NoSuchFileException {
        return SavedModels.resolve(dir);
    }

    /**
     * @return the loaded model (its parameters checked against their checksum)
     * @throws IOException if the folder holds no model or the model is corrupt
     */
    public TrainedModel load() throws IOException {
        return TrainedModel.load(folder());
    }
}
