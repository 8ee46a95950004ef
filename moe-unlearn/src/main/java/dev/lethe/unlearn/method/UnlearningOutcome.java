package dev.lethe.unlearn.method;

import ai.djl.Model;
import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.profile.ExpertSelection;
import dev.lethe.unlearn.train.ForgettingLoop;
import java.util.Optional;

/**
 * What an {@link UnlearningMethod} returns: the new model and the facts the result and the audit
 * record report. Built with {@link #builder(Model, String, Scope)}. Immutable.
 */
public final class UnlearningOutcome {

    private final Model model;
    private final String summary;
    private final Scope scope;
    private final ExpertSelection selection;
    private final RetrainOracle oracle;
    private final long trainableParameters;
    private final int steps;
    private final long imagesSeen;
    private final double firstLoss;
    private final double lastLoss;
    private final JsonObject details;

    private UnlearningOutcome(Builder b) {
        model = b.model;
        summary = b.summary;
        scope = b.scope;
        selection = b.selection;
        oracle = b.oracle;
        trainableParameters = b.trainableParameters;
        steps = b.steps;
        imagesSeen = b.imagesSeen;
        firstLoss = b.firstLoss;
        lastLoss = b.lastLoss;
        details = b.details.deepCopy();
    }

    /**
     * @param model the new model (the working model, or a new one)
     * @param summary what was done, e.g. "forgot class 3 (cat) with EXPERT_TARGETED"
     * @param scope the scope that was trained
     * @return a builder
     */
    public static Builder builder(Model model, String summary, Scope scope) {
        return new Builder(model, summary, scope);
    }

    /** @return the new model */
    public Model model() {
        return model;
    }

    /** @return what was done, one line without the time */
    public String summary() {
        return summary;
    }

    /** @return the scope that was trained */
    public Scope scope() {
        return scope;
    }

    /** @return the selected experts, if any */
    public Optional<ExpertSelection> selection() {
        return Optional.ofNullable(selection);
    }

    /** @return the Retrain oracle, for {@link dev.lethe.unlearn.Method#RETRAIN} */
    public Optional<RetrainOracle> oracle() {
        return Optional.ofNullable(oracle);
    }

    /** @return scalars that were trainable */
    public long trainableParameters() {
        return trainableParameters;
    }

    /** @return optimizer steps */
    public int steps() {
        return steps;
    }

    /** @return images forwarded in training steps */
    public long imagesSeen() {
        return imagesSeen;
    }

    /** @return the loss of the first step, NaN if not measured */
    public double firstLoss() {
        return firstLoss;
    }

    /** @return the loss of the last step, NaN if not measured */
    public double lastLoss() {
        return lastLoss;
    }

    /** @return method-specific facts for the audit record's configuration (a copy; may be empty) */
    public JsonObject details() {
        return details.deepCopy();
    }

    /** Builds an {@link UnlearningOutcome}. */
    public static final class Builder {
        private final Model model;
        private final String summary;
        private final Scope scope;
        private ExpertSelection selection;
        private RetrainOracle oracle;
        private long trainableParameters;
        private int steps;
        private long imagesSeen;
        private double firstLoss = Double.NaN;
        private double lastLoss = Double.NaN;
        private final JsonObject details = new JsonObject();

        private Builder(Model model, String summary, Scope scope) {
            this.model = Preconditions.checkNotNull(model, "model must not be null");
            this.summary = Preconditions.checkNotNull(summary, "summary must not be null");
            this.scope = Preconditions.checkNotNull(scope, "scope must not be null");
        }

        /**
         * @param selection the selected experts, or null
         * @return this builder
         */
        public Builder optSelection(ExpertSelection selection) {
            this.selection = selection;
            return this;
        }

        /**
         * @param oracle the Retrain oracle that made the model
         * @return this builder
         */
        public Builder optOracle(RetrainOracle oracle) {
            this.oracle = oracle;
            return this;
        }

        /**
         * @param loop what the forgetting loop did (steps, images, losses, trainable scalars)
         * @return this builder
         */
        public Builder optTraining(ForgettingLoop.Result loop) {
            trainableParameters = loop.trainableParameters();
            steps = loop.steps();
            imagesSeen = loop.images();
            firstLoss = loop.firstLoss();
            lastLoss = loop.lastLoss();
            return this;
        }

        /**
         * @param trainableParameters scalars that were trainable
         * @param steps optimizer steps
         * @param imagesSeen images forwarded in training steps
         * @return this builder
         */
        public Builder optTraining(long trainableParameters, int steps, long imagesSeen) {
            this.trainableParameters = trainableParameters;
            this.steps = steps;
            this.imagesSeen = imagesSeen;
            return this;
        }

        /**
         * @param key a name
         * @param value a JSON value for the audit record's configuration
         * @return this builder
         */
        public Builder addDetail(String key, com.google.gson.JsonElement value) {
            details.add(key, value);
            return this;
        }

        /** @return the outcome */
        public UnlearningOutcome build() {
            return new UnlearningOutcome(this);
        }
    }
}
