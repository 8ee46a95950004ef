package dev.lethe.moe.train;

import ai.djl.training.tracker.Tracker;
import com.google.common.base.Preconditions;

/**
 * A triangular (one-cycle) learning-rate schedule: linear from {@code low · peak} to {@code peak}
 * over the first {@code warmupSteps}, then linear back to {@code low · peak} at {@code
 * totalSteps}, and constant after (Smith &amp; Topin 2017, "Super-convergence").
 */
final class TriangularTracker implements Tracker {

    private final float peak;
    private final float low;
    private final int warmupSteps;
    private final int totalSteps;

    TriangularTracker(float peak, float low, int warmupSteps, int totalSteps) {
        Preconditions.checkArgument(totalSteps >= 1, "totalSteps (%s) must be >= 1", totalSteps);
        Preconditions.checkArgument(
                warmupSteps >= 0 && warmupSteps <= totalSteps,
                "warmupSteps (%s) must be in [0, totalSteps (%s)]",
                warmupSteps,
                totalSteps);
        this.peak = peak;
        this.low = low;
        this.warmupSteps = warmupSteps;
        this.totalSteps = totalSteps;
    }

    @Override
    public float getNewValue(int numUpdate) {
        double f;
        if (numUpdate < warmupSteps) {
            f = low + (1 - low) * numUpdate / (double) warmupSteps;
        } else if (numUpdate >= totalSteps) {
            f = low;
        } else {
            double down = totalSteps - warmupSteps;
            f = 1 - (1 - low) * (numUpdate - warmupSteps) / down;
        }
        return (float) (peak * f);
    }
}
