package dev.lethe.unlearn;

import ai.djl.nn.Block;
import ai.djl.training.listener.TrainingListener;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.method.MethodOptions;
import dev.lethe.unlearn.method.UnlearningMethod;
import dev.lethe.unlearn.profile.ExpertSelector;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * How to unlearn: every setting of an {@link Unlearner} run, as one immutable value. Each {@code
 * with…} returns a copy and checks the new value at once (an invalid value never exists in a
 * settings object), with a message naming the setting, the value and the rule.
 *
 * <p>Some settings have no value until set, and then take the method's own default ({@link
 * #scope()}, {@link #loss()}, {@link #learningRate()}, {@link #retrainRecipe()}): e.g. the scope of
 * {@link Method#EXPERT_TARGETED} defaults to {@link Scope#EXPERTS_ROUTER_AND_HEAD} and its learning
 * rate to 3e-4, while the baselines always train {@link Scope#ALL}. {@link #toJson()} records the
 * values that take effect, for the audit record.
 *
 * <p>Like DJL's {@code TrainingConfig}, the settings also hold what observes a run or builds its
 * copies (listeners, progress, model factory); they do not change the result and are not in the
 * JSON.
 */
public final class UnlearningSettings implements Cloneable {

    private static final UnlearningSettings DEFAULTS = new UnlearningSettings();

    private Method method = Method.RESET_RETRAIN;
    private Scope scope;
    private ExpertSelector selector = ExpertSelector.coverage(0.9);
    private ForgettingLoss loss;
    private int epochs = 2;
    private Float learningRate;
    private long seed;
    private int batchSize = 64;
    private float retainRatio = 1f;
    private float retainFocus = 0.5f;
    private int profileRetainSample = 2000;
    private float routerAnchor;
    private boolean inPlace;
    private TrainingRecipe retrainRecipe;
    private Supplier<Block> modelFactory;
    private List<TrainingListener> listeners = List.of();
    private Consumer<String> progress;
    private Map<Method, MethodOptions> methodOptions = Map.of();

    private UnlearningSettings() {}

    /** @return the default settings (see each setting for its default) */
    public static UnlearningSettings defaults() {
        return DEFAULTS;
    }

    /** @return the method; default {@link Method#RESET_RETRAIN} */
    public Method method() {
        return method;
    }

    /** @return the method's strategy ({@code method().strategy()}) */
    public UnlearningMethod strategy() {
        return method.strategy();
    }

    /**
     * @return the scope if set; unset, the method's default ({@link #effectiveScope()})
     */
    public Optional<Scope> scope() {
        return Optional.ofNullable(scope);
    }

    /** @return the scope the method trains with these settings */
    public Scope effectiveScope() {
        return method.strategy().scope(this);
    }

    /** @return how experts are chosen; default {@code ExpertSelector.coverage(0.9)} */
    public ExpertSelector selector() {
        return selector;
    }

    /**
     * @return the forgetting loss if set; unset, the method's own ({@code contrastive()
     *     .withDistillation(1, 2)} for the expert-targeted method; the baselines always use theirs)
     */
    public Optional<ForgettingLoss> loss() {
        return Optional.ofNullable(loss);
    }

    /**
     * @return the method's budget; default 2: passes over the forget images for most methods, over
     *     the retain set for {@link Method#FINE_TUNE} (each method's class says which)
     */
    public int epochs() {
        return epochs;
    }

    /** @return the learning rate if set; unset, the method's default */
    public Optional<Float> learningRate() {
        return Optional.ofNullable(learningRate);
    }

    /** @return the seed of sampling, random labels and (Retrain) initialisation and data order; default 0 */
    public long seed() {
        return seed;
    }

    /** @return forget images per step; default 64 */
    public int batchSize() {
        return batchSize;
    }

    /** @return retain images per forget image in each step; default 1 */
    public float retainRatio() {
        return retainRatio;
    }

    /** @return the focus of retain sampling on the exposed classes, in [0, 1]; default 0.5 */
    public float retainFocus() {
        return retainFocus;
    }

    /** @return retain images profiled beside the forget images; default 2000 */
    public int profileRetainSample() {
        return profileRetainSample;
    }

    /** @return the router anchor's weight; default 0 (off) */
    public float routerAnchor() {
        return routerAnchor;
    }

    /** @return whether the given model itself is modified; default false */
    public boolean inPlace() {
        return inPlace;
    }

    /**
     * @return the Retrain oracle's recipe if set; unset, the recipe the model records ({@link
     *     TrainingRecipe#of})
     */
    public Optional<TrainingRecipe> retrainRecipe() {
        return Optional.ofNullable(retrainRecipe);
    }

    /** @return the factory of blocks of the model's architecture, if set (needed for non-MoeResNet blocks) */
    public Optional<Supplier<Block>> modelFactory() {
        return Optional.ofNullable(modelFactory);
    }

    /** @return DJL listeners added to the unlearning trainer; default none */
    public List<TrainingListener> listeners() {
        return listeners;
    }

    /** @return the receiver of progress lines, if set */
    public Optional<Consumer<String>> progress() {
        return Optional.ofNullable(progress);
    }

    /**
     * @param method a method
     * @return the options set for it, if any (unset, the method uses its defaults)
     */
    public Optional<MethodOptions> methodOptions(Method method) {
        return Optional.ofNullable(methodOptions.get(method));
    }

    /**
     * @param method the method
     * @return a copy
     */
    public UnlearningSettings withMethod(Method method) {
        Preconditions.checkNotNull(method, "method must not be null");
        return with(s -> s.method = method);
    }

    /**
     * @param scope what the expert-targeted method may change (the baselines always train all)
     * @return a copy
     */
    public UnlearningSettings withScope(Scope scope) {
        Preconditions.checkNotNull(scope, "scope must not be null");
        return with(s -> s.scope = scope);
    }

    /**
     * @param selector how experts are chosen
     * @return a copy
     */
    public UnlearningSettings withSelector(ExpertSelector selector) {
        Preconditions.checkNotNull(selector, "selector must not be null");
        return with(s -> s.selector = selector);
    }

    /**
     * @param loss the forgetting loss of the expert-targeted method
     * @return a copy
     */
    public UnlearningSettings withLoss(ForgettingLoss loss) {
        Preconditions.checkNotNull(loss, "loss must not be null");
        return with(s -> s.loss = loss);
    }

    /**
     * @param epochs the method's budget, &gt;= 1 (see {@link #epochs()})
     * @return a copy
     */
    public UnlearningSettings withEpochs(int epochs) {
        return with(s -> s.epochs = epochs);
    }

    /**
     * @param learningRate Adam's learning rate, finite and &gt; 0
     * @return a copy
     */
    public UnlearningSettings withLearningRate(float learningRate) {
        return with(s -> s.learningRate = learningRate);
    }

    /**
     * @param seed the seed
     * @return a copy
     */
    public UnlearningSettings withSeed(long seed) {
        return with(s -> s.seed = seed);
    }

    /**
     * @param batchSize forget images per step, &gt;= 2
     * @return a copy
     */
    public UnlearningSettings withBatchSize(int batchSize) {
        return with(s -> s.batchSize = batchSize);
    }

    /**
     * @param retainRatio retain images per forget image, finite and &gt;= 0
     * @return a copy
     */
    public UnlearningSettings withRetainRatio(float retainRatio) {
        return with(s -> s.retainRatio = retainRatio);
    }

    /**
     * @param retainFocus in [0, 1]
     * @return a copy
     */
    public UnlearningSettings withRetainFocus(float retainFocus) {
        return with(s -> s.retainFocus = retainFocus);
    }

    /**
     * @param images retain images profiled, &gt;= 0
     * @return a copy
     */
    public UnlearningSettings withProfileRetainSample(int images) {
        return with(s -> s.profileRetainSample = images);
    }

    /**
     * @param weight the router anchor's weight, finite and &gt;= 0
     * @return a copy
     */
    public UnlearningSettings withRouterAnchor(float weight) {
        return with(s -> s.routerAnchor = weight);
    }

    /**
     * @param inPlace whether to modify the given model itself
     * @return a copy
     */
    public UnlearningSettings withInPlace(boolean inPlace) {
        return with(s -> s.inPlace = inPlace);
    }

    /**
     * @param recipe the Retrain oracle's recipe
     * @return a copy
     */
    public UnlearningSettings withRetrainRecipe(TrainingRecipe recipe) {
        Preconditions.checkNotNull(recipe, "recipe must not be null");
        return with(s -> s.retrainRecipe = recipe);
    }

    /**
     * @param factory builds a new, uninitialised block of the model's architecture
     * @return a copy
     */
    public UnlearningSettings withModelFactory(Supplier<Block> factory) {
        Preconditions.checkNotNull(factory, "factory must not be null");
        return with(s -> s.modelFactory = factory);
    }

    /**
     * @param listeners DJL listeners added to the unlearning trainer
     * @return a copy
     */
    public UnlearningSettings withListeners(List<TrainingListener> listeners) {
        Preconditions.checkNotNull(listeners, "listeners must not be null");
        List<TrainingListener> copy = ImmutableList.copyOf(listeners);
        return with(s -> s.listeners = copy);
    }

    /**
     * @param progress receives progress lines
     * @return a copy
     */
    public UnlearningSettings withProgress(Consumer<String> progress) {
        Preconditions.checkNotNull(progress, "progress must not be null");
        return with(s -> s.progress = progress);
    }

    /**
     * Sets the options of one method (replacing earlier options for that method); they apply when
     * that method runs.
     *
     * @param options the options, e.g. {@code SalUn.Options.defaults().withFraction(0.3f)}
     * @return a copy
     */
    public UnlearningSettings withMethodOptions(MethodOptions options) {
        Preconditions.checkNotNull(options, "options must not be null");
        Preconditions.checkNotNull(options.method(), "options.method() must not be null");
        Map<Method, MethodOptions> copy = new EnumMap<>(Method.class);
        copy.putAll(methodOptions);
        copy.put(options.method(), options);
        Map<Method, MethodOptions> frozen = java.util.Collections.unmodifiableMap(copy);
        return with(s -> s.methodOptions = frozen);
    }

    /**
     * The settings that take effect, as JSON: the method, its effective scope, loss and learning
     * rate and options (from its strategy), the selector and every numeric setting, and the Retrain recipe if
     * set. Listeners, progress and model factory are left out.
     *
     * @return the JSON
     */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("method", method.name());
        method.strategy().describe(this, o);
        o.addProperty("selector", selector.toString());
        o.addProperty("epochs", epochs);
        o.addProperty("batchSize", batchSize);
        o.addProperty("retainRatio", retainRatio);
        o.addProperty("retainFocus", retainFocus);
        o.addProperty("profileRetainSample", profileRetainSample);
        o.addProperty("routerAnchor", routerAnchor);
        o.addProperty("seed", seed);
        o.addProperty("inPlace", inPlace);
        if (retrainRecipe != null) {
            o.addProperty("retrainRecipe", retrainRecipe.toJson());
        }
        return o;
    }

    /** Equal when the {@link #toJson() JSON} is (listeners, progress and factory are not compared). */
    @Override
    public boolean equals(Object o) {
        return o instanceof UnlearningSettings && toJson().equals(((UnlearningSettings) o).toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        return new GsonBuilder().setPrettyPrinting().create().toJson(toJson());
    }

    private UnlearningSettings with(Consumer<UnlearningSettings> change) {
        UnlearningSettings copy;
        try {
            copy = (UnlearningSettings) clone();
        } catch (CloneNotSupportedException e) {
            throw new AssertionError(e);
        }
        change.accept(copy);
        copy.validate();
        return copy;
    }

    /** The rules of every setting, checked whenever one changes. */
    private void validate() {
        Preconditions.checkArgument(epochs >= 1, "epochs (%s) must be >= 1", epochs);
        Preconditions.checkArgument(
                learningRate == null || (learningRate > 0 && Float.isFinite(learningRate)),
                "learningRate (%s) must be finite and > 0",
                learningRate);
        Preconditions.checkArgument(batchSize >= 2, "batchSize (%s) must be >= 2", batchSize);
        Preconditions.checkArgument(
                retainRatio >= 0 && Float.isFinite(retainRatio), "retainRatio (%s) must be finite and >= 0", retainRatio);
        Preconditions.checkArgument(
                retainFocus >= 0 && retainFocus <= 1, "retainFocus (%s) must be in [0, 1]", retainFocus);
        Preconditions.checkArgument(
                profileRetainSample >= 0, "profileRetainSample (%s) must be >= 0", profileRetainSample);
        Preconditions.checkArgument(
                routerAnchor >= 0 && Float.isFinite(routerAnchor), "routerAnchor (%s) must be finite and >= 0", routerAnchor);
    }
}
