package dev.lethe.examples.cli;

import com.google.common.collect.ImmutableMap;
import dev.lethe.moe.train.TrainingRecipe;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The training recipes the command line knows by name ({@code lethe train --recipe}, {@code lethe
 * protocol --recipes}): each name maps to one of the library's recipes. A new recipe is one line in
 * {@link #BY_NAME}.
 *
 * <p>A name may carry the Switch load-balancing weight after an {@code @}: {@code
 * forget-ready@0.1} is {@code forget-ready} with balance 0.1 ({@link
 * TrainingRecipe.Builder#optBalance}).
 */
public final class Recipes {

    /** Name → the library recipe it stands for, in the order {@code --help} lists them. */
    private static final Map<String, Supplier<TrainingRecipe>> BY_NAME = ImmutableMap.of(
            "plain", TrainingRecipe::plain,
            "forget-ready", TrainingRecipe::forgetReady,
            "fast", TrainingRecipe::fast,
            "fast-forget-ready", Recipes::fastForgetReady);

    private Recipes() {}

    /** @return the known names, in order */
    public static List<String> names() {
        return List.copyOf(BY_NAME.keySet());
    }

    /**
     * A recipe by name.
     *
     * @param spec a name of {@link #names()}, optionally followed by {@code @W}, the load-balancing
     *     weight (e.g. {@code forget-ready@0.1})
     * @return the library's recipe with that weight (epochs and seed as the library's; set them
     *     with {@code toBuilder()})
     * @throws IllegalArgumentException naming the spec and the known names if the name is unknown,
     *     or the weight is not a number &gt;= 0
     */
    public static TrainingRecipe parse(String spec) {
        String name = spec == null ? "" : spec.trim();
        int at = name.indexOf('@');
        String weight = at >= 0 ? name.substring(at + 1) : null;
        name = at >= 0 ? name.substring(0, at) : name;
        Supplier<TrainingRecipe> recipe = BY_NAME.get(name);
        if (recipe == null) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "unknown recipe '%s': choose one of %s, optionally followed by @W for the load-balancing weight"
                            + " (e.g. forget-ready@0.1)", spec, names()));
        }
        if (weight == null) {
            return recipe.get();
        }
        float balance;
        try {
            balance = Float.parseFloat(weight);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "recipe '%s': the load-balancing weight after @ ('%s') is not a number", spec, weight), e);
        }
        return recipe.get().toBuilder().optBalance(balance).build();
    }

    /**
     * @return the fast recipe with the class-aware routing of {@link TrainingRecipe#forgetReady()}
     *     (its mutual-information weight and temperature)
     */
    static TrainingRecipe fastForgetReady() {
        TrainingRecipe routing = TrainingRecipe.forgetReady();
        return TrainingRecipe.fast().toBuilder()
                .optMutualInformation(routing.mutualInformation(), routing.temperature())
                .build();
    }
}
