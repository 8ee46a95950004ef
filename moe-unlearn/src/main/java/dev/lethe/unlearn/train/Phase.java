package dev.lethe.unlearn.train;

import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import com.google.common.base.Preconditions;
import java.util.Locale;

/**
 * One stretch of an unlearning run with a fixed set of trainable parameters, a loss, an optimizer
 * and a plan of steps. Most methods have one phase; a method with several (e.g. SCRUB's
 * alternating max and min steps, or a reset followed by a retraining) lists them in order, and
 * the {@link ForgettingLoop} runs them one after the other on the same working model.
 *
 * <p>Each phase gets its own DJL {@code Trainer}; the optimizer object carries its state (Adam's
 * moments), so phases that pass the same {@link Optimizer} instance share it, and phases with their
 * own start afresh. Built with {@link #builder()}, checked in {@link Builder#build()}. Immutable.
 */
public final class Phase {

    private final String name;
    private final ParameterSelection trainable;
    private final Loss loss;
    private final boolean needsTeacher;
    private final float learningRate;
    private final Optimizer optimizer;
    private final boolean trainingMode;
    private final BatchPlan plan;

    private Phase(Builder b) {
        name = b.name;
        trainable = b.trainable;
        loss = b.loss;
        needsTeacher = b.needsTeacher;
        learningRate = b.learningRate;
        optimizer =
                b.optimizer != null
                        ? b.optimizer
                        : Optimizer.adam().optLearningRateTracker(Tracker.fixed(b.learningRate)).build();
        trainingMode = b.trainingMode;
        plan = b.plan;
    }

    /** @return a builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the name, for progress lines */
    public String name() {
        return name;
    }

    /** @return what trains */
    public ParameterSelection trainable() {
        return trainable;
    }

    /** @return the loss, evaluated on the named entries of an {@code UnlearningBatch} */
    public Loss loss() {
        return loss;
    }

    /** @return whether the loss reads the original model's outputs (its logits and routing are then computed) */
    public boolean needsTeacher() {
        return needsTeacher;
    }

    /** @return the learning rate (of the default Adam, and named in the divergence message) */
    public float learningRate() {
        return learningRate;
    }

    /** @return the optimizer */
    public Optimizer optimizer() {
        return optimizer;
    }

    /**
     * @return whether the network runs in training mode (BatchNorm statistics update, routing
     *     noise on) or in inference mode with gradients
     */
    public boolean trainingMode() {
        return trainingMode;
    }

    /** @return the steps */
    public BatchPlan plan() {
        return plan;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "%s: %s; loss %s; lr %s; %s mode; %s",
                name,
                trainable,
                loss,
                learningRate,
                trainingMode ? "training" : "inference",
                plan);
    }

    /** Builds a {@link Phase}: {@code set…} are required, {@code opt…} optional. */
    public static final class Builder {
        private String name = "unlearning";
        private ParameterSelection trainable;
        private Loss loss;
        private boolean needsTeacher;
        private float learningRate = Float.NaN;
        private Optimizer optimizer;
        private boolean trainingMode = true;
        private BatchPlan plan;

        private Builder() {}

        /**
         * @param name the phase's name; default "unlearning"
         * @return this builder
         */
        public Builder optName(String name) {
            this.name = name;
            return this;
        }

        /**
         * @param trainable what trains
         * @return this builder
         */
        public Builder setTrainable(ParameterSelection trainable) {
            this.trainable = trainable;
            return this;
        }

        /**
         * @param loss the loss
         * @param needsTeacher whether it reads the original model's outputs
         * @return this builder
         */
        public Builder setLoss(Loss loss, boolean needsTeacher) {
            this.loss = loss;
            this.needsTeacher = needsTeacher;
            return this;
        }

        /**
         * @param learningRate Adam's fixed learning rate, finite and &gt; 0 (required unless an
         *     optimizer is given; named in the divergence message either way)
         * @return this builder
         */
        public Builder setLearningRate(float learningRate) {
            this.learningRate = learningRate;
            return this;
        }

        /**
         * @param optimizer the optimizer; default Adam at the fixed learning rate
         * @return this builder
         */
        public Builder optOptimizer(Optimizer optimizer) {
            this.optimizer = optimizer;
            return this;
        }

        /**
         * @param trainingMode false to run the network in inference mode; default true
         * @return this builder
         */
        public Builder optTrainingMode(boolean trainingMode) {
            this.trainingMode = trainingMode;
            return this;
        }

        /**
         * @param plan the steps
         * @return this builder
         */
        public Builder setPlan(BatchPlan plan) {
            this.plan = plan;
            return this;
        }

        /**
         * @return the phase
         * @throws IllegalArgumentException naming the first missing or invalid setting
         */
        public Phase build() {
            Preconditions.checkArgument(name != null && !name.isEmpty(), "name must not be empty");
            Preconditions.checkArgument(trainable != null, "the trainable parameters are not set (setTrainable)");
            Preconditions.checkArgument(loss != null, "the loss is not set (setLoss)");
            Preconditions.checkArgument(plan != null, "the plan is not set (setPlan)");
            Preconditions.checkArgument(
                    optimizer != null || (learningRate > 0 && Float.isFinite(learningRate)),
                    "learningRate (%s) must be finite and > 0",
                    learningRate);
            return new Phase(this);
        }
    }
}
