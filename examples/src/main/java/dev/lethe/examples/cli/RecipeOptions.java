package dev.lethe.examples.cli;

import dev.lethe.moe.train.TrainingRecipe;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The training recipe of {@code lethe train}: a recipe by name ({@link Recipes}) and the settings
 * a user most often changes. A setting not given is the recipe's own.
 */
public final class RecipeOptions {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    @Option(names = "--recipe", paramLabel = "NAME", defaultValue = "forget-ready",
            completionCandidates = Converters.RecipeCandidates.class,
            description = "Training recipe: ${COMPLETION-CANDIDATES}, optionally @W for the load-balancing weight"
                    + " (default: ${DEFAULT-VALUE}; forget-ready adds the class-aware routing loss, fast is the"
                    + " few-epoch recipe of the fast layout, isolated routes each class to its own expert and sets"
                    + " --experts C --top-k 1 --shared-expert; experimental: trained this way it does not yet reach"
                    + " a usable model, see docs/results/isolation-diagnosis.md).")
    private String recipe;

    @Option(names = "--epochs", paramLabel = "N", description = "Training epochs (default: the recipe's; a run shorter than twice the recipe's warm-up warms up over its first half).")
    private Integer epochs;

    @Option(names = "--batch-size", paramLabel = "B", description = "Batch size (default: the recipe's).")
    private Integer batchSize;

    @Option(names = "--lr", paramLabel = "LR", description = "Peak SGD learning rate (default: the recipe's).")
    private Float learningRate;

    /** @return the recipe's name as given ({@code --recipe}) */
    String name() {
        return recipe;
    }

    /**
     * @param seed the seed of initialisation, data order and augmentation
     * @return the recipe
     * @throws ParameterException naming the option if a value is invalid
     */
    TrainingRecipe recipe(long seed) {
        if (OptionChecks.build(spec, "--recipe", () -> Recipes.isPhased(recipe))) {
            throw new ParameterException(spec.commandLine(), String.format(java.util.Locale.ROOT,
                    "--recipe %s is a configuration of `lethe protocol --recipes %s` (ExactTraining, in phases: a"
                            + " trunk, one unit of experts per class, then routers and head), not a recipe `lethe"
                            + " train` trains jointly; choose one of %s", recipe, recipe, Recipes.names()));
        }
        return OptionChecks.build(spec, "recipe options", () -> {
            TrainingRecipe base = Recipes.parse(recipe);
            TrainingRecipe.Builder b = base.toBuilder().optSeed(seed);
            if (epochs != null) {
                Recipes.withEpochs(b, base, epochs);
            }
            if (batchSize != null) {
                b.optBatchSize(batchSize);
            }
            if (learningRate != null) {
                b.optLearningRate(learningRate);
            }
            return b.build();
        });
    }
}
