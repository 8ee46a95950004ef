package dev.lethe.examples.cli;

import com.google.common.collect.ImmutableMap;
import dev.lethe.moe.train.TrainingRecipe;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The training recipes the command line knows by name ({@code lethe train --recipe}, {@code lethe
 * protocol --recipes}): each name maps to one of the library's recipes, what it needs of the
 * architecture ({@link #needs}) and the recipe of the same optimisation without class routing that
 * its accuracy is compared with ({@link #reference}). A new recipe is one line in {@link
 * #BY_NAME}.
 *
 * <ul>
 *   <li>{@code plain}, {@code forget-ready}, {@code fast}, {@code fast-forget-ready}: any
 *       architecture.
 *   <li>{@code isolated}, {@code fast-isolated}: class-assigned routing ({@link
 *       TrainingRecipe#isolated(TrainingRecipe)}), which needs one expert per class, top-1 routing
 *       and a shared expert ({@link ArchitectureNeeds#CLASS_ASSIGNED}). Trained jointly they do not
 *       yet reach a usable model (docs/results/isolation-diagnosis.md).
 *   <li>{@code assigned}, {@code fast-assigned}, {@code exact}, {@code fast-exact}: not recipes of
 *       {@code lethe train} but configurations of {@code lethe protocol} ({@link #isPhased}): the
 *       base model is trained in phases by {@code ExactTraining} with the isolated recipe (trunk,
 *       one unit of experts per class, routers and head last). In {@code exact} and {@code
 *       fast-exact} ({@link #isExact}) the trunk sees only the public classes, so that {@code
 *       Method.EXACT} can delete any other class exactly; in {@code assigned} and {@code
 *       fast-assigned} it sees every class ({@code ExactPlan.assigned}): each class keeps its own
 *       experts, and forgetting is approximate.
 * </ul>
 *
 * <p>A name may carry the Switch load-balancing weight after an {@code @}: {@code
 * forget-ready@0.1} is {@code forget-ready} with balance 0.1 ({@link
 * TrainingRecipe.Builder#optBalance}).
 */
public final class Recipes {

    /** How a name's base model is trained. */
    private enum Training {
        /** jointly, by the recipe ({@code lethe train}) */
        JOINT,
        /** in phases by {@code ExactTraining}, every class public */
        ASSIGNED,
        /** in phases by {@code ExactTraining}, the deletable classes out of the trunk */
        EXACT
    }

    /** One name: the library recipe, what it needs of the architecture, how it is trained. */
    private record Entry(Supplier<TrainingRecipe> recipe, ArchitectureNeeds needs, Training training, String reference) {}

    /** Name → its entry, in the order {@code --help} lists them. */
    private static final Map<String, Entry> BY_NAME = ImmutableMap.<String, Entry>builder()
            .put("plain", new Entry(TrainingRecipe::plain, ArchitectureNeeds.NONE, Training.JOINT, null))
            .put("forget-ready", new Entry(TrainingRecipe::forgetReady, ArchitectureNeeds.NONE, Training.JOINT, null))
            .put("fast", new Entry(TrainingRecipe::fast, ArchitectureNeeds.NONE, Training.JOINT, null))
            .put("fast-forget-ready", new Entry(Recipes::fastForgetReady, ArchitectureNeeds.NONE, Training.JOINT, null))
            .put("isolated", new Entry(TrainingRecipe::isolated, ArchitectureNeeds.CLASS_ASSIGNED, Training.JOINT,
                    "plain"))
            .put("fast-isolated", new Entry(() -> TrainingRecipe.isolated(TrainingRecipe.fast()),
                    ArchitectureNeeds.CLASS_ASSIGNED, Training.JOINT, "fast"))
            .put("assigned", new Entry(TrainingRecipe::isolated, ArchitectureNeeds.CLASS_ASSIGNED, Training.ASSIGNED,
                    "plain"))
            .put("fast-assigned", new Entry(() -> TrainingRecipe.isolated(TrainingRecipe.fast()),
                    ArchitectureNeeds.CLASS_ASSIGNED, Training.ASSIGNED, "fast"))
            .put("exact", new Entry(TrainingRecipe::isolated, ArchitectureNeeds.CLASS_ASSIGNED, Training.EXACT, "plain"))
            .put("fast-exact", new Entry(() -> TrainingRecipe.isolated(TrainingRecipe.fast()),
                    ArchitectureNeeds.CLASS_ASSIGNED, Training.EXACT, "fast"))
            .build();

    private Recipes() {}

    /** @return the names of the training recipes ({@code lethe train --recipe}), in order */
    public static List<String> names() {
        List<String> out = new ArrayList<>();
        BY_NAME.forEach((name, e) -> {
            if (e.training() == Training.JOINT) {
                out.add(name);
            }
        });
        return List.copyOf(out);
    }

    /** @return every name {@code lethe protocol --recipes} takes: the recipes, then the phased configurations */
    public static List<String> protocolNames() {
        return List.copyOf(BY_NAME.keySet());
    }

    /**
     * A recipe by name.
     *
     * @param spec a name of {@link #protocolNames()}, optionally followed by {@code @W}, the
     *     load-balancing weight (e.g. {@code forget-ready@0.1})
     * @return the library's recipe with that weight (epochs and seed as the library's; set them
     *     with {@code toBuilder()}); for a phased configuration, the recipe of its phases
     * @throws IllegalArgumentException naming the spec and the known names if the name is unknown,
     *     or the weight is not a number &gt;= 0
     */
    public static TrainingRecipe parse(String spec) {
        String weight = weight(spec);
        TrainingRecipe recipe = entry(spec).recipe().get();
        if (weight == null) {
            return recipe;
        }
        float balance;
        try {
            balance = Float.parseFloat(weight);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "recipe '%s': the load-balancing weight after @ ('%s') is not a number", spec, weight), e);
        }
        return recipe.toBuilder().optBalance(balance).build();
    }

    /**
     * @param spec a name of {@link #protocolNames()}, optionally with {@code @W}
     * @return what the recipe needs of the architecture ({@link ArchitectureNeeds#NONE} for most)
     * @throws IllegalArgumentException if the name is unknown
     */
    public static ArchitectureNeeds needs(String spec) {
        return entry(spec).needs();
    }

    /**
     * @param spec a name of {@link #protocolNames()}, optionally with {@code @W}
     * @return whether it names an exact configuration ({@code exact}, {@code fast-exact}): a base
     *     model trained by {@code ExactTraining}, which only {@code lethe protocol} makes
     * @throws IllegalArgumentException if the name is unknown
     */
    public static boolean isExact(String spec) {
        return entry(spec).training() == Training.EXACT;
    }

    /**
     * @param spec a name of {@link #protocolNames()}, optionally with {@code @W}
     * @return whether its base model is trained in phases by {@code ExactTraining} ({@code
     *     assigned}, {@code fast-assigned} and the exact configurations), which only {@code lethe
     *     protocol} makes
     * @throws IllegalArgumentException if the name is unknown
     */
    public static boolean isPhased(String spec) {
        return entry(spec).training() != Training.JOINT;
    }

    /**
     * @param spec a name of {@link #protocolNames()}, optionally with {@code @W}
     * @return for a class-assigned recipe, the name of the recipe with the same optimisation and
     *     no class routing ({@code plain} or {@code fast}), whose accuracy it must stay within 2
     *     points of (issue 13); empty for the others
     * @throws IllegalArgumentException if the name is unknown
     */
    public static Optional<String> reference(String spec) {
        return Optional.ofNullable(entry(spec).reference());
    }

    private static Entry entry(String spec) {
        String name = spec == null ? "" : spec.trim();
        int at = name.indexOf('@');
        name = at >= 0 ? name.substring(0, at) : name;
        Entry e = BY_NAME.get(name);
        if (e == null) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "unknown recipe '%s': choose one of %s, optionally followed by @W for the load-balancing weight"
                            + " (e.g. forget-ready@0.1)", spec, protocolNames()));
        }
        return e;
    }

    private static String weight(String spec) {
        String name = spec == null ? "" : spec.trim();
        int at = name.indexOf('@');
        return at >= 0 ? name.substring(at + 1) : null;
    }

    /**
     * @param builder a recipe's builder
     * @param base the recipe it was made from
     * @param epochs the epochs to train
     * @return the builder with {@code epochs}; a run shorter than twice the recipe's warm-up warms up
     *     over its first half (the fast recipe's 2.3-epoch warm-up does not fit a 3-epoch run)
     */
    public static TrainingRecipe.Builder withEpochs(TrainingRecipe.Builder builder, TrainingRecipe base, int epochs) {
        builder.optEpochs(epochs);
        if (base.warmupEpochs() > epochs / 2f) {
            builder.optWarmupEpochs(epochs / 2f);
        }
        return builder;
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
