package dev.lethe.moe.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.List;

/**
 * An exponential moving average of every parameter of a block (BatchNorm running statistics
 * included), updated every {@code every} steps with decay {@code decay^every}; early in training
 * the decay is capped at {@code (1 + n) / (10 + n)} after {@code n} updates, so the average does
 * not remember the random initialisation (Polyak &amp; Juditsky 1992; the warm-up as in
 * TensorFlow's ExponentialMovingAverage).
 *
 * <p>{@link #swapIn()} puts the average into the block (e.g. to validate or to finish training),
 * {@link #swapOut()} restores the trained weights. Parameters left out by the constructor's filter
 * (frozen ones, which training does not change) are neither averaged nor written: they stay
 * bit-identical.
 */
final class WeightAverage implements AutoCloseable {

    private final List<Parameter> parameters = new ArrayList<>();
    private final List<NDArray> average = new ArrayList<>();
    private final List<NDArray> backup = new ArrayList<>();
    private final NDManager manager;
    private final float decay;
    private final int every;
    private int updates;

    WeightAverage(Block block, float decay, int every) {
        this(block, decay, every, p -> true);
    }

    /**
     * @param include which parameters to average (the others are left alone)
     */
    WeightAverage(Block block, float decay, int every, java.util.function.Predicate<Parameter> include) {
        Preconditions.checkArgument(decay > 0 && decay < 1, "decay (%s) must be in (0, 1)", decay);
        Preconditions.checkArgument(every >= 1, "every (%s) must be >= 1", every);
        this.decay = decay;
        this.every = every;
        manager = NDManager.newBaseManager();
        for (Pair<String, Parameter> p : block.getParameters()) {
            if (!include.test(p.getValue())) {
                continue;
            }
            parameters.add(p.getValue());
            NDArray copy = p.getValue().getArray().duplicate();
            copy.attach(manager);
            average.add(copy);
        }
    }

    /**
     * Called after optimizer step {@code step} (from 1); updates the average every {@code every}
     * steps.
     */
    void afterStep(int step) {
        if (step % every != 0) {
            return;
        }
        updates++;
        double cap = (1.0 + updates) / (10.0 + updates);
        float d = (float) Math.min(Math.pow(decay, every), cap);
        for (int i = 0; i < parameters.size(); i++) {
            NDArray w = parameters.get(i).getArray();
            try (NDArray scaled = w.mul(1f - d)) {
                average.get(i).muli(d).addi(scaled);
            }
        }
    }

    /**
     * @return whether the average has been updated at least once (before that it holds the
     *     starting weights, which must not be swapped in)
     */
    boolean hasAverage() {
        return updates > 0;
    }

    /** Puts the average into the block, keeping the trained weights aside. */
    void swapIn() {
        Preconditions.checkState(backup.isEmpty(), "the average is already swapped in");
        for (int i = 0; i < parameters.size(); i++) {
            NDArray w = parameters.get(i).getArray();
            NDArray copy = w.duplicate();
            copy.attach(manager);
            backup.add(copy);
            average.get(i).copyTo(w);
        }
    }

    /** Restores the trained weights after {@link #swapIn()}. */
    void swapOut() {
        Preconditions.checkState(!backup.isEmpty(), "the average is not swapped in");
        for (int i = 0; i < parameters.size(); i++) {
            backup.get(i).copyTo(parameters.get(i).getArray());
            backup.get(i).close();
        }
        backup.clear();
    }

    @Override
    public void close() {
        manager.close();
    }
}
