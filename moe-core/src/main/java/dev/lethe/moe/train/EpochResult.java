package dev.lethe.moe.train;

import com.google.common.collect.ImmutableMap;
import dev.lethe.moe.routing.RoutingStats;
import java.util.Locale;
import java.util.Map;

/**
 * What one training epoch did: losses, accuracy on the validation data, time, and the routing of
 * each MoE layer on the validation data under inference routing (no noise, BatchNorm statistics
 * frozen). Immutable.
 */
public final class EpochResult {

    private final int epoch;
    private final int epochs;
    private final Map<String, Double> trainLosses;
    private final double validationAccuracy;
    private final double seconds;
    private final double imagesPerSecond;
    private final Map<String, RoutingStats> validationRouting;

    EpochResult(
            int epoch,
            int epochs,
            Map<String, Double> trainLosses,
            double validationAccuracy,
            double seconds,
            double imagesPerSecond,
            Map<String, RoutingStats> validationRouting) {
        this.epoch = epoch;
        this.epochs = epochs;
        this.trainLosses = ImmutableMap.copyOf(trainLosses);
        this.validationAccuracy = validationAccuracy;
        this.seconds = seconds;
        this.imagesPerSecond = imagesPerSecond;
        this.validationRouting = ImmutableMap.copyOf(validationRouting);
    }

    /** @return the epoch number, from 1 */
    public int epoch() {
        return epoch;
    }

    /** @return the number of epochs of the run */
    public int epochs() {
        return epochs;
    }

    /**
     * @return mean unweighted training losses of the epoch: {@code task}, and for MoE models {@code
     *     balance}, {@code zLoss}, {@code mutualInformation} (when on) and {@code total}
     */
    public Map<String, Double> trainLosses() {
        return trainLosses;
    }

    /** @return validation accuracy in [0, 1], or NaN without validation data */
    public double validationAccuracy() {
        return validationAccuracy;
    }

    /** @return wall-clock seconds of the epoch's training (validation excluded) */
    public double seconds() {
        return seconds;
    }

    /** @return training throughput */
    public double imagesPerSecond() {
        return imagesPerSecond;
    }

    /** @return inference routing statistics on the validation data, per MoE layer path */
    public Map<String, RoutingStats> validationRouting() {
        return validationRouting;
    }

    /** @return a one-line summary */
    @Override
    public String toString() {
        StringBuilder sb =
                new StringBuilder(
                        String.format(
                                Locale.ROOT,
                                "epoch %d/%d  loss %.4f%s  %.1fs  %.0f img/s",
                                epoch,
                                epochs,
                                trainLosses.getOrDefault("task", Double.NaN),
                                Double.isNaN(validationAccuracy)
                                        ? ""
                                        : String.format(Locale.ROOT, "  val acc %.2f%%", 100 * validationAccuracy),
                                seconds,
                                imagesPerSecond));
        for (Map.Entry<String, RoutingStats> e : validationRouting.entrySet()) {
            RoutingStats s = e.getValue();
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "  [%s: MI %.0f%% of H, CV %.2f, dead %s]",
                            e.getKey(),
                            100 * s.mutualInformationShare(),
                            s.coefficientOfVariation(),
                            s.deadExperts(RoutingStats.DEFAULT_DEAD_THRESHOLD)));
        }
        return sb.toString();
    }
}
