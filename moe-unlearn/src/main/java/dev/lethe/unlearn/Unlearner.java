package dev.lethe.unlearn;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Block;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.listener.TrainingListener;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import ai.djl.translate.TranslateException;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.gson.JsonObject;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.routing.Routing;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.profile.ActivationProfile;
import dev.lethe.unlearn.profile.ActivationProfiler;
import dev.lethe.unlearn.profile.ExpertSelection;
import dev.lethe.unlearn.profile.ExpertSelector;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Makes a model forget a class by retraining only the experts its images are routed to — or runs
 * one of the standard baselines through the same API.
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
 * <p>{@link Method#EXPERT_TARGETED} (the default): (1) profile the routing of the class's training
 * images and of a sample of retain images ({@link ActivationProfiler}); (2) select, per MoE layer,
 * the experts that carry the class ({@link ExpertSelector}, default {@code coverage(0.9)}); (3)
 * freeze everything outside the {@link Scope} (default {@link Scope#EXPERTS_AND_ROUTER}); (4) train
 * with a {@link ForgettingLoss} (default contrastive, plus distillation to the original model's
 * retain outputs with the forgotten class removed) on batches of forget images mixed with as many
 * retain images (half of them drawn from the classes routed through the selected experts, {@link
 * #optRetainFocus}), with Adam at 3e-4, in inference mode (BatchNorm statistics and routing noise
 * off), for {@code epochs} passes over the forget images. Everything outside the scope stays
 * bit-identical. These defaults were chosen on CIFAR-10's validation split (docs/RESULTS.md).
 *
 * <p>Immutable: every {@code opt…} returns a copy. The original model is not modified unless {@link
 * #optInPlace(boolean)} is set; the result holds the new model. Supported blocks: {@link MoeResNet},
 * or any {@link EmbeddingClassifier} with {@link #optModelFactory(Supplier)}.
 */
public final class Unlearner {

    /** Model property recording the classes a model has forgotten, comma-separated ids. */
    public static final String FORGOTTEN_PROPERTY = "lethe.forgottenClasses";

    private final int forgetClass;
    private final String forgetClassName;
    private final Model model;
    private final LabeledData data;
    private final ExpertSelector selector;
    private final ForgettingLoss loss;
    private final int epochs;
    private final Float learningRate;
    private final Scope scope;
    private final Method method;
    private final long seed;
    private final int batchSize;
    private final float retainRatio;
    private final float retainFocus;
    private final int profileRetainSample;
    private final float routerAnchor;
    private final boolean inPlace;
    private final TrainingRecipe retrainRecipe;
    private final Supplier<Block> modelFactory;
    private final List<TrainingListener> listeners;
    private final Consumer<String> progress;

    private Unlearner(Builder b) {
        forgetClass = b.forgetClass;
        forgetClassName = b.forgetClassName;
        model = b.model;
        data = b.data;
        selector = b.selector;
        loss = b.loss;
        epochs = b.epochs;
        learningRate = b.learningRate;
        scope = b.scope;
        method = b.method;
        seed = b.seed;
        batchSize = b.batchSize;
        retainRatio = b.retainRatio;
        retainFocus = b.retainFocus;
        profileRetainSample = b.profileRetainSample;
        routerAnchor = b.routerAnchor;
        inPlace = b.inPlace;
        retrainRecipe = b.retrainRecipe;
        modelFactory = b.modelFactory;
        listeners = ImmutableList.copyOf(b.listeners);
        progress = b.progress;
    }

    /**
     * Starts a request to forget a class.
     *
     * @param classId the class id, &gt;= 0 (checked against the data's classes in {@link #using})
     * @return an unlearner with default settings
     */
    public static Unlearner forClass(int classId) {
        Preconditions.checkArgument(classId >= 0, "class id (%s) must be >= 0", classId);
        Builder b = new Builder();
        b.forgetClass = classId;
        return new Unlearner(b);
    }

    /**
     * Starts a request to forget a class by name, resolved against the data's class names.
     *
     * @param className the class name
     * @return an unlearner with default settings
     */
    public static Unlearner forClass(String className) {
        Preconditions.checkArgument(
                className != null && !className.isEmpty(), "class name must not be empty");
        Builder b = new Builder();
        b.forgetClassName = className;
        return new Unlearner(b);
    }

    /**
     * @param model the trained model; its block must contain {@link MoeBlock}s for {@link
     *     Method#EXPERT_TARGETED} and be an {@link EmbeddingClassifier}
     * @return a copy using that model
     */
    public Unlearner from(Model model) {
        Preconditions.checkNotNull(model, "model must not be null");
        Preconditions.checkArgument(
                model.getBlock() != null, "the model has no block; load or build it first");
        Preconditions.checkArgument(
                model.getBlock() instanceof EmbeddingClassifier,
                "the model's block is a %s; unlearning needs an EmbeddingClassifier (e.g. MoeResNet)",
                model.getBlock().getClass().getSimpleName());
        Builder b = toBuilder();
        b.model = model;
        return new Unlearner(b);
    }

    /**
     * @param trainingData the labelled training data; the forget set is its images of the class,
     *     the retain set all others
     * @return a copy using that data
     * @throws IllegalArgumentException if the class is out of range, unknown, or absent
     */
    public Unlearner using(LabeledData trainingData) {
        Preconditions.checkNotNull(trainingData, "trainingData must not be null");
        Builder b = toBuilder();
        b.data = trainingData;
        if (b.forgetClassName != null) {
            b.forgetClass = trainingData.classId(b.forgetClassName);
        }
        Preconditions.checkArgument(
                b.forgetClass < trainingData.numClasses(),
                "class id (%s) must be < the number of classes (%s)",
                b.forgetClass,
                trainingData.numClasses());
        b.forgetClassName = trainingData.classNames().get(b.forgetClass);
        Preconditions.checkArgument(
                trainingData.indicesOf(b.forgetClass).length > 0,
                "the training data has no image of class %s (%s): there is nothing to forget",
                b.forgetClass,
                b.forgetClassName);
        return new Unlearner(b);
    }

    /**
     * @param selector how experts are chosen; default {@code ExpertSelector.coverage(0.9)}
     * @return a copy
     */
    public Unlearner optSelector(ExpertSelector selector) {
        Builder b = toBuilder();
        b.selector = Preconditions.checkNotNull(selector, "selector must not be null");
        return new Unlearner(b);
    }

    /**
     * @param loss the forgetting loss; default {@code ForgettingLoss.contrastive().withDistillation(1,
     *     2)}, contrastive with distillation to the original's retain outputs minus the forgotten
     *     class (the baselines
     *     use their own)
     * @return a copy
     */
    public Unlearner optLoss(ForgettingLoss loss) {
        Builder b = toBuilder();
        b.loss = Preconditions.checkNotNull(loss, "loss must not be null");
        return new Unlearner(b);
    }

    /**
     * @param epochs passes over the forget images, &gt;= 1; default 2
     * @return a copy
     */
    public Unlearner optEpochs(int epochs) {
        Preconditions.checkArgument(epochs >= 1, "epochs (%s) must be >= 1", epochs);
        Builder b = toBuilder();
        b.epochs = epochs;
        return new Unlearner(b);
    }

    /**
     * @param learningRate Adam learning rate, &gt; 0; default 3e-4 for {@link
     *     Method#EXPERT_TARGETED}, 1e-3 for fine-tuning and random labels, 1e-4 for gradient ascent
     * @return a copy
     */
    public Unlearner optLearningRate(float learningRate) {
        Preconditions.checkArgument(
                learningRate > 0 && Float.isFinite(learningRate),
                "learningRate (%s) must be finite and > 0",
                learningRate);
        Builder b = toBuilder();
        b.learningRate = learningRate;
        return new Unlearner(b);
    }

    /**
     * @param scope what may change; default {@link Scope#EXPERTS_AND_ROUTER}
     * @return a copy
     */
    public Unlearner optScope(Scope scope) {
        Builder b = toBuilder();
        b.scope = Preconditions.checkNotNull(scope, "scope must not be null");
        return new Unlearner(b);
    }

    /**
     * @param method the method; default {@link Method#EXPERT_TARGETED}
     * @return a copy
     */
    public Unlearner method(Method method) {
        Builder b = toBuilder();
        b.method = Preconditions.checkNotNull(method, "method must not be null");
        return new Unlearner(b);
    }

    /**
     * @param seed seed of sampling, random labels and (for Retrain) initialisation; default 0
     * @return a copy
     */
    public Unlearner optSeed(long seed) {
        Builder b = toBuilder();
        b.seed = seed;
        return new Unlearner(b);
    }

    /**
     * @param batchSize forget images per step, &gt;= 2; default 64
     * @return a copy
     */
    public Unlearner optBatchSize(int batchSize) {
        Preconditions.checkArgument(batchSize >= 2, "batchSize (%s) must be >= 2", batchSize);
        Builder b = toBuilder();
        b.batchSize = batchSize;
        return new Unlearner(b);
    }

    /**
     * @param ratio retain images per forget image in each step, &gt;= 0; default 1
     * @return a copy
     */
    public Unlearner optRetainRatio(float ratio) {
        Preconditions.checkArgument(ratio >= 0 && Float.isFinite(ratio), "retainRatio (%s) must be finite and >= 0", ratio);
        Builder b = toBuilder();
        b.retainRatio = ratio;
        return new Unlearner(b);
    }

    /**
     * Focuses the retain images of each step on the classes that route through the selected
     * experts. Retain classes are drawn with probability {@code (1 - focus) * n_c / n + focus *
     * x_c / sum(x)}, where {@code x_c} is class c's share of gate mass on the selected experts
     * (mean over the MoE layers, from the profile): the classes whose features the edit can damage
     * are rehearsed most. Only for {@link Method#EXPERT_TARGETED} with a scope that retrains experts.
     *
     * @param focus in [0, 1]; default 0.5 (0 = uniform over retain images)
     * @return a copy
     */
    public Unlearner optRetainFocus(float focus) {
        Preconditions.checkArgument(focus >= 0 && focus <= 1, "retainFocus (%s) must be in [0, 1]", focus);
        Builder b = toBuilder();
        b.retainFocus = focus;
        return new Unlearner(b);
    }

    /**
     * @param images retain images profiled beside the forget images (for the collateral of the
     *     selection), &gt;= 0; default 2000
     * @return a copy
     */
    public Unlearner optProfileRetainSample(int images) {
        Preconditions.checkArgument(images >= 0, "profileRetainSample (%s) must be >= 0", images);
        Builder b = toBuilder();
        b.profileRetainSample = images;
        return new Unlearner(b);
    }

    /**
     * Anchors the router: adds {@code weight * mean_layers mean_retain sum_e (p_e - p0_e)^2}, the
     * squared change of the router probabilities on retain images against the original model, so
     * that the router cannot "forget" by rerouting everything (SEUF/UOE, ACL 2025).
     *
     * @param weight &gt;= 0; default 0 (off)
     * @return a copy
     */
    public Unlearner optRouterAnchor(float weight) {
        Preconditions.checkArgument(weight >= 0 && Float.isFinite(weight), "routerAnchor (%s) must be finite and >= 0", weight);
        Builder b = toBuilder();
        b.routerAnchor = weight;
        return new Unlearner(b);
    }

    /**
     * @param inPlace true to modify the given model itself (it is restored if the run fails);
     *     default false (the result holds a copy)
     * @return a copy
     */
    public Unlearner optInPlace(boolean inPlace) {
        Builder b = toBuilder();
        b.inPlace = inPlace;
        return new Unlearner(b);
    }

    /**
     * @param recipe the training recipe of {@link Method#RETRAIN}; default the plain recipe with
     *     this unlearner's seed
     * @return a copy
     */
    public Unlearner optRetrainRecipe(TrainingRecipe recipe) {
        Builder b = toBuilder();
        b.retrainRecipe = Preconditions.checkNotNull(recipe, "recipe must not be null");
        return new Unlearner(b);
    }

    /**
     * @param factory builds a fresh, uninitialised block of the model's architecture; needed to copy
     *     models whose block is not a {@link MoeResNet}
     * @return a copy
     */
    public Unlearner optModelFactory(Supplier<Block> factory) {
        Builder b = toBuilder();
        b.modelFactory = Preconditions.checkNotNull(factory, "factory must not be null");
        return new Unlearner(b);
    }

    /**
     * @param listeners DJL training listeners added to the unlearning trainer
     * @return a copy
     */
    public Unlearner optListeners(TrainingListener... listeners) {
        Builder b = toBuilder();
        b.listeners = Arrays.asList(listeners);
        return new Unlearner(b);
    }

    /**
     * @param progress receives progress lines (about 10 per run); default none
     * @return a copy
     */
    public Unlearner optProgress(Consumer<String> progress) {
        Builder b = toBuilder();
        b.progress = Preconditions.checkNotNull(progress, "progress must not be null");
        return new Unlearner(b);
    }

    /** @return the configuration as JSON (recorded in the audit) */
    public JsonObject configuration() {
        JsonObject o = new JsonObject();
        o.addProperty("forgetClass", forgetClass);
        o.addProperty("method", method.name());
        o.addProperty("scope", effectiveScope().name());
        o.addProperty("selector", selector.toString());
        o.addProperty("loss", effectiveLoss().describe());
        o.addProperty("epochs", epochs);
        o.addProperty("learningRate", effectiveLearningRate());
        o.addProperty("batchSize", batchSize);
        o.addProperty("retainRatio", retainRatio);
        o.addProperty("retainFocus", retainFocus);
        o.addProperty("profileRetainSample", profileRetainSample);
        o.addProperty("routerAnchor", routerAnchor);
        o.addProperty("seed", seed);
        o.addProperty("inPlace", inPlace);
        if (method == Method.RETRAIN) {
            o.addProperty("retrainRecipe", effectiveRecipe().toJson());
        }
        return o;
    }

    /**
     * Runs the request.
     *
     * @return the result with the new model
     * @throws IllegalStateException if {@link #from} or {@link #using} was not called, if the
     *     model has no MoeBlock (expert-targeted method), or if the loss diverges (the original
     *     model is left intact)
     * @throws IOException if data cannot be read
     */
    public UnlearningResult retrain() throws IOException {
        Preconditions.checkState(model != null, "call from(model) before retrain()");
        Preconditions.checkState(data != null, "call using(trainingData) before retrain()");
        Block original = model.getBlock();
        if (method == Method.EXPERT_TARGETED && effectiveScope().usesExperts()) {
            Preconditions.checkState(
                    !MoeBlocks.find(original).isEmpty(),
                    "the model has no MoeBlock, so there are no experts to retrain; use"
                            + " Scope.HEAD_ONLY or a baseline method");
        }
        List<Integer> forgotten = forgottenClasses(model);
        if (forgotten.contains(forgetClass)) {
            String msg =
                    String.format(
                            Locale.ROOT,
                            "class %d (%s) is already forgotten by this model (%s = %s); nothing done",
                            forgetClass,
                            forgetClassName,
                            FORGOTTEN_PROPERTY,
                            model.getProperty(FORGOTTEN_PROPERTY));
            return new UnlearningResult(
                    UnlearningResult.Status.ALREADY_FORGOTTEN, msg, model, method, effectiveScope(),
                    forgetClass, forgetClassName, forgotten, null, 0, 0, 0, 0,
                    MoeBlocks.countParameters(original), Double.NaN, Double.NaN, null);
        }
        List<Integer> allForgotten = new ArrayList<>(forgotten);
        allForgotten.add(forgetClass);

        long start = System.nanoTime();
        Map<String, String> hashesBefore = AuditRecord.hashes(original);
        if (method == Method.RETRAIN) {
            return retrainFromScratch(start, hashesBefore, allForgotten);
        }
        Model work = inPlace ? model : copyOf(model);
        Map<String, float[]> snapshot = inPlace ? snapshot(original) : null;
        Model teacher = null;
        try {
            if (routerAnchor > 0 || effectiveLoss().needsTeacher()) {
                teacher = inPlace ? copyOf(model) : model;
            }
            return unlearn(work, teacher, start, hashesBefore, allForgotten);
        } catch (RuntimeException | IOException e) {
            if (inPlace) {
                restore(original, snapshot);
            } else {
                work.close();
            }
            throw e;
        } finally {
            if (teacher != null && teacher != model) {
                teacher.close();
            }
        }
    }

    private UnlearningResult unlearn(
            Model work,
            Model teacher,
            long start,
            Map<String, String> hashesBefore,
            List<Integer> allForgotten)
            throws IOException {
        EmbeddingClassifier net = (EmbeddingClassifier) work.getBlock();
        Scope s = effectiveScope();
        int[] forgetIdx = data.indicesOf(forgetClass);
        int[] retainIdx = data.indicesExcept(new java.util.HashSet<>(allForgotten));
        Preconditions.checkState(
                retainIdx.length > 0 || method == Method.GRADIENT_ASCENT,
                "the training data has no retain image (every class is forgotten)");
        SplittableRandom random = new SplittableRandom(seed);

        ExpertSelection selection = null;
        RetainSampler retainSampler = null;
        if (s.usesExperts()) {
            int[] sample = sample(retainIdx, profileRetainSample, random);
            int[] profiled = concat(forgetIdx, sample);
            report("profiling the routing of %d images", profiled.length);
            ActivationProfile profile = ActivationProfiler.profile(work, data, profiled, 256);
            selection = selector.select(profile, forgetClass, net);
            report("%s", selection.toTable().trim());
            if (retainFocus > 0 && method == Method.EXPERT_TARGETED) {
                retainSampler = new RetainSampler(data, retainIdx, exposure(profile, selection), retainFocus);
                report("retain classes drawn with probabilities %s", retainSampler);
            }
        }

        MoeBlocks.setTrainable(net, false);
        applyScope(net, s, selection);
        long trainable = trainableParameters(net);
        Preconditions.checkState(trainable > 0, "nothing is trainable in scope %s", s);

        ForgettingLoss l = effectiveLoss().forClass(forgetClass);
        boolean trainingMode = method != Method.EXPERT_TARGETED;
        float lr = effectiveLearningRate();
        int forgetPerStep = Math.min(batchSize, Math.max(1, forgetIdx.length));
        int retainPerStep = Math.round(forgetPerStep * retainRatio);
        int stepsPerEpoch = (forgetIdx.length + forgetPerStep - 1) / forgetPerStep;
        int totalSteps = stepsPerEpoch * epochs;
        Map<String, MoeBlock> studentLayers = MoeBlocks.find(net);
        Map<String, MoeBlock> teacherLayers = teacher == null ? Map.of() : MoeBlocks.find(teacher.getBlock());

        double firstLoss = Double.NaN;
        double lastLoss = Double.NaN;
        long images = 0;
        int step = 0;
        try (Model viewModel = Model.newInstance("lethe-unlearning")) {
            viewModel.setBlock(new UnlearningView(net, trainingMode));
            DefaultTrainingConfig config =
                    new DefaultTrainingConfig(l)
                            .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(lr)).build());
            for (TrainingListener listener : listeners) {
                config.addTrainingListeners(listener);
            }
            try (Trainer trainer = viewModel.newTrainer(config)) {
                for (int epoch = 0; epoch < epochs; epoch++) {
                    int[] order = shuffled(forgetIdx, random);
                    for (int k = 0; k < stepsPerEpoch; k++) {
                        int[] f = Arrays.copyOfRange(order, k * forgetPerStep, Math.min(order.length, (k + 1) * forgetPerStep));
                        int nRetain = method == Method.FINE_TUNE ? f.length + retainPerStep : retainPerStep;
                        int[] r = retainSampler != null ? retainSampler.draw(nRetain, random) : sample(retainIdx, nRetain, random);
                        int[] items;
                        int nForget;
                        if (method == Method.FINE_TUNE) {
                            items = r;
                            nForget = 0;
                        } else if (method == Method.GRADIENT_ASCENT) {
                            items = f;
                            nForget = f.length;
                        } else {
                            items = concat(f, r);
                            nForget = f.length;
                        }
                        if (items.length == 0) {
                            continue;
                        }
                        float value = trainStep(trainer, items, nForget, teacher, studentLayers, teacherLayers);
                        if (!Float.isFinite(value)) {
                            throw new IllegalStateException(
                                    String.format(
                                            Locale.ROOT,
                                            "unlearning diverged: the loss is %s at step %d of %d; lower the"
                                                    + " learning rate (%s). The original model is unchanged.",
                                            value, step + 1, totalSteps, lr));
                        }
                        if (step == 0) {
                            firstLoss = value;
                        }
                        lastLoss = value;
                        images += items.length;
                        step++;
                        if (step % Math.max(1, totalSteps / 10) == 0 || step == totalSteps) {
                            report("step %d/%d  loss %.4f", step, totalSteps, value);
                        }
                    }
                    trainer.notifyListeners(listener -> listener.onEpoch(trainer));
                }
            }
        }
        MoeBlocks.setTrainable(net, true);
        double seconds = (System.nanoTime() - start) / 1e9;
        AuditRecord audit = new AuditRecord(hashesBefore, AuditRecord.hashes(net), configuration().toString(), seed);
        work.setProperty(FORGOTTEN_PROPERTY, join(allForgotten));
        String msg =
                String.format(
                        Locale.ROOT,
                        "forgot class %d (%s) with %s in %.1f s%s",
                        forgetClass,
                        forgetClassName,
                        method,
                        seconds,
                        selection != null && !selection.isClassSpecific() ? " — WARNING: " + selection.warning() : "");
        return new UnlearningResult(
                UnlearningResult.Status.DONE, msg, work, method, s, forgetClass, forgetClassName,
                allForgotten, selection, seconds, step, images, trainable,
                MoeBlocks.countParameters(net), firstLoss, lastLoss, audit);
    }

    private float trainStep(
            Trainer trainer,
            int[] items,
            int nForget,
            Model teacher,
            Map<String, MoeBlock> studentLayers,
            Map<String, MoeBlock> teacherLayers)
            throws IOException {
        try (NDManager scope = trainer.getManager().newSubManager();
                Batch batch = data.batch(scope, items)) {
            float[] mask = new float[items.length];
            Arrays.fill(mask, 0, nForget, 1f);
            NDArray maskArray = batch.getManager().create(mask);
            NDList labels = new NDList(batch.getLabels().head(), maskArray);
            NDList teacherOut = null;
            float v;
            if (teacher != null) {
                teacherOut = teacher.getBlock().forward(new ParameterStore(batch.getManager(), false), batch.getData(), false);
            }
            NDList preds;
            try (GradientCollector gc = trainer.newGradientCollector()) {
                preds = trainer.forward(batch.getData());
                if (teacherOut != null) {
                    preds = new NDList(preds.get(0), preds.get(1), teacherOut.head().stopGradient());
                }
                NDArray value = trainer.getLoss().evaluate(labels, preds);
                if (routerAnchor > 0 && teacher != null && nForget < items.length) {
                    value = value.add(routerAnchorTerm(studentLayers, teacherLayers, nForget, items.length, batch.getManager()).mul(routerAnchor));
                }
                v = value.getFloat();
                if (!Float.isFinite(v)) {
                    return v;
                }
                gc.backward(value);
            }
            trainer.step();
            ai.djl.Device device = preds.head().getDevice();
            TrainingListener.BatchData batchData =
                    new TrainingListener.BatchData(
                            batch,
                            Map.of(device, new NDList(batch.getLabels().head())),
                            Map.of(device, new NDList(preds.head())));
            trainer.notifyListeners(listener -> listener.onTrainingBatch(trainer, batchData));
            return v;
        }
    }

    private NDArray routerAnchorTerm(
            Map<String, MoeBlock> student, Map<String, MoeBlock> teacher, int from, int to, NDManager manager) {
        NDArray sum = null;
        long[] rows = new long[to - from];
        for (int i = 0; i < rows.length; i++) {
            rows[i] = from + i;
        }
        ai.djl.ndarray.index.NDIndex index = new ai.djl.ndarray.index.NDIndex("{}", manager.create(rows));
        for (Map.Entry<String, MoeBlock> e : student.entrySet()) {
            Routing s = e.getValue().lastRouting().orElseThrow();
            Routing t = teacher.get(e.getKey()).lastRouting().orElseThrow();
            NDArray d = s.probabilities().get(index).sub(t.probabilities().get(index).stopGradient());
            NDArray term = d.square().sum(new int[] {1}).mean();
            sum = sum == null ? term : sum.add(term);
        }
        return sum.div(student.size());
    }

    /** Per class, the share of its gate mass on the selected experts, averaged over the layers that have some. */
    private double[] exposure(ActivationProfile profile, ExpertSelection selection) {
        double[] x = new double[data.numClasses()];
        int layers = 0;
        for (Map.Entry<String, List<Integer>> e : selection.experts().entrySet()) {
            if (e.getValue().isEmpty()) {
                continue;
            }
            layers++;
            for (int c = 0; c < x.length; c++) {
                double[] share = profile.share(e.getKey(), c);
                for (int expert : e.getValue()) {
                    x[c] += share[expert];
                }
            }
        }
        for (int c = 0; c < x.length; c++) {
            x[c] = layers == 0 || !Double.isFinite(x[c]) ? 0 : x[c] / layers;
        }
        return x;
    }

    /** Draws retain images class by class, with class probabilities mixing size and exposure. */
    private static final class RetainSampler {
        private final int[][] byClass;
        private final double[] probability;

        RetainSampler(LabeledData data, int[] retainIdx, double[] exposure, float focus) {
            int classes = exposure.length;
            int[] counts = new int[classes];
            for (int i : retainIdx) {
                counts[data.label(i)]++;
            }
            byClass = new int[classes][];
            for (int c = 0; c < classes; c++) {
                byClass[c] = new int[counts[c]];
            }
            int[] fill = new int[classes];
            for (int i : retainIdx) {
                int c = data.label(i);
                byClass[c][fill[c]++] = i;
            }
            double exposed = 0;
            for (int c = 0; c < classes; c++) {
                exposed += counts[c] > 0 ? exposure[c] : 0;
            }
            probability = new double[classes];
            for (int c = 0; c < classes; c++) {
                if (counts[c] == 0) {
                    continue;
                }
                double bySize = (double) counts[c] / retainIdx.length;
                // with no exposure at all (nothing selected) the draw falls back to class sizes
                double byExposure = exposed > 0 ? exposure[c] / exposed : bySize;
                probability[c] = (1 - focus) * bySize + focus * byExposure;
            }
        }

        int[] draw(int n, SplittableRandom random) {
            int[] out = new int[n];
            for (int i = 0; i < n; i++) {
                double u = random.nextDouble();
                int c = 0;
                while (c < probability.length - 1 && u >= probability[c]) {
                    u -= probability[c];
                    c++;
                }
                while (byClass[c].length == 0) {
                    c--; // rounding ran past the last non-empty class
                }
                out[i] = byClass[c][random.nextInt(byClass[c].length)];
            }
            return out;
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder("[");
            for (int c = 0; c < probability.length; c++) {
                sb.append(c == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.3f", probability[c]));
            }
            return sb.append(']').toString();
        }
    }

    private UnlearningResult retrainFromScratch(
            long start, Map<String, String> hashesBefore, List<Integer> allForgotten) throws IOException {
        TrainingRecipe recipe = effectiveRecipe();
        int[] retainIdx = data.indicesExcept(new java.util.HashSet<>(allForgotten));
        Engine.getInstance().setRandomSeed((int) seed);
        Model fresh = freshModel(model);
        try {
            report("retraining from scratch on %d retain images: %s", retainIdx.length, recipe);
            MoeTraining.fit(
                    fresh,
                    data.view(retainIdx, recipe.batchSize(), true),
                    null,
                    recipe,
                    progress == null ? TrainingProgress.silent() : new TrainingProgress() {
                        @Override
                        public void onEpoch(dev.lethe.moe.train.EpochResult result) {
                            progress.accept(result.toString());
                        }
                    });
        } catch (TranslateException e) {
            fresh.close();
            throw new IOException("cannot read the retain data: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            fresh.close();
            throw e;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        fresh.setProperty(FORGOTTEN_PROPERTY, join(allForgotten));
        long total = MoeBlocks.countParameters(fresh.getBlock());
        AuditRecord audit = new AuditRecord(hashesBefore, AuditRecord.hashes(fresh.getBlock()), configuration().toString(), seed);
        String msg = String.format(Locale.ROOT, "retrained from scratch without class %d (%s) in %.1f s", forgetClass, forgetClassName, seconds);
        return new UnlearningResult(
                UnlearningResult.Status.DONE, msg, fresh, Method.RETRAIN, Scope.ALL, forgetClass, forgetClassName,
                allForgotten, null, seconds, recipe.epochs() * ((retainIdx.length + recipe.batchSize() - 1) / recipe.batchSize()),
                (long) retainIdx.length * recipe.epochs(), total, total, Double.NaN, Double.NaN, audit);
    }

    private void applyScope(EmbeddingClassifier net, Scope s, ExpertSelection selection) {
        if (s == Scope.ALL) {
            MoeBlocks.setTrainable(net, true);
            return;
        }
        if (s.includesHead()) {
            MoeBlocks.setTrainable(net.classifier(), true);
        }
        if (selection != null) {
            Map<String, MoeBlock> layers = MoeBlocks.find(net);
            for (Map.Entry<String, List<Integer>> e : selection.experts().entrySet()) {
                MoeBlock layer = layers.get(e.getKey());
                for (int expert : e.getValue()) {
                    layer.freezeExpert(expert, false);
                }
                if (s.includesRouter() && !e.getValue().isEmpty()) {
                    layer.freezeRouter(false);
                }
            }
        }
    }

    private Scope effectiveScope() {
        // the baselines (and Retrain) always train every parameter
        return method == Method.EXPERT_TARGETED ? scope : Scope.ALL;
    }

    private ForgettingLoss effectiveLoss() {
        switch (method) {
            case FINE_TUNE:
                return ForgettingLoss.retainOnly();
            case GRADIENT_ASCENT:
                return ForgettingLoss.gradientAscent();
            case RANDOM_LABELS:
                return ForgettingLoss.randomLabels(seed);
            default:
                return loss;
        }
    }

    private float effectiveLearningRate() {
        if (learningRate != null) {
            return learningRate;
        }
        switch (method) {
            case GRADIENT_ASCENT:
                return 1e-4f;
            case EXPERT_TARGETED:
                return 3e-4f;
            default:
                return 1e-3f;
        }
    }

    private TrainingRecipe effectiveRecipe() {
        return retrainRecipe != null ? retrainRecipe : TrainingRecipe.builder().optSeed(seed).build();
    }

    private void report(String format, Object... args) {
        if (progress != null) {
            progress.accept(String.format(Locale.ROOT, format, args));
        }
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

    private static String join(List<Integer> ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : new LinkedHashSet<>(ids)) {
            if (sb.length() > 0) {
                sb.append(',');
            }
            sb.append(id);
        }
        return sb.toString();
    }

    private Model freshModel(Model source) {
        Block block;
        if (modelFactory != null) {
            block = modelFactory.get();
        } else {
            Preconditions.checkState(
                    source.getBlock() instanceof MoeResNet,
                    "cannot copy a %s: pass optModelFactory(...) that builds this architecture",
                    source.getBlock().getClass().getSimpleName());
            block = MoeResNet.of(((MoeResNet) source.getBlock()).config());
        }
        Model m = Model.newInstance(source.getName());
        m.setBlock(block);
        block.initialize(m.getNDManager(), ai.djl.ndarray.types.DataType.FLOAT32, source.getBlock().getInputShapes());
        return m;
    }

    private Model copyOf(Model source) throws IOException {
        Model copy = freshModel(source);
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            source.getBlock().saveParameters(new DataOutputStream(bytes));
            copy.getBlock().loadParameters(copy.getNDManager(), new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
        } catch (ai.djl.MalformedModelException | RuntimeException e) {
            copy.close();
            throw new IOException("cannot copy the model: " + e.getMessage(), e);
        }
        for (Map.Entry<String, String> p : source.getProperties().entrySet()) {
            copy.setProperty(p.getKey(), p.getValue());
        }
        return copy;
    }

    private static Map<String, float[]> snapshot(Block block) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        for (ai.djl.util.Pair<String, ai.djl.nn.Parameter> p : block.getParameters()) {
            out.put(p.getKey(), p.getValue().getArray().toFloatArray());
        }
        return out;
    }

    private static void restore(Block block, Map<String, float[]> snapshot) {
        for (ai.djl.util.Pair<String, ai.djl.nn.Parameter> p : block.getParameters()) {
            p.getValue().getArray().set(snapshot.get(p.getKey()));
        }
        MoeBlocks.setTrainable(block, true);
    }

    private static long trainableParameters(Block block) {
        long n = 0;
        for (ai.djl.util.Pair<String, ai.djl.nn.Parameter> p : block.getParameters()) {
            if (p.getValue().requiresGradient()) {
                n += p.getValue().getArray().getShape().size();
            }
        }
        return n;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static int[] sample(int[] from, int n, SplittableRandom random) {
        if (n >= from.length) {
            return shuffled(from, random);
        }
        int[] copy = from.clone();
        for (int i = 0; i < n; i++) {
            int j = i + random.nextInt(copy.length - i);
            int t = copy[i];
            copy[i] = copy[j];
            copy[j] = t;
        }
        return Arrays.copyOf(copy, n);
    }

    private static int[] shuffled(int[] from, SplittableRandom random) {
        int[] copy = from.clone();
        for (int i = copy.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = copy[i];
            copy[i] = copy[j];
            copy[j] = t;
        }
        return copy;
    }

    private Builder toBuilder() {
        Builder b = new Builder();
        b.forgetClass = forgetClass;
        b.forgetClassName = forgetClassName;
        b.model = model;
        b.data = data;
        b.selector = selector;
        b.loss = loss;
        b.epochs = epochs;
        b.learningRate = learningRate;
        b.scope = scope;
        b.method = method;
        b.seed = seed;
        b.batchSize = batchSize;
        b.retainRatio = retainRatio;
        b.retainFocus = retainFocus;
        b.profileRetainSample = profileRetainSample;
        b.routerAnchor = routerAnchor;
        b.inPlace = inPlace;
        b.retrainRecipe = retrainRecipe;
        b.modelFactory = modelFactory;
        b.listeners = listeners;
        b.progress = progress;
        return b;
    }

    /** Mutable state of a copy in progress; never exposed. */
    private static final class Builder {
        int forgetClass;
        String forgetClassName;
        Model model;
        LabeledData data;
        ExpertSelector selector = ExpertSelector.coverage(0.9);
        ForgettingLoss loss = ForgettingLoss.contrastive().withDistillation(1f, 2f);
        int epochs = 2;
        Float learningRate;
        Scope scope = Scope.EXPERTS_AND_ROUTER;
        Method method = Method.EXPERT_TARGETED;
        long seed;
        int batchSize = 64;
        float retainRatio = 1f;
        float retainFocus = 0.5f;
        int profileRetainSample = 2000;
        float routerAnchor;
        boolean inPlace;
        TrainingRecipe retrainRecipe;
        Supplier<Block> modelFactory;
        List<TrainingListener> listeners = List.of();
        Consumer<String> progress;
    }
}
