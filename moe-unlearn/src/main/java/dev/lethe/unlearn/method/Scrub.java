package dev.lethe.unlearn.method;

import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.loss.ScrubLoss;
import dev.lethe.unlearn.train.BatchComposer;
import dev.lethe.unlearn.train.BatchPlan;
import dev.lethe.unlearn.train.ParameterSelection;
import dev.lethe.unlearn.train.Phase;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * SCRUB ({@link Method#SCRUB}; Kurmanji et al., NeurIPS 2023, "Towards unbounded machine
 * unlearning"): the original model is a teacher, the model being edited its student, and every
 * parameter trains with alternating steps ({@link ScrubLoss}):
 *
 * <ul>
 *   <li>max steps, on forget images only: move the student's outputs away from the teacher's
 *       ({@code -T² KL(teacher || student)});
 *   <li>min steps, on retain images only: keep them with the teacher and right ({@code γ CE + α T²
 *       KL(teacher || student)}).
 * </ul>
 *
 * <p>Epoch e (of {@code epochs}, default 2) is a max pass over the forget images if {@code e <
 * maxEpochs}, then a min pass of as many steps, each with {@code round(batchSize * (1 +
 * retainRatio))} retain images; so the run always ends on min steps, which repair what the last
 * max steps broke (the paper's "extra min steps"). One Adam optimizer (learning rate {@value
 * #DEFAULT_LEARNING_RATE}) carries its state through every phase, as in the paper's single
 * optimizer; the network trains in training mode, as in the paper.
 *
 * <p>Defaults ({@link Options}): {@code maxEpochs = 2}, T = 4, α = 0.001, γ = 0.99 and the Adam
 * learning rate 5e-4: the authors' example configuration for CIFAR as we read it (msteps 2, kd_T
 * 4, alpha 0.001, gamma 0.99, sgda_learning_rate 5e-4, Adam). Two departures, both for an equal
 * budget: the min pass has as many steps as the max pass rather than a full pass over the retain
 * set (raise {@code epochs} to give it more), and batches are our {@code batchSize} (64 forget, 128
 * retain) rather than 32 and 128. Removal: {@link dev.lethe.unlearn.Removal#SUPPRESS}.
 */
public final class Scrub extends EditingMethod {

    /** The default learning rate. */
    public static final float DEFAULT_LEARNING_RATE = 5e-4f;

    /**
     * The options of {@link Method#SCRUB}.
     *
     * @param maxEpochs the first epochs that have a max pass, &gt;= 0 (default 2)
     * @param temperature the distillation temperature T, finite and &gt; 0 (default 4)
     * @param klWeight α, the min steps' divergence weight, finite and &gt;= 0 (default 0.001)
     * @param ceWeight γ, the min steps' cross-entropy weight, finite and &gt;= 0 (default 0.99)
     */
    public record Options(int maxEpochs, float temperature, float klWeight, float ceWeight) implements MethodOptions {

        /** Checks every option. */
        public Options {
            Preconditions.checkArgument(maxEpochs >= 0, "maxEpochs (%s) must be >= 0", maxEpochs);
            Preconditions.checkArgument(
                    temperature > 0 && Float.isFinite(temperature), "temperature (%s) must be finite and > 0", temperature);
            Preconditions.checkArgument(
                    klWeight >= 0 && Float.isFinite(klWeight), "klWeight (%s) must be finite and >= 0", klWeight);
            Preconditions.checkArgument(
                    ceWeight >= 0 && Float.isFinite(ceWeight), "ceWeight (%s) must be finite and >= 0", ceWeight);
        }

        /** @return maxEpochs 2, T = 4, α = 0.001, γ = 0.99 */
        public static Options defaults() {
            return new Options(2, 4f, 0.001f, 0.99f);
        }

        /**
         * @param epochs the first epochs with a max pass, &gt;= 0
         * @return a copy
         */
        public Options withMaxEpochs(int epochs) {
            return new Options(epochs, temperature, klWeight, ceWeight);
        }

        /**
         * @param temperature T &gt; 0
         * @return a copy
         */
        public Options withTemperature(float temperature) {
            return new Options(maxEpochs, temperature, klWeight, ceWeight);
        }

        /**
         * @param klWeight α &gt;= 0
         * @param ceWeight γ &gt;= 0
         * @return a copy
         */
        public Options withMinStepWeights(float klWeight, float ceWeight) {
            return new Options(maxEpochs, temperature, klWeight, ceWeight);
        }

        @Override
        public Method method() {
            return Method.SCRUB;
        }

        @Override
        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("maxEpochs", maxEpochs);
            o.addProperty("temperature", temperature);
            o.addProperty("klWeight", klWeight);
            o.addProperty("ceWeight", ceWeight);
            return o;
        }
    }

    private static Options options(UnlearningSettings settings) {
        return settings.methodOptions(Method.SCRUB).map(Options.class::cast).orElseGet(Options::defaults);
    }

    @Override
    public float defaultLearningRate() {
        return DEFAULT_LEARNING_RATE;
    }

    /**
     * @return the cross-entropy on retain images; SCRUB's objectives are the {@link ScrubLoss}es of
     *     its phases ({@link #describe} records them)
     */
    @Override
    public ForgettingLoss loss(UnlearningSettings settings) {
        return ForgettingLoss.retainOnly();
    }

    @Override
    public boolean trainingMode() {
        return true;
    }

    /** @return retain images only (the min steps); the max steps use forget images only */
    @Override
    public BatchComposer composer() {
        return BatchComposer.RETAIN_ONLY;
    }

    /** Records the scope, both objectives, the learning rate and the options. */
    @Override
    public void describe(UnlearningSettings settings, JsonObject out) {
        Options o = options(settings);
        out.addProperty("scope", scope(settings).name());
        out.addProperty(
                "loss",
                ScrubLoss.maxStep(o.temperature()) + " / " + ScrubLoss.minStep(o.temperature(), o.klWeight(), o.ceWeight()));
        out.addProperty("learningRate", learningRate(settings));
        out.add("options", o.toJson());
    }

    /** @return per epoch a max pass (the first {@code maxEpochs}) then a min pass, sharing one Adam */
    @Override
    public List<Phase> phases(UnlearningContext context) throws IOException {
        UnlearningSettings s = context.settings();
        Options o = options(s);
        float lr = learningRate(s);
        Optimizer adam = Optimizer.adam().optLearningRateTracker(Tracker.fixed(lr)).build();
        ParameterSelection all = trainable(context);
        ScrubLoss max = ScrubLoss.maxStep(o.temperature());
        ScrubLoss min = ScrubLoss.minStep(o.temperature(), o.klWeight(), o.ceWeight());
        int[] forget = context.forgetIndices();
        List<Phase> phases = new ArrayList<>();
        for (int e = 0; e < s.epochs(); e++) {
            if (e < o.maxEpochs()) {
                phases.add(phase(String.format(Locale.ROOT, "SCRUB max, epoch %d", e + 1), all, max, lr, adam,
                        BatchPlan.overForgetImages(forget, context.retainSampler(), 1, s.batchSize(), s.retainRatio(),
                                BatchComposer.FORGET_ONLY)));
            }
            phases.add(phase(String.format(Locale.ROOT, "SCRUB min, epoch %d", e + 1), all, min, lr, adam,
                    BatchPlan.overForgetImages(forget, context.retainSampler(), 1, s.batchSize(), s.retainRatio(),
                            BatchComposer.RETAIN_ONLY)));
        }
        return phases;
    }

    private Phase phase(String name, ParameterSelection all, ScrubLoss loss, float lr, Optimizer adam, BatchPlan plan) {
        return Phase.builder()
                .optName(name)
                .setTrainable(all)
                .setLoss(loss, true)
                .setLearningRate(lr)
                .optOptimizer(adam)
                .optTrainingMode(trainingMode())
                .setPlan(plan)
                .build();
    }
}
