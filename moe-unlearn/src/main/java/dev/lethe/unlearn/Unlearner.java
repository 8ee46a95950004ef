package dev.lethe.unlearn;

import ai.djl.Model;
import ai.djl.nn.Block;
import ai.djl.training.listener.TrainingListener;
import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.method.ExpertTargeted;
import dev.lethe.unlearn.method.MethodOptions;
import dev.lethe.unlearn.method.ResetRetrain;
import dev.lethe.unlearn.profile.ActivationProfiler;
import dev.lethe.unlearn.profile.ExpertSelector;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Makes a model forget a class by retraining only the experts its images are routed to — or runs
 * one of the standard baselines, or the Retrain oracle, through the same API.
 *
 * <pre>{@code
 * UnlearningResult result = Unlearner.forClass(3)      // or forClass("cat")
 *         .from(model)                                 // a Model whose block contains MoeBlocks
 *         .using(trainingData)                         // LabeledData; forget/retain sets derive from it
 *         .optEpochs(2)
 *         .retrain();
 * try (Model forgotten = result.model()) { ... }
 * }</pre>
 *
 * <p>{@link Method#RESET_RETRAIN} (the default, {@link ResetRetrain}; {@link Removal#ERASE}): (1)
 * profile the routing of the class's training images and of a sample of retain images ({@link
 * ActivationProfiler}); (2) select, per MoE layer, the experts that carry the class ({@link
 * ExpertSelector}, default {@code coverage(0.9)}); (3) re-initialise them and the head's row of the
 * class, and re-estimate their BatchNorm statistics on retain images; (4) freeze everything outside
 * the {@link Scope} (default {@link Scope#EXPERTS_ROUTER_AND_HEAD}) and retrain the rest on retain
 * images only, with cross-entropy plus distillation from the original model's retain outputs with
 * the forgotten class removed, with Adam at 3e-3, in inference mode (BatchNorm statistics and
 * routing noise off), for {@code epochs} forget passes' worth of steps. Everything outside the scope
 * stays bit-identical. Unlike a suppression, the class does not come back after fine-tuning on
 * retain images alone (docs/RESULTS.md measures how far from Retrain it is under a relearning
 * attack and a linear probe).
 *
 * <p>{@link Method#EXPERT_TARGETED} ({@link ExpertTargeted}; {@link Removal#SUPPRESS}), the fast
 * suppression and the default before reset-and-retrain measured better: the same selection and
 * scope, no reset, trained with a {@link ForgettingLoss} (default contrastive, plus the same
 * distillation) on batches of forget images mixed with as many retain images (half of them drawn
 * from the classes routed through the selected experts, {@link #optRetainFocus}), with Adam at
 * 3e-4. Both methods' defaults were chosen on CIFAR-10's validation split (docs/RESULTS.md).
 *
 * <p>{@link Method#EXACT} deletes a class exactly from a model trained by {@link
 * dev.lethe.unlearn.exact.ExactTraining}: the result is bit for bit that training's model without
 * the class; it refuses, naming the tensors, where the model's provenance ledger does not allow it.
 * Every result states, by the provenance ledgers of the models before and after, which tensors the
 * class's data touched, which were re-derived without it and which still carry it ({@link
 * UnlearningResult#provenance()}).
 *
 * <p>A thin facade: the settings are one immutable {@link UnlearningSettings} value ({@link
 * #settings()}, {@link #withSettings}); each method is a class of {@code dev.lethe.unlearn.method}
 * named by {@link Method}. Immutable: every {@code opt…} returns a copy and checks its value at
 * once. The original model is not modified unless {@link #optInPlace(boolean)} is set; the result
 * holds the new model. Supported blocks: {@link MoeResNet}, or any {@link EmbeddingClassifier} with
 * {@link #optModelFactory(Supplier)}.
 */
public final class Unlearner {

    /** Model property recording the classes a model has forgotten, comma-separated ids. */
    public static final String FORGOTTEN_PROPERTY = "lethe.forgottenClasses";

    private final int forgetClass;
    private final String forgetClassName;
    private final UnlearningSettings settings;
    private final Model model;
    private final LabeledData data;

    private Unlearner(int forgetClass, String forgetClassName, UnlearningSettings settings, Model model, LabeledData data) {
        this.forgetClass = forgetClass;
        this.forgetClassName = forgetClassName;
        this.settings = settings;
        this.model = model;
        this.data = data;
    }

    /**
     * Starts a request to forget a class.
     *
     * @param classId the class id, &gt;= 0 (checked against the data's classes in {@link #using})
     * @return an unlearner with default settings
     */
    public static Unlearner forClass(int classId) {
        Preconditions.checkArgument(classId >= 0, "class id (%s) must be >= 0", classId);
        return new Unlearner(classId, null, UnlearningSettings.defaults(), null, null);
    }

    /**
     * Starts a request to forget a class by name, resolved against the data's class names.
     *
     * @param className the class name
     * @return an unlearner with default settings
     */
    public static Unlearner forClass(String className) {
        Preconditions.checkArgument(className != null && !className.isEmpty(), "class name must not be empty");
        return new Unlearner(-1, className, UnlearningSettings.defaults(), null, null);
    }

    /**
     * @param model the trained model; its block must be an {@link EmbeddingClassifier} and
     *     contain {@link MoeBlock}s for the scopes that retrain experts
     * @return a copy using that model
     */
    public Unlearner from(Model model) {
        Preconditions.checkNotNull(model, "model must not be null");
        Preconditions.checkArgument(model.getBlock() != null, "the model has no block; load or build it first");
        Preconditions.checkArgument(
                model.getBlock() instanceof EmbeddingClassifier,
                "the model's block is a %s; unlearning needs an EmbeddingClassifier (e.g. MoeResNet)",
                model.getBlock().getClass().getSimpleName());
        return new Unlearner(forgetClass, forgetClassName, settings, model, data);
    }

    /**
     * @param trainingData the labelled training data; the forget set is its images of the class,
     *     the retain set all others
     * @return a copy using that data
     * @throws IllegalArgumentException if the class is out of range, unknown, or absent
     */
    public Unlearner using(LabeledData trainingData) {
        Preconditions.checkNotNull(trainingData, "trainingData must not be null");
        int id = forgetClassName != null && forgetClass < 0 ? trainingData.classId(forgetClassName) : forgetClass;
        Preconditions.checkArgument(
                id < trainingData.numClasses(),
                "class id (%s) must be < the number of classes (%s)",
                id,
                trainingData.numClasses());
        String name = trainingData.classNames().get(id);
        Preconditions.checkArgument(
                trainingData.indicesOf(id).length > 0,
                "the training data has no image of class %s (%s): there is nothing to forget",
                id,
                name);
        return new Unlearner(id, name, settings, model, trainingData);
    }

    /**
     * @param settings every setting at once (e.g. from a sweep)
     * @return a copy with those settings
     */
    public Unlearner withSettings(UnlearningSettings settings) {
        Preconditions.checkNotNull(settings, "settings must not be null");
        return new Unlearner(forgetClass, forgetClassName, settings, model, data);
    }

    /** @return the settings */
    public UnlearningSettings settings() {
        return settings;
    }

    /**
     * @param selector how experts are chosen; default {@code ExpertSelector.coverage(0.9)}
     * @return a copy
     */
    public Unlearner optSelector(ExpertSelector selector) {
        return withSettings(settings.withSelector(selector));
    }

    /**
     * @param loss the forgetting loss of the expert-targeted method; default {@code
     *     ForgettingLoss.contrastive().withDistillation(1, 2)}, contrastive with distillation to the
     *     original's retain outputs minus the forgotten class (the baselines use their own)
     * @return a copy
     */
    public Unlearner optLoss(ForgettingLoss loss) {
        return withSettings(settings.withLoss(loss));
    }

    /**
     * @param epochs the method's budget, &gt;= 1; default 2: passes over the forget images (steps of
     *     {@code batchSize} forget images), for {@link Method#FINE_TUNE} passes over the retain set
     * @return a copy
     */
    public Unlearner optEpochs(int epochs) {
        return withSettings(settings.withEpochs(epochs));
    }

    /**
     * @param learningRate Adam learning rate, &gt; 0; default the method's own (3e-3 for {@link
     *     Method#RESET_RETRAIN}, 3e-4 for {@link Method#EXPERT_TARGETED}; each method's class gives
     *     its default)
     * @return a copy
     */
    public Unlearner optLearningRate(float learningRate) {
        return withSettings(settings.withLearningRate(learningRate));
    }

    /**
     * @param scope what the expert methods (reset-and-retrain, expert-targeted) may change; default
     *     {@link Scope#EXPERTS_ROUTER_AND_HEAD} (the baselines always train {@link Scope#ALL})
     * @return a copy
     */
    public Unlearner optScope(Scope scope) {
        return withSettings(settings.withScope(scope));
    }

    /**
     * @param method the method; default {@link Method#RESET_RETRAIN}
     * @return a copy
     */
    public Unlearner method(Method method) {
        return withSettings(settings.withMethod(method));
    }

    /**
     * @param options the options of one method (e.g. {@code SalUn.Options.defaults()
     *     .withFraction(0.3f)}); they apply when that method runs, and are recorded in the audit
     * @return a copy
     */
    public Unlearner optMethodOptions(MethodOptions options) {
        return withSettings(settings.withMethodOptions(options));
    }

    /**
     * @param seed seed of sampling, random labels and (for Retrain) initialisation and data order;
     *     default 0
     * @return a copy
     */
    public Unlearner optSeed(long seed) {
        return withSettings(settings.withSeed(seed));
    }

    /**
     * @param batchSize forget images per step, &gt;= 2; default 64
     * @return a copy
     */
    public Unlearner optBatchSize(int batchSize) {
        return withSettings(settings.withBatchSize(batchSize));
    }

    /**
     * @param ratio retain images per forget image in each step, &gt;= 0; default 1
     * @return a copy
     */
    public Unlearner optRetainRatio(float ratio) {
        return withSettings(settings.withRetainRatio(ratio));
    }

    /**
     * Focuses the retain images of each step on the classes that route through the selected
     * experts. Retain classes are drawn with probability {@code (1 - focus) * n_c / n + focus *
     * x_c / sum(x)}, where {@code x_c} is class c's share of gate mass on the selected experts
     * (mean over the MoE layers, from the profile): the classes whose features the edit can damage
     * are rehearsed most ({@link dev.lethe.unlearn.profile.RetainSampler}). Only for {@link
     * Method#EXPERT_TARGETED} with a scope that retrains experts.
     *
     * @param focus in [0, 1]; default 0.5 (0 = uniform over retain images)
     * @return a copy
     */
    public Unlearner optRetainFocus(float focus) {
        return withSettings(settings.withRetainFocus(focus));
    }

    /**
     * @param images retain images profiled beside the forget images (for the collateral of the
     *     selection), &gt;= 0; default 2000
     * @return a copy
     */
    public Unlearner optProfileRetainSample(int images) {
        return withSettings(settings.withProfileRetainSample(images));
    }

    /**
     * Anchors the router: adds {@code weight * mean_layers mean_retain sum_e (p_e - p0_e)^2}, the
     * squared change of the router probabilities on retain images against the original model, so
     * that the router cannot "forget" by rerouting everything (SEUF/UOE, ACL 2025; {@link
     * dev.lethe.unlearn.loss.RouterAnchorLoss}).
     *
     * @param weight &gt;= 0; default 0 (off)
     * @return a copy
     */
    public Unlearner optRouterAnchor(float weight) {
        return withSettings(settings.withRouterAnchor(weight));
    }

    /**
     * @param inPlace true to modify the given model itself (it is restored if the run fails);
     *     default false (the result holds a model of its own)
     * @return a copy
     */
    public Unlearner optInPlace(boolean inPlace) {
        return withSettings(settings.withInPlace(inPlace));
    }

    /**
     * @param recipe the training recipe of {@link Method#RETRAIN}; default the recipe the model
     *     records ({@link TrainingRecipe#of}); a model that records none needs this
     * @return a copy
     */
    public Unlearner optRetrainRecipe(TrainingRecipe recipe) {
        return withSettings(settings.withRetrainRecipe(recipe));
    }

    /**
     * @param factory builds a fresh, uninitialised block of the model's architecture; needed to copy
     *     models whose block is not a {@link MoeResNet} ({@link Models})
     * @return a copy
     */
    public Unlearner optModelFactory(Supplier<Block> factory) {
        return withSettings(settings.withModelFactory(factory));
    }

    /**
     * @param listeners DJL training listeners added to the unlearning trainer
     * @return a copy
     */
    public Unlearner optListeners(TrainingListener... listeners) {
        return withSettings(settings.withListeners(Arrays.asList(listeners)));
    }

    /**
     * @param progress receives progress lines (about 10 per run); default none
     * @return a copy
     */
    public Unlearner optProgress(Consumer<String> progress) {
        return withSettings(settings.withProgress(progress));
    }

    /**
     * @return the configuration as JSON (recorded in the audit): {@code forgetClass}, then {@link
     *     UnlearningSettings#toJson()}
     */
    public JsonObject configuration() {
        JsonObject o = new JsonObject();
        o.addProperty("forgetClass", forgetClass);
        for (Map.Entry<String, com.google.gson.JsonElement> e : settings.toJson().entrySet()) {
            o.add(e.getKey(), e.getValue());
        }
        return o;
    }

    /**
     * Runs the request.
     *
     * @return the result with the new model
     * @throws IllegalStateException if {@link #from} or {@link #using} was not called, if the
     *     scope retrains experts and the model has no MoeBlock, if Retrain finds no recipe, or if
     *     the loss diverges (the original model is left intact)
     * @throws IOException if data cannot be read
     */
    public UnlearningResult retrain() throws IOException {
        Preconditions.checkState(model != null, "call from(model) before retrain()");
        Preconditions.checkState(data != null, "call using(trainingData) before retrain()");
        return UnlearningRun.run(model, data, forgetClass, forgetClassName, settings, configuration());
    }

    /**
     * @param model a model
     * @return the classes it records as forgotten (the {@link #FORGOTTEN_PROPERTY} property)
     */
    public static List<Integer> forgottenClasses(Model model) {
        String p = model.getProperty(FORGOTTEN_PROPERTY);
        List<Integer> out = new ArrayList<>();
        if (p == null || p.isBlank()) {
            return out;
        }
        for (String s : p.split(",")) {
            out.add(Integer.parseInt(s.trim()));
        }
        return out;
    }
}
