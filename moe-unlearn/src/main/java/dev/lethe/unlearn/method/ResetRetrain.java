package dev.lethe.unlearn.method;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.profile.RetainSampler;
import dev.lethe.unlearn.train.BatchComposer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reset and retrain ({@link Method#RESET_RETRAIN}): EU-k (Goel et al. 2022, "Towards adversarial
 * evaluation of unlearning", arXiv 2201.06640: re-initialise the last k layers and retrain them on
 * the retain data) at the granularity of the experts that carry the class.
 *
 * <ol>
 *   <li>{@link #prepare}: select the class's experts as {@link ExpertTargeted} does (profile,
 *       {@code coverage(0.9)}, retain focus); re-initialise every parameter of the selected experts
 *       with their own initializers and, when the scope includes the head, the head's row (weight
 *       and bias) of the forgotten class, from DJL's engine generator seeded with the run's seed
 *       ({@link ParameterReset#reinitialize}); re-estimate the running statistics of the reset
 *       experts' BatchNorm layers on {@code batchNormImages} retain images ({@link
 *       ParameterReset#reestimateBatchNorm}: cumulative average, no parameter update, every other
 *       statistic restored).
 *   <li>Retrain the scope (default {@link #DEFAULT_SCOPE}: the reset experts, their layers'
 *       routers and the head) on retain images only, with cross-entropy plus distillation from the
 *       original model's retain outputs with the forgotten class's probability removed ({@code
 *       ForgettingLoss.retainOnly().withDistillation(distillWeight, distillTemperature)}, default
 *       1 at T = 2, the distillation of the expert-targeted method), with Adam at 3e-3 ({@link
 *       #DEFAULT_LEARNING_RATE}), in inference mode.
 * </ol>
 *
 * <p>Budget: the expert-targeted method's, step for step ({@code epochs} passes' worth of steps of
 * {@code batchSize} forget images, each step holding {@code round(batchSize * (1 +
 * retainRatio))} retain images instead), so the two cost the same wall clock. Why inference mode:
 * everything outside the scope stays bit-identical (the trunk's BatchNorm statistics too), and the
 * reset experts normalise with the statistics re-estimated in step 1, so the function trained is
 * the function served; training mode would move the trunk's statistics and normalise the experts
 * with batch statistics that inference never uses. Why 3e-3: the reset experts train from scratch,
 * like a model's first epochs, not a small edit of trained weights (ours: 3e-4); and among 1e-3,
 * 3e-3 and 1e-2 it was the rate after which the class came back slowest, at no cost to the other
 * classes (CIFAR-10, fast-forget-ready model, forgetting cat, measured on the validation split
 * only: forget-class accuracy after 50 few-shot relearning steps 9.9 / 0.0 / 1.6 %, Retrain 0.0;
 * the other classes 87.9 / 88.2 / 87.5 %, Retrain 87.8; docs/results/reset-retrain-lr.md).
 *
 * <p>Options ({@link Options}): the distillation weight (0 = plain cross-entropy retraining; on a
 * model whose routing is not class-specific, distillation made relearning easier in our first
 * probe, docs/erasure.md, so sweep {0, 1}), its temperature, and the number of images of the
 * BatchNorm re-estimation. The settings' {@code loss} does not apply. Removal: {@link
 * Removal#ERASE} (measured, not proven: the class's knowledge left in the trunk and in the
 * unselected experts is not reset; the relearning and probe tests of moe-eval say how much of it
 * is left).
 */
public final class ResetRetrain extends EditingMethod {

    /** The default scope: the reset experts, their routers and the head. */
    public static final Scope DEFAULT_SCOPE = Scope.EXPERTS_ROUTER_AND_HEAD;
    /** The default learning rate (chosen on validation: see the class's documentation). */
    public static final float DEFAULT_LEARNING_RATE = 3e-3f;

    /**
     * The options of {@link Method#RESET_RETRAIN}.
     *
     * @param distillWeight weight of the distillation on retain images, finite and &gt;= 0 (default
     *     1; 0 = cross-entropy only)
     * @param distillTemperature its temperature, finite and &gt; 0 (default 2)
     * @param batchNormImages retain images forwarded to re-estimate the reset BatchNorm statistics,
     *     &gt;= 2 (default 1024)
     */
    public record Options(float distillWeight, float distillTemperature, int batchNormImages) implements MethodOptions {

        /** Checks every option. */
        public Options {
            Preconditions.checkArgument(
                    distillWeight >= 0 && Float.isFinite(distillWeight),
                    "distillWeight (%s) must be finite and >= 0",
                    distillWeight);
            Preconditions.checkArgument(
                    distillTemperature > 0 && Float.isFinite(distillTemperature),
                    "distillTemperature (%s) must be finite and > 0",
                    distillTemperature);
            Preconditions.checkArgument(batchNormImages >= 2, "batchNormImages (%s) must be >= 2", batchNormImages);
        }

        /** @return distillation 1 at T = 2, 1024 images for the BatchNorm statistics */
        public static Options defaults() {
            return new Options(1f, 2f, 1024);
        }

        /**
         * @param weight the distillation weight, &gt;= 0
         * @param temperature its temperature, &gt; 0
         * @return a copy
         */
        public Options withDistillation(float weight, float temperature) {
            return new Options(weight, temperature, batchNormImages);
        }

        /**
         * @param images images of the BatchNorm re-estimation, &gt;= 2
         * @return a copy
         */
        public Options withBatchNormImages(int images) {
            return new Options(distillWeight, distillTemperature, images);
        }

        @Override
        public Method method() {
            return Method.RESET_RETRAIN;
        }

        @Override
        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("distillWeight", distillWeight);
            o.addProperty("distillTemperature", distillTemperature);
            o.addProperty("batchNormImages", batchNormImages);
            return o;
        }
    }

    private static Options options(UnlearningSettings settings) {
        return settings.methodOptions(Method.RESET_RETRAIN).map(Options.class::cast).orElseGet(Options::defaults);
    }

    @Override
    public Removal removal() {
        return Removal.ERASE;
    }

    @Override
    public Scope scope(UnlearningSettings settings) {
        return settings.scope().orElse(DEFAULT_SCOPE);
    }

    @Override
    public float defaultLearningRate() {
        return DEFAULT_LEARNING_RATE;
    }

    /** @return cross-entropy on retain images plus the options' distillation */
    @Override
    public ForgettingLoss loss(UnlearningSettings settings) {
        Options o = options(settings);
        return ForgettingLoss.retainOnly().withDistillation(o.distillWeight(), o.distillTemperature());
    }

    @Override
    public boolean trainingMode() {
        return false;
    }

    @Override
    public BatchComposer composer() {
        return BatchComposer.RETAIN_ONLY;
    }

    /** Adds the options to the provenance. */
    @Override
    public void describe(UnlearningSettings settings, JsonObject out) {
        super.describe(settings, out);
        out.add("options", options(settings).toJson());
    }

    /** Selects the experts, resets them and the head's row of the class, re-estimates their statistics. */
    @Override
    public void prepare(UnlearningContext context) throws IOException {
        UnlearningSettings s = context.settings();
        Scope scope = scope(s);
        Preconditions.checkArgument(
                scope.usesExperts(),
                "RESET_RETRAIN (the default method) resets the class's experts, so its scope must name experts"
                        + " (EXPERTS, EXPERTS_AND_ROUTER or EXPERTS_ROUTER_AND_HEAD), not %s; to edit without a"
                        + " reset, choose method(Method.EXPERT_TARGETED), which takes every scope",
                scope);
        ExpertTargeted.selectExperts(context);
        EmbeddingClassifier net = context.net();
        Map<String, MoeBlock> layers = MoeBlocks.find(net);
        List<Block> experts = new ArrayList<>();
        for (Map.Entry<String, List<Integer>> e : context.selection().orElseThrow().experts().entrySet()) {
            for (int x : e.getValue()) {
                experts.add(layers.get(e.getKey()).expert(x));
            }
        }
        Map<Parameter, Integer> rows = scope.includesHead() ? headRows(net, context.forgetClass()) : Map.of();
        ParameterReset.reinitialize(s.seed(), experts, rows);
        Options o = options(s);
        int[] images = RetainSampler.uniform(context.retainIndices()).draw(o.batchNormImages(), context.random());
        int batch = Math.max(2, Math.round(s.batchSize() * (1 + s.retainRatio())));
        int norms = ParameterReset.reestimateBatchNorm(net, experts, context.data(), images, batch);
        context.report(
                "reset %d experts%s; re-estimated %d BatchNorm layers on %d retain images",
                experts.size(),
                rows.isEmpty() ? "" : " and the head's row of class " + context.forgetClass(),
                norms,
                images.length);
    }

    /**
     * @return the head's parameters with one row per class (weight (C, D), bias (C)), each with the
     *     class's row
     */
    static Map<Parameter, Integer> headRows(EmbeddingClassifier net, int classId) {
        Map<Parameter, Integer> rows = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : net.classifier().getParameters()) {
            Parameter parameter = p.getValue();
            if (parameter.getArray().getShape().get(0) == net.numClasses()) {
                rows.put(parameter, classId);
            }
        }
        return rows;
    }
}
