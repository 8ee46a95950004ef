package dev.lethe.examples.cli;

import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingRecipe;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The architecture and the training recipe of {@code lethe train}. */
public final class ModelOptions {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    @Option(names = "--widths", paramLabel = "W1,W2,W3", split = ",", defaultValue = "32,64,128",
            description = "Channels of the three stages (default: ${DEFAULT-VALUE}).")
    private int[] widths;

    @Option(names = "--experts", paramLabel = "E", defaultValue = "8",
            description = "Experts per MoE layer (default: ${DEFAULT-VALUE}).")
    private int experts;

    @Option(names = "--top-k", paramLabel = "K", defaultValue = "2",
            description = "Experts per image (default: ${DEFAULT-VALUE}).")
    private int topK;

    @Option(names = "--recipe", paramLabel = "NAME", defaultValue = "forget-ready",
            completionCandidates = Converters.RecipeCandidates.class,
            description = "Training recipe: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}; forget-ready adds"
                    + " the class-aware routing loss).")
    private String recipe;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "10",
            description = "Training epochs (default: ${DEFAULT-VALUE}).")
    private int epochs;

    @Option(names = "--batch-size", paramLabel = "B", defaultValue = "128",
            description = "Batch size (default: ${DEFAULT-VALUE}).")
    private int batchSize;

    @Option(names = "--lr", paramLabel = "LR", defaultValue = "0.1",
            description = "Peak SGD learning rate (default: ${DEFAULT-VALUE}).")
    private float learningRate;

    /**
     * @param numClasses classes of the data
     * @param seed the seed of the routing noise
     * @return the architecture
     * @throws ParameterException naming the option if a value is invalid
     */
    MoeResNet.Config config(int numClasses, long seed) {
        if (widths.length != 3) {
            throw new ParameterException(spec.commandLine(),
                    "--widths needs 3 comma-separated widths, e.g. 16,32,64; got " + widths.length);
        }
        try {
            return MoeResNet.Config.builder()
                    .optWidths(widths[0], widths[1], widths[2])
                    .optNumExperts(experts)
                    .optTopK(topK)
                    .optNumClasses(numClasses)
                    .optSeed(seed)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "invalid model options: " + e.getMessage());
        }
    }

    /**
     * @param seed the seed of initialisation and data order
     * @return the recipe
     * @throws ParameterException naming the option if a value is invalid
     */
    TrainingRecipe recipe(long seed) {
        TrainingRecipe base;
        if (recipe.equals("plain")) {
            base = TrainingRecipe.plain();
        } else if (recipe.equals("forget-ready")) {
            base = TrainingRecipe.forgetReady();
        } else {
            throw new ParameterException(spec.commandLine(),
                    "--recipe '" + recipe + "' is not valid; choose plain or forget-ready");
        }
        try {
            return base.toBuilder()
                    .optEpochs(epochs)
                    .optBatchSize(batchSize)
                    .optLearningRate(learningRate)
                    .optSeed(seed)
                    .build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "invalid recipe options: " + e.getMessage());
        }
    }
}
