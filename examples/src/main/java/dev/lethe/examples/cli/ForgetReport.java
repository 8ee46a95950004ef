package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkNotNull;
import static com.google.common.base.Preconditions.checkState;

import com.google.common.collect.ImmutableList;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.routing.RoutingShift;
import dev.lethe.unlearn.profile.ExpertSelection;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Everything one forgetting run measured, ready to print and to write ({@link Reports#write}): the
 * protocol's metrics before and after (and of a Retrain reference when there is one), the
 * unlearning result (experts retrained, parameters changed, time) and how far the forgotten class's
 * routing moved ({@link RoutingShift}, measured by the evaluation after). Immutable; built with
 * {@link #builder()}.
 */
public final class ForgetReport {

    private final String dataset;
    private final List<String> classNames;
    private final UnlearningEvaluation before;
    private final UnlearningEvaluation after;
    private final UnlearningEvaluation retrain;
    private final double retrainSeconds;
    private final UnlearningResult result;
    private final long seed;
    private final String sourceModel;
    private final String outputModel;
    private final String retrainModel;
    private final JsonObject modelConfig;
    private final int retainSample;
    private final int miaTrainPerSide;
    private final List<String> notes;

    private ForgetReport(Builder b) {
        dataset = b.dataset;
        classNames = ImmutableList.copyOf(b.classNames);
        before = b.before;
        after = b.after;
        retrain = b.retrain;
        retrainSeconds = b.retrainSeconds;
        result = b.result;
        seed = b.seed;
        sourceModel = b.sourceModel;
        outputModel = b.outputModel;
        retrainModel = b.retrainModel;
        modelConfig = b.modelConfig;
        retainSample = b.retainSample;
        miaTrainPerSide = b.miaTrainPerSide;
        notes = ImmutableList.copyOf(b.notes);
    }

    /** @return a builder; data set, class names, before, after and result are required */
    public static Builder builder() {
        return new Builder();
    }

    /** @return a builder holding this report, for a variant (e.g. with more notes) */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.dataset = dataset;
        b.classNames = classNames;
        b.before = before;
        b.after = after;
        b.retrain = retrain;
        b.retrainSeconds = retrainSeconds;
        b.result = result;
        b.seed = seed;
        b.sourceModel = sourceModel;
        b.outputModel = outputModel;
        b.retrainModel = retrainModel;
        b.modelConfig = modelConfig;
        b.retainSample = retainSample;
        b.miaTrainPerSide = miaTrainPerSide;
        b.notes.addAll(notes);
        return b;
    }

    /** @return "CIFAR-10" or "CIFAR-100" */
    public String dataset() {
        return dataset;
    }

    /** @return the class names in id order */
    public List<String> classNames() {
        return classNames;
    }

    /** @return the seed of the unlearning run */
    public long seed() {
        return seed;
    }

    /** @return the forgotten class's id */
    public int forgetClass() {
        return result.forgetClass();
    }

    /** @return the forgotten class's name */
    public String forgetClassName() {
        return result.forgetClassName();
    }

    /** @return the metrics of the original model */
    public UnlearningEvaluation before() {
        return before;
    }

    /** @return the metrics of the model after forgetting */
    public UnlearningEvaluation after() {
        return after;
    }

    /** @return the metrics of the Retrain reference, if one was given */
    public Optional<UnlearningEvaluation> retrain() {
        return Optional.ofNullable(retrain);
    }

    /** @return the Retrain reference's training time in seconds, NaN if unknown */
    public double retrainSeconds() {
        return retrainSeconds;
    }

    /** @return the unlearning run's result (its model may be closed by now) */
    public UnlearningResult result() {
        return result;
    }

    /**
     * @return the forgotten class's expert shares before and after, per MoE layer, if the evaluation
     *     after measured them ({@link UnlearningEvaluation#routingShift()})
     */
    public Optional<RoutingShift> routingShift() {
        return after.routingShift();
    }

    /** @return notes printed in the report (sampling, missing references, warnings) */
    public List<String> notes() {
        return notes;
    }

    /** @return the experts retrained per MoE layer (empty when the method selects none) */
    public Map<String, List<Integer>> expertsRetrained() {
        return result.selection().map(ExpertSelection::experts).orElse(Map.of());
    }

    /**
     * The report as JSON. Percentages are 0–100; times are seconds.
     *
     * <p>Fields: {@code dataset}, {@code forgetClass} ({@code id}, {@code name}), {@code method},
     * {@code scope}, {@code seed}, {@code before}, {@code after} and (with a reference) {@code
     * retrain} (each {@link UnlearningEvaluation#toJson()}: {@code ua}, {@code ra}, {@code ta},
     * {@code forgetTestAccuracy}, {@code mia}, {@code perClassTestAccuracy}, probe accuracies, …),
     * {@code seconds} (the unlearning run), {@code expertsRetrained} (layer → expert ids), {@code
     * parametersRetrainedFraction}, {@code retrainSeconds} and {@code avgGap} ({@code before},
     * {@code after}) with a reference, {@code speedup} (retrain / unlearning time), {@code
     * routingShift} ({@link RoutingShift#toJson()}, when measured),
     * {@code evaluation} (sample sizes), {@code models}, {@code unlearning} ({@link
     * UnlearningResult#toJson()}), {@code notes} and {@code run} (version, date, machine, threads).
     *
     * @return a new JSON object
     */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("dataset", dataset);
        JsonObject fc = new JsonObject();
        fc.addProperty("id", forgetClass());
        fc.addProperty("name", forgetClassName());
        o.add("forgetClass", fc);
        o.addProperty("method", result.method().name());
        o.addProperty("scope", result.scope().name());
        o.addProperty("seed", seed);
        o.add("before", before.toJson());
        o.add("after", after.toJson());
        if (retrain != null) {
            o.add("retrain", retrain.toJson());
        }
        o.addProperty("seconds", result.seconds());
        JsonObject experts = new JsonObject();
        for (Map.Entry<String, List<Integer>> e : expertsRetrained().entrySet()) {
            JsonArray ids = new JsonArray();
            e.getValue().forEach(ids::add);
            experts.add(e.getKey(), ids);
        }
        o.add("expertsRetrained", experts);
        o.addProperty("parametersRetrainedFraction", result.parametersRetrainedFraction());
        if (retrain != null) {
            if (!Double.isNaN(retrainSeconds)) {
                o.addProperty("retrainSeconds", retrainSeconds);
                o.addProperty("speedup", retrainSeconds / Math.max(1e-9, result.seconds()));
            }
            JsonObject gap = new JsonObject();
            gap.addProperty("before", before.avgGap(retrain));
            gap.addProperty("after", after.avgGap(retrain));
            o.add("avgGap", gap);
        }
        routingShift().ifPresent(r -> o.add("routingShift", r.toJson()));
        JsonObject eval = new JsonObject();
        eval.addProperty("retainSample", retainSample == Integer.MAX_VALUE ? -1 : retainSample);
        eval.addProperty("miaTrainPerSide", miaTrainPerSide == Integer.MAX_VALUE ? -1 : miaTrainPerSide);
        eval.addProperty("fullProtocol", retainSample == Integer.MAX_VALUE && miaTrainPerSide == Integer.MAX_VALUE);
        o.add("evaluation", eval);
        JsonObject models = new JsonObject();
        models.addProperty("source", sourceModel);
        models.addProperty("output", outputModel);
        if (retrainModel != null) {
            models.addProperty("retrain", retrainModel);
        }
        if (modelConfig != null) {
            models.add("config", modelConfig);
        }
        o.add("models", models);
        o.add("unlearning", result.toJson());
        JsonArray n = new JsonArray();
        notes.forEach(n::add);
        o.add("notes", n);
        o.add("run", Reports.runInfo());
        return o;
    }

    /** Collects a {@link ForgetReport}. */
    public static final class Builder {
        private String dataset;
        private List<String> classNames;
        private UnlearningEvaluation before;
        private UnlearningEvaluation after;
        private UnlearningEvaluation retrain;
        private double retrainSeconds = Double.NaN;
        private UnlearningResult result;
        private long seed;
        private String sourceModel;
        private String outputModel;
        private String retrainModel;
        private JsonObject modelConfig;
        private int retainSample = Integer.MAX_VALUE;
        private int miaTrainPerSide = Integer.MAX_VALUE;
        private final List<String> notes = new ArrayList<>();

        private Builder() {}

        /**
         * @param dataset the data set's name
         * @param classNames class names in id order
         * @return this builder
         */
        public Builder setData(String dataset, List<String> classNames) {
            this.dataset = checkNotNull(dataset, "dataset must not be null");
            this.classNames = checkNotNull(classNames, "classNames must not be null");
            return this;
        }

        /**
         * @param before metrics of the original model
         * @param after metrics after forgetting
         * @return this builder
         */
        public Builder setEvaluations(UnlearningEvaluation before, UnlearningEvaluation after) {
            this.before = checkNotNull(before, "before must not be null");
            this.after = checkNotNull(after, "after must not be null");
            return this;
        }

        /**
         * @param result the unlearning result
         * @param seed the seed of the unlearning run
         * @return this builder
         */
        public Builder setResult(UnlearningResult result, long seed) {
            this.result = checkNotNull(result, "result must not be null");
            this.seed = seed;
            return this;
        }

        /**
         * @param evaluation metrics of the Retrain reference
         * @param seconds its training time, or NaN if unknown
         * @param modelDir its folder, for the report
         * @return this builder
         */
        public Builder optRetrain(UnlearningEvaluation evaluation, double seconds, String modelDir) {
            this.retrain = checkNotNull(evaluation, "evaluation must not be null");
            this.retrainSeconds = seconds;
            this.retrainModel = modelDir;
            return this;
        }

        /**
         * @param source the original model's folder (or a description)
         * @param output the new model's folder
         * @param config the architecture, as JSON, or null
         * @return this builder
         */
        public Builder optModels(String source, String output, String config) {
            this.sourceModel = source;
            this.outputModel = output;
            this.modelConfig = config == null ? null : JsonParser.parseString(config).getAsJsonObject();
            return this;
        }

        /**
         * @param retainSample the evaluator's RA sample ({@code Integer.MAX_VALUE} = all)
         * @param miaTrainPerSide the evaluator's MIA sample ({@code Integer.MAX_VALUE} = |test|)
         * @return this builder
         */
        public Builder optEvaluationSample(int retainSample, int miaTrainPerSide) {
            this.retainSample = retainSample;
            this.miaTrainPerSide = miaTrainPerSide;
            return this;
        }

        /**
         * @param note a sentence shown in the report
         * @return this builder
         */
        public Builder addNote(String note) {
            notes.add(checkNotNull(note, "note must not be null"));
            return this;
        }

        /** @return the report */
        public ForgetReport build() {
            checkState(dataset != null, "setData is required");
            checkState(before != null, "setEvaluations is required");
            checkState(result != null, "setResult is required");
            return new ForgetReport(this);
        }
    }

    /** @return per-class test accuracies by series ("before", "after", "retrain"), for charts */
    Map<String, double[]> perClassSeries() {
        Map<String, double[]> series = new LinkedHashMap<>();
        series.put("before", before.perClassTestAccuracy());
        series.put("after (" + result.method().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-') + ")",
                after.perClassTestAccuracy());
        if (retrain != null) {
            series.put("retrain", retrain.perClassTestAccuracy());
        }
        return series;
    }
}
