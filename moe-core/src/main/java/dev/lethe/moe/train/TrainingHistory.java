package dev.lethe.moe.train;

import com.google.common.collect.ImmutableList;
import java.util.List;

/** The epochs of one {@link MoeTraining#fit} run, with its recipe and total time. Immutable. */
public final class TrainingHistory {

    private final TrainingRecipe recipe;
    private final List<EpochResult> epochs;
    private final double seconds;

    TrainingHistory(TrainingRecipe recipe, List<EpochResult> epochs, double seconds) {
        this.recipe = recipe;
        this.epochs = ImmutableList.copyOf(epochs);
        this.seconds = seconds;
    }

    /** @return the recipe used */
    public TrainingRecipe recipe() {
        return recipe;
    }

    /** @return one result per epoch, in order */
    public List<EpochResult> epochs() {
        return epochs;
    }

    /** @return the last epoch's result */
    public EpochResult last() {
        return epochs.get(epochs.size() - 1);
    }

    /** @return wall-clock seconds of the whole run, validation included */
    public double seconds() {
        return seconds;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(recipe.toString()).append('\n');
        for (EpochResult e : epochs) {
            sb.append(e).append('\n');
        }
        return sb.append(String.format(java.util.Locale.ROOT, "total %.1fs", seconds)).toString();
    }
}
