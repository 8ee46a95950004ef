package dev.lethe.moe.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * SGD with (Nesterov or heavy-ball) momentum, coupled or decoupled weight decay and per-group
 * learning-rate scales, in PyTorch's convention: {@code v = m·v + g; step = nesterov ? g + m·v :
 * v; w -= lr·step}; decoupled decay {@code w -= lr·wd·w}, coupled decay {@code g += wd·w}.
 */
final class RecipeSgd extends Optimizer {

    /** The settings of one parameter group. */
    static final class Group {
        final float learningRateScale;
        final float weightDecay;
        final float clip;

        Group(float learningRateScale, float weightDecay, float clip) {
            this.learningRateScale = learningRateScale;
            this.weightDecay = weightDecay;
            this.clip = clip;
        }
    }

    private final Tracker learningRate;
    private final float momentum;
    private final boolean nesterov;
    private final boolean decoupled;
    private final Function<String, Group> groups;
    private final Map<String, Map<Device, NDArray>> velocity = new ConcurrentHashMap<>();

    RecipeSgd(Tracker learningRate, float momentum, boolean nesterov, boolean decoupled, Function<String, Group> groups) {
        super(new Builder());
        this.learningRate = learningRate;
        this.momentum = momentum;
        this.nesterov = nesterov;
        this.decoupled = decoupled;
        this.groups = groups;
    }

    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        Group group = groups.apply(parameterId);
        int step = updateCount(parameterId);
        float lr = learningRate.getNewValue(parameterId, step) * group.learningRateScale;
        java.util.List<NDArray> temporaries = new java.util.ArrayList<>(4);
        try {
            NDArray g = grad;
            if (group.clip > 0) {
                g = keep(temporaries, g.clip(-group.clip, group.clip));
            }
            if (!decoupled && group.weightDecay > 0) {
                g = keep(temporaries, g.add(keep(temporaries, weight.mul(group.weightDecay))));
            }
            NDArray update = g;
            if (momentum > 0) {
                NDArray v =
                        withDefaultState(
                                velocity, parameterId, weight.getDevice(), k -> weight.zerosLike());
                v.muli(momentum).addi(g);
                update = nesterov ? keep(temporaries, g.add(keep(temporaries, v.mul(momentum)))) : v;
            }
            if (decoupled && group.weightDecay > 0) {
                weight.muli(1f - lr * group.weightDecay);
            }
            weight.subi(keep(temporaries, update.mul(lr)));
        } finally {
            temporaries.forEach(NDArray::close);
        }
        // the parameter's own gradient accumulates over backward passes on the PyTorch engine and
        // the trainer does not reset it (DJL's built-in optimizers do it in their native update):
        // without this, step t would use the sum of every gradient so far
        if (weight.hasGradient()) {
            try (NDArray accumulated = weight.getGradient()) {
                accumulated.subi(accumulated);
            }
        }
    }

    private static NDArray keep(java.util.List<NDArray> temporaries, NDArray array) {
        temporaries.add(array);
        return array;
    }

    private static final class Builder extends OptimizerBuilder<Builder> {
        @Override
        protected Builder self() {
            return this;
        }
    }
}
