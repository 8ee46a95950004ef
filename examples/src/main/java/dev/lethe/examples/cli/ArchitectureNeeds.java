package dev.lethe.examples.cli;

import com.google.common.base.Preconditions;
import dev.lethe.moe.model.MoeResNet;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a training recipe needs of the architecture ({@link Recipes#needs}): the class-assigned
 * recipes ({@code isolated}, {@code fast-isolated} and the exact configurations) give each class
 * its own expert, so their {@link MoeResNet} must have one expert per class (E = C), top-1 routing
 * and, as {@code TrainingRecipe.isolated()} recommends, a shared expert beside the routed ones.
 *
 * @param expertPerClass whether the MoE layers need exactly one expert per class (E = C)
 * @param topK the experts per image the recipe needs, or 0 for any
 * @param sharedExpert whether the MoE layers need a shared expert
 */
public record ArchitectureNeeds(boolean expertPerClass, int topK, boolean sharedExpert) {

    /** No need: any architecture of the options. */
    public static final ArchitectureNeeds NONE = new ArchitectureNeeds(false, 0, false);

    /** One expert per class, top-1, a shared expert: the class-assigned recipes. */
    public static final ArchitectureNeeds CLASS_ASSIGNED = new ArchitectureNeeds(true, 1, true);

    /**
     * @throws IllegalArgumentException if {@code topK} is negative
     */
    public ArchitectureNeeds {
        Preconditions.checkArgument(topK >= 0, "topK (%s) must be >= 0 (0 = any)", topK);
    }

    /** @return whether the recipe needs nothing of the architecture */
    public boolean isNone() {
        return !expertPerClass && topK == 0 && !sharedExpert;
    }

    /**
     * @param numClasses the classes of the data
     * @return the options that give the architecture, e.g. {@code --experts 10 --top-k 1
     *     --shared-expert}; empty when nothing is needed
     */
    public String options(int numClasses) {
        List<String> out = new ArrayList<>();
        if (expertPerClass) {
            out.add("--experts " + numClasses);
        }
        if (topK > 0) {
            out.add("--top-k " + topK);
        }
        if (sharedExpert) {
            out.add("--shared-expert");
        }
        return String.join(" ", out);
    }

    /**
     * @return what is needed, in words, e.g. "one expert per class, top-1 routing and a shared
     *     expert"
     */
    public String describe() {
        List<String> out = new ArrayList<>();
        if (expertPerClass) {
            out.add("one expert per class");
        }
        if (topK > 0) {
            out.add(String.format(Locale.ROOT, "top-%d routing", topK));
        }
        if (sharedExpert) {
            out.add("a shared expert");
        }
        if (out.isEmpty()) {
            return "nothing";
        }
        if (out.size() == 1) {
            return out.get(0);
        }
        return String.join(", ", out.subList(0, out.size() - 1)) + " and " + out.get(out.size() - 1);
    }

    /**
     * @param config an architecture
     * @return whether it has what is needed
     */
    public boolean isMetBy(MoeResNet.Config config) {
        return (!expertPerClass || config.numExperts() == config.numClasses())
                && (topK == 0 || config.topK() == topK)
                && (!sharedExpert || config.sharedExpert());
    }

    /**
     * @param config an architecture
     * @return the architecture with what is needed set (the rest unchanged)
     */
    public MoeResNet.Config apply(MoeResNet.Config config) {
        Preconditions.checkNotNull(config, "config must not be null");
        if (isMetBy(config)) {
            return config;
        }
        MoeResNet.Config.Builder b = config.toBuilder();
        if (expertPerClass) {
            b.optNumExperts(config.numClasses());
        }
        if (topK > 0) {
            b.optTopK(topK);
        }
        if (sharedExpert) {
            b.optSharedExpert(true);
        }
        return b.build();
    }
}
