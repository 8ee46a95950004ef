package dev.lethe.moe.train;

import java.io.PrintStream;
import java.util.Locale;

/** Receives progress of {@link MoeTraining#fit}. Every method has a no-op default. */
public interface TrainingProgress {

    /**
     * Called after each training batch.
     *
     * @param epoch the epoch, from 1
     * @param epochs the number of epochs
     * @param batch the batch within the epoch, from 1
     * @param batches the number of batches per epoch (estimated from the data set size)
     * @param imagesPerSecond throughput so far in this epoch
     * @param loss the task loss of this batch
     * @param etaSeconds estimated seconds left in the whole run
     */
    default void onBatch(
            int epoch,
            int epochs,
            int batch,
            int batches,
            double imagesPerSecond,
            double loss,
            double etaSeconds) {}

    /**
     * Called at the end of each epoch, after validation.
     *
     * @param result the epoch's result
     */
    default void onEpoch(EpochResult result) {}

    /** @return a listener that reports nothing */
    static TrainingProgress silent() {
        return new TrainingProgress() {};
    }

    /**
     * A console progress bar: one line per epoch, redrawn in place after each batch when {@code
     * interactive}, otherwise printed every 10 % of an epoch.
     *
     * @param out where to print, usually {@code System.err}
     * @param interactive true to redraw in place with carriage returns
     * @return the listener
     */
    static TrainingProgress console(PrintStream out, boolean interactive) {
        return new TrainingProgress() {
            @Override
            public void onBatch(
                    int epoch,
                    int epochs,
                    int batch,
                    int batches,
                    double imagesPerSecond,
                    double loss,
                    double etaSeconds) {
                int every = Math.max(1, batches / 10);
                if (!interactive && batch % every != 0 && batch != batches) {
                    return;
                }
                int width = 24;
                int filled = (int) Math.round(width * Math.min(1.0, batch / (double) batches));
                String bar = "#".repeat(filled) + ".".repeat(width - filled);
                String line =
                        String.format(
                                Locale.ROOT,
                                "epoch %d/%d [%s] %d/%d  %.0f img/s  loss %.4f  ETA %s",
                                epoch,
                                epochs,
                                bar,
                                batch,
                                batches,
                                imagesPerSecond,
                                loss,
                                formatSeconds(etaSeconds));
                if (interactive) {
                    out.print("\r" + line);
                } else {
                    out.println(line);
                }
                out.flush();
            }

            @Override
            public void onEpoch(EpochResult result) {
                if (interactive) {
                    out.println();
                }
                out.println(result);
                out.flush();
            }
        };
    }

    /**
     * @param seconds a duration
     * @return "1h02m03s", "2m03s" or "3s"
     */
    static String formatSeconds(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) {
            return "?";
        }
        long s = Math.round(seconds);
        if (s >= 3600) {
            return String.format(Locale.ROOT, "%dh%02dm%02ds", s / 3600, (s / 60) % 60, s % 60);
        }
        if (s >= 60) {
            return String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
        return s + "s";
    }
}
