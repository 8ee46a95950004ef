package dev.lethe.examples.protocol;

import com.google.common.base.Preconditions;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.exact.ExactPlan;
import java.util.Locale;
import java.util.Optional;

/**
 * One base model of the protocol: a recipe name of {@code --recipes} with a seed, the training
 * recipe and architecture it stands for (the architecture with what the recipe needs, {@link
 * dev.lethe.examples.cli.Recipes#needs}), and, for the phased configurations ({@code assigned},
 * {@code fast-assigned}, {@code exact}, {@code fast-exact}), the {@link ExactPlan} its base model is
 * trained with by {@code ExactTraining}. A phased configuration's Retrain is {@code ExactTraining}
 * with the same plan on the data without the class; it is exact when some class is not public
 * (only those can be deleted, exactly).
 *
 * @param name the recipe's name as given, e.g. {@code fast-isolated} or {@code exact}
 * @param seed the seed of training and unlearning
 * @param recipe the training recipe, with {@code --epochs} and the seed (for a phased
 *     configuration, the recipe of the plan's phases)
 * @param config the architecture
 * @param plan the phased-training plan, or null for a jointly trained base model
 */
record ProtocolConfiguration(String name, long seed, TrainingRecipe recipe, MoeResNet.Config config, ExactPlan plan) {

    ProtocolConfiguration {
        Preconditions.checkArgument(name != null && !name.isBlank(), "name must not be empty");
        Preconditions.checkNotNull(recipe, "recipe must not be null");
        Preconditions.checkNotNull(config, "config must not be null");
    }

    /** @return whether the base model is trained in phases by {@code ExactTraining} */
    boolean phased() {
        return plan != null;
    }

    /**
     * @return whether the base model is trained by {@code ExactTraining} with a class that is not
     *     public: the exact method can delete such a class, and only such classes are forgotten
     */
    boolean exact() {
        return plan != null && plan.publicClasses().size() < config.numClasses();
    }

    /** @return the plan, for a phased configuration */
    Optional<ExactPlan> exactPlan() {
        return Optional.ofNullable(plan);
    }

    /**
     * @param forgetClass a class
     * @return whether the class can be forgotten on this base model (every class, except the
     *     public classes of an exact configuration, which trained its frozen trunk)
     */
    boolean deletable(int forgetClass) {
        return !exact() || !plan.isPublic(forgetClass);
    }

    /**
     * @return the architecture in a few words, e.g. "fast layout, widths [64, 128, 256], 10
     *     experts top-1 + shared, MoE stages [2, 3]"
     */
    String describeArchitecture() {
        return String.format(Locale.ROOT, "%s layout, widths %s, %d experts top-%d%s, MoE stages %s",
                config.style().name().toLowerCase(Locale.ROOT), java.util.Arrays.toString(config.widths()),
                config.numExperts(), config.topK(), config.sharedExpert() ? " + shared" : "",
                java.util.Arrays.toString(config.moeStages()));
    }
}
