package dev.lethe.examples.protocol;

import ai.djl.Model;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import com.google.common.hash.Hashing;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.examples.cli.CifarSplits;
import dev.lethe.examples.cli.ModelCache;
import dev.lethe.examples.cli.RuntimeOptions;
import dev.lethe.examples.cli.SavedModels;
import dev.lethe.examples.cli.TrainedModel;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.routing.RoutingStats;
import dev.lethe.moe.train.EpochResult;
import dev.lethe.moe.train.TrainingHistory;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.eval.Predictions;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.UnlearningEvaluator;
import dev.lethe.unlearn.profile.ActivationProfile;
import dev.lethe.unlearn.profile.ActivationProfiler;
import dev.lethe.unlearn.profile.ExpertSelection;
import dev.lethe.unlearn.profile.ExpertSelector;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The field's class-wise forgetting protocol on CIFAR-10 (Jia et al. 2023; Fan et al. 2024), run
 * end to end and written to {@code docs/RESULTS.md} and {@code docs/results/cifar10-classwise.json}.
 *
 * <p>For each training recipe (plain, forget-ready) it trains (or reuses from the cache) the base
 * MoE CNN on the 45k training split; for each forgotten class and seed it trains the Retrain oracle
 * on the retain set with the same recipe, runs every method (fine-tune, gradient ascent, random
 * labels, head-only, and the expert-targeted method with three scopes), evaluates each with the
 * same metrics (UA, RA, TA, forgotten-class test accuracy, MIA-Efficacy, linear-probe recovery,
 * Avg.Gap to Retrain), measures the routing shift of the forgotten class and a relearn test. Every
 * trained model and every run's record is cached by configuration, so a rerun resumes where it
 * stopped. Hyperparameters are never read from the test set.
 *
 * <p>Caches under {@code --cache}: the base and Retrain models in {@code models/}, a {@link
 * ModelCache} (the command line's one model cache, with its keys), and the run records in {@code
 * runs/} (one JSON per evaluated run, keyed by the run's settings).
 */
@Command(
        name = "protocol",
        mixinStandardHelpOptions = true,
        description = "Run the class-wise forgetting protocol on CIFAR-10 and write docs/RESULTS.md.")
public final class ProtocolCommand implements Callable<Integer> {

    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();
    /** One line per file; the records are read by programs (RESULTS.md is the human view). */
    private static final Gson COMPACT = new GsonBuilder().serializeSpecialFloatingPointValues().create();

    @Spec
    CommandSpec spec;

    @Option(names = "--data", description = "CIFAR-10 archive or folder (default ../shared/data next to the repository)")
    Path data;

    @Option(names = "--cache", defaultValue = ".lethe/protocol", description = "cache of models and run records (default ${DEFAULT-VALUE})")
    Path cache;

    @Option(names = "--docs", defaultValue = "docs", description = "where RESULTS.md and results/ go (default ${DEFAULT-VALUE})")
    Path docs;

    @Option(names = "--recipes", split = ",", defaultValue = "forget-ready,plain", description = "training recipes: plain, forget-ready, each optionally @W for the balancing weight (default ${DEFAULT-VALUE})")
    List<String> recipes;

    @Option(names = "--classes", split = ",", defaultValue = "3", description = "classes to forget (default ${DEFAULT-VALUE})")
    List<Integer> classes;

    @Option(names = "--seeds", split = ",", defaultValue = "0", description = "seeds (default ${DEFAULT-VALUE})")
    List<Long> seeds;

    @Option(names = "--epochs", defaultValue = "6", description = "training epochs of base and Retrain models (default ${DEFAULT-VALUE})")
    int epochs;

    @Option(names = "--widths", split = ",", defaultValue = "16,32,64", description = "MoeResNet widths (default ${DEFAULT-VALUE})")
    int[] widths;

    @Option(names = "--experts", defaultValue = "8", description = "experts per MoE stage (default ${DEFAULT-VALUE})")
    int experts;

    @Option(names = "--top-k", defaultValue = "2", description = "experts per image (default ${DEFAULT-VALUE})")
    int topK;

    @Option(names = "--threads", defaultValue = "1", description = "libtorch threads (default ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--methods", split = ",", defaultValue = "ours-experts,ours-router,ours-head,ours-all,head-only,head-only-ours,fine-tune,fine-tune-ours,gradient-ascent,random-labels",
            description = "methods to run besides Retrain (default ${DEFAULT-VALUE})")
    List<String> methods;

    @Option(names = "--unlearn-epochs", defaultValue = "2", description = "passes over the forget set (default ${DEFAULT-VALUE})")
    int unlearnEpochs;

    @Option(names = "--retain-sample", defaultValue = "5000", description = "retain images for RA (default ${DEFAULT-VALUE})")
    int retainSample;

    @Option(names = "--mia-per-side", defaultValue = "2000", description = "MIA SVM training images per side (default ${DEFAULT-VALUE})")
    int miaPerSide;

    @Option(names = "--limit", defaultValue = "0", description = "use only the first N training images (quick runs; 0 = all)")
    int limit;

    @Option(names = "--skip-retrain", description = "do not train Retrain oracles (Avg.Gap then left empty)")
    boolean skipRetrain;

    @Option(names = "--report-only", description = "train and run nothing: render the cached records that exist")
    boolean reportOnly;

    @Option(names = "--tune", description = "before the protocol, choose the expert-targeted method's settings on the validation split"
            + " (first recipe, seed and class; the grid is ValidationSweep's), and use the chosen ones")
    boolean tune;

    /** The methods {@code --methods} accepts (Retrain runs unless {@code --skip-retrain}). */
    static final List<String> METHODS = List.of("ours-experts", "ours-router", "ours-head", "ours-all", "head-only",
            "head-only-ours", "fine-tune", "fine-tune-ours", "gradient-ascent", "random-labels");

    private CifarSplits splits;
    private ModelCache models;
    private UnlearningEvaluator evaluator;
    private final List<JsonObject> records = new ArrayList<>();
    private final List<JsonObject> tuning = new ArrayList<>();
    private ValidationSweep.Candidate ours = ValidationSweep.Candidate.libraryDefaults();

    @Override
    public Integer call() throws Exception {
        checkOptions();
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
        System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
        Path dataPath = CifarSplits.locate(data, CifarVariant.CIFAR10, false, RuntimeOptions.home());
        CifarData cifar = CifarSplits.load(dataPath, CifarVariant.CIFAR10);
        if (limit > CifarSplits.trainSplitSize(cifar)) {
            throw new ParameterException(spec.commandLine(), String.format(Locale.ROOT,
                    "--limit (%d) is more than the %d images of the training split; pass at most %d (or 0 for all)",
                    limit, CifarSplits.trainSplitSize(cifar), CifarSplits.trainSplitSize(cifar)));
        }
        splits = CifarSplits.of(cifar, 128, 0, 0, limit);
        models = new ModelCache(cache.resolve("models"));
        evaluator = splits.evaluator(retainSample, miaPerSide);
        Files.createDirectories(cache.resolve("runs"));
        log("protocol on %s; recipes %s, classes %s, seeds %s, %d epochs, widths %s, %d threads",
                dataPath, recipes, classes, seeds, epochs, Arrays.toString(widths), threads);
        if (tune) {
            ours = runTuning();
        }
        for (String recipeName : recipes) {
            for (long seed : seeds) {
                runRecipe(recipeName, seed);
            }
        }
        write();
        return 0;
    }

    /** Checks every option before the data is read: a wrong value is a usage error (exit code 2). */
    private void checkOptions() {
        check(threads >= 1, "--threads (%s) must be >= 1", threads);
        check(epochs >= 1, "--epochs (%s) must be >= 1", epochs);
        check(unlearnEpochs >= 1, "--unlearn-epochs (%s) must be >= 1", unlearnEpochs);
        check(retainSample >= 1, "--retain-sample (%s) must be >= 1", retainSample);
        check(miaPerSide >= 1, "--mia-per-side (%s) must be >= 1", miaPerSide);
        check(limit >= 0, "--limit (%s) must be >= 0 (0 = all images)", limit);
        check(widths.length == 3, "--widths needs 3 comma-separated widths, e.g. 16,32,64; got %s", widths.length);
        int numClasses = CifarVariant.CIFAR10.numClasses(dev.lethe.cifar.LabelMode.FINE);
        for (int c : classes) {
            check(c >= 0 && c < numClasses, "--classes: class id %s must be in [0, %s)", c, numClasses);
        }
        for (String m : methods) {
            check(METHODS.contains(m), "--methods: unknown method '%s'; choose from %s", m, METHODS);
        }
        for (String r : recipes) {
            for (long seed : seeds) {
                try {
                    recipe(r, seed);
                    modelConfig(seed);
                } catch (IllegalArgumentException e) {
                    throw new ParameterException(spec.commandLine(), e.getMessage());
                }
            }
        }
    }

    private void check(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new ParameterException(spec.commandLine(), String.format(Locale.ROOT, format, args));
        }
    }

    private void runRecipe(String recipeName, long seed) throws Exception {
        TrainingRecipe recipe = recipe(recipeName, seed);
        MoeResNet.Config config = modelConfig(seed);
        String baseKey = baseRecordKey(config, recipe);
        Path baseDir = baseDir(config, recipe);
        JsonObject base = base(recipeName, seed);
        if (base == null) {
            return;
        }
        records.add(base);
        for (int forgetClass : classes) {
            JsonObject retrainEval = null;
            double retrainSeconds = Double.NaN;
            if (!skipRetrain) {
                String rKey = key("retrain", config.toString(), recipe.toJson(), limit, forgetClass);
                JsonObject r = cachedRecord(rKey);
                if (r == null && reportOnly) {
                    continue;
                }
                if (r == null) {
                    r = runRetrain(config, baseDir, recipe, forgetClass, seed);
                    r.addProperty("recipe", recipeName);
                    saveRecord(rKey, r);
                }
                records.add(r);
                retrainEval = r;
                retrainSeconds = r.get("seconds").getAsDouble();
            }
            for (String method : methods) {
                // the expert-targeted runs are keyed by their settings too (the baselines have none to vary)
                String mKey = usesOursSettings(method)
                        ? key("run", baseKey, method, forgetClass, seed, unlearnEpochs, retainSample, miaPerSide, ours.name())
                        : key("run", baseKey, method, forgetClass, seed, unlearnEpochs, retainSample, miaPerSide);
                JsonObject m = cachedRecord(mKey);
                if (m == null && reportOnly) {
                    continue;
                }
                if (m == null) {
                    m = runMethod(baseDir, method, forgetClass, seed);
                    m.addProperty("recipe", recipeName);
                    saveRecord(mKey, m);
                }
                if (retrainEval != null) {
                    m.addProperty("avgGap", UnlearningEvaluation.fromJson(m.getAsJsonObject("evaluation"))
                            .avgGap(UnlearningEvaluation.fromJson(retrainEval.getAsJsonObject("evaluation"))));
                    m.addProperty("retrainSeconds", retrainSeconds);
                }
                records.add(m);
                write();
            }
        }
    }

    /**
     * The validation sweep: every candidate of {@link ValidationSweep#GRID} on the first recipe's
     * cached base model (first seed), forgetting the first class, scored on the validation split.
     */
    private ValidationSweep.Candidate runTuning() throws Exception {
        String recipeName = recipes.get(0);
        long seed = seeds.get(0);
        int forgetClass = classes.get(0);
        if (base(recipeName, seed) == null) {
            return ours;
        }
        MoeResNet.Config config = modelConfig(seed);
        TrainingRecipe recipe = recipe(recipeName, seed);
        Path baseDir = baseDir(config, recipe);
        for (ValidationSweep.Candidate c : ValidationSweep.GRID) {
            String tKey = key("tune", baseRecordKey(config, recipe), c.name(), forgetClass, seed, unlearnEpochs);
            JsonObject t = cachedRecord(tKey);
            if (t == null && reportOnly) {
                continue;
            }
            if (t == null) {
                log("sweep: %s on class %d, seed %d ...", c.name(), forgetClass, seed);
                try (Model base = MoeResNet.load(baseDir)) {
                    Unlearner u = c.apply(Unlearner.forClass(forgetClass).from(base).using(splits.labeledTrain())
                            .optEpochs(unlearnEpochs).optSeed(seed));
                    UnlearningResult r = u.retrain();
                    try (Model after = r.model()) {
                        t = ValidationSweep.score(after, splits.labeledValidation(), forgetClass);
                        t.addProperty("seconds", r.seconds());
                        t.addProperty("parametersRetrainedFraction", r.parametersRetrainedFraction());
                    }
                }
                t.addProperty("candidate", c.name());
                t.addProperty("recipe", recipeName);
                t.addProperty("seed", seed);
                t.addProperty("forgetClass", forgetClass);
                saveRecord(tKey, t);
            }
            tuning.add(t);
        }
        ValidationSweep.Candidate chosen = ValidationSweep.choose(tuning);
        log("sweep: chose %s", chosen.name());
        return chosen;
    }

    /**
     * @return the base model's record, its model trained and saved first when not cached; null
     *     when it is not cached and {@code --report-only} forbids training it
     */
    private JsonObject base(String recipeName, long seed) throws Exception {
        TrainingRecipe recipe = recipe(recipeName, seed);
        MoeResNet.Config config = modelConfig(seed);
        String baseKey = baseRecordKey(config, recipe);
        JsonObject base = cachedRecord(baseKey);
        Path baseDir = baseDir(config, recipe);
        if (base == null || !SavedModels.isModel(baseDir)) {
            if (reportOnly) {
                log("no cached %s base model for seed %d: skipped (--report-only)", recipeName, seed);
                return null;
            }
            base = trainBase(config, recipe);
            base.addProperty("recipe", recipeName);
            base.addProperty("seed", seed);
            saveRecord(baseKey, base);
        }
        return base;
    }

    private MoeResNet.Config modelConfig(long seed) {
        return MoeResNet.Config.builder().optWidths(widths[0], widths[1], widths[2])
                .optNumExperts(experts).optTopK(topK).optSeed(seed).build();
    }

    /** The key of the base run's record (and, before the models moved to the {@link ModelCache}, of its folder). */
    private String baseRecordKey(MoeResNet.Config config, TrainingRecipe recipe) {
        return key("base", config.toString(), recipe.toJson(), limit);
    }

    /**
     * The base model's folder in the model cache. A model cached by an earlier version under its
     * record key is moved there (remove once no such cache is left).
     */
    private Path baseDir(MoeResNet.Config config, TrainingRecipe recipe) throws IOException {
        String modelKey = ModelCache.key(splits, config, recipe);
        Path legacy = models.root().resolve(baseRecordKey(config, recipe));
        if (!models.contains(modelKey) && SavedModels.isModel(legacy)) {
            log("moving the cached base model %s to %s", legacy, models.directory(modelKey));
            Files.move(legacy, models.directory(modelKey));
        }
        return models.directory(modelKey);
    }

    /** @return whether the method's record depends on the chosen settings (so they key its cache) */
    private static boolean usesOursSettings(String method) {
        return method.startsWith("ours") || method.endsWith("-ours");
    }

    /** Trains the base model into the model cache (or loads it from there) and describes it. */
    private JsonObject trainBase(MoeResNet.Config config, TrainingRecipe recipe) throws Exception {
        if (!models.contains(ModelCache.key(splits, config, recipe))) {
            log("training the %s base model (%d epochs) ...", recipe.name(), recipe.epochs());
        }
        JsonObject o = new JsonObject();
        try (TrainedModel base = models.getOrTrain(splits, config, recipe, TrainingProgress.console(System.err, false),
                System.err)) {
            o.addProperty("kind", "base");
            o.addProperty("testAccuracy", base.testAccuracy());
            o.addProperty("trainSeconds", base.trainSeconds());
            o.addProperty("threads", Integer.parseInt(base.metadata(SavedModels.THREADS).orElse(String.valueOf(threads))));
            o.addProperty("epochs", recipe.epochs());
            JsonArray curve = new JsonArray(); // empty when the model came from the cache without its record
            for (EpochResult e : base.history().map(TrainingHistory::epochs).orElse(List.of())) {
                JsonObject p = new JsonObject();
                p.addProperty("epoch", e.epoch());
                p.addProperty("validationAccuracy", 100 * e.validationAccuracy());
                p.addProperty("seconds", e.seconds());
                p.addProperty("trainLoss", e.trainLosses().getOrDefault("task", Double.NaN));
                curve.add(p);
            }
            o.add("curve", curve);
            o.add("routing", routing(base.model()));
            o.addProperty("flopsPerImage", config.flopsPerImage());
        }
        return o;
    }

    /** Routing of the test images under inference routing: MI share, dead experts, per-class k80 and collateral. */
    private JsonObject routing(Model model) throws IOException {
        ActivationProfile p = ActivationProfiler.profile(model, splits.labeledTest(), null, 256);
        JsonObject o = new JsonObject();
        double miShare = 0;
        int dead = 0;
        for (String layer : p.layerNames()) {
            RoutingStats s = p.layer(layer);
            JsonObject l = new JsonObject();
            l.addProperty("miShare", s.mutualInformationShare());
            l.addProperty("deadExperts", s.deadExperts(RoutingStats.DEFAULT_DEAD_THRESHOLD).size());
            JsonArray k80 = new JsonArray();
            for (int c = 0; c < p.numClasses(); c++) {
                k80.add(s.expertsCovering(c, 0.8));
            }
            l.add("k80", k80);
            l.addProperty("table", s.toTable(p.classNames()));
            o.add(layer, l);
            miShare += s.mutualInformationShare();
            dead += s.deadExperts(RoutingStats.DEFAULT_DEAD_THRESHOLD).size();
        }
        JsonArray collateral = new JsonArray();
        for (int c = 0; c < p.numClasses(); c++) {
            collateral.add(ExpertSelector.coverage(0.9).select(p, c, model.getBlock()).meanCollateral());
        }
        o.add("collateralPerClass", collateral);
        o.addProperty("miShare", miShare / p.layerNames().size());
        o.addProperty("deadExperts", dead);
        return o;
    }

    /**
     * The Retrain oracle's record: the model retrained without the class on the augmented training
     * images (as the base model was trained), from the model cache when it is there.
     */
    private JsonObject runRetrain(MoeResNet.Config config, Path baseDir, TrainingRecipe recipe, int forgetClass, long seed)
            throws Exception {
        String key = ModelCache.retrainKey(splits, config, recipe, forgetClass);
        try (TrainedModel retrained = models.getOrCreate(key, () -> retrain(baseDir, recipe, forgetClass, seed),
                System.err)) {
            double seconds = Double.parseDouble(retrained.metadata(SavedModels.UNLEARN_SECONDS).orElse("NaN"));
            JsonObject o = record("retrain", "all", forgetClass, seed, seconds, 1.0, Optional.empty(), retrained.model());
            o.add("relearn", relearn(retrained.model(), forgetClass, seed));
            return o;
        }
    }

    private TrainedModel retrain(Path baseDir, TrainingRecipe recipe, int forgetClass, long seed) throws IOException {
        log("Retrain oracle without class %d (%s) ...", forgetClass, splits.classNames().get(forgetClass));
        try (Model base = MoeResNet.load(baseDir)) {
            UnlearningResult r = Unlearner.forClass(forgetClass).from(base)
                    .using(splits.labeledTrain(CifarSplits.AUGMENTATION))
                    .method(Method.RETRAIN).optRetrainRecipe(recipe).optSeed(seed).optProgress(ProtocolCommand::log).retrain();
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put(SavedModels.DATASET, splits.datasetName());
            meta.put(SavedModels.SPLIT_SEED, String.valueOf(splits.splitSeed()));
            meta.put(SavedModels.TRAIN_LIMIT, String.valueOf(splits.limit()));
            meta.put(SavedModels.AUGMENTATION, CifarSplits.AUGMENTATION);
            meta.put(SavedModels.METHOD, Method.RETRAIN.name());
            meta.put(SavedModels.SEED, String.valueOf(seed));
            meta.put(SavedModels.UNLEARN_SECONDS, Double.toString(r.seconds()));
            meta.put(SavedModels.THREADS, String.valueOf(threads));
            return TrainedModel.of(r.model(), meta);
        }
    }

    private JsonObject runMethod(Path baseDir, String method, int forgetClass, long seed) throws Exception {
        log("%s on class %d (%s), seed %d ...", method, forgetClass, splits.classNames().get(forgetClass), seed);
        try (Model base = MoeResNet.load(baseDir)) {
            Unlearner u = Unlearner.forClass(forgetClass).from(base).using(splits.labeledTrain())
                    .optEpochs(unlearnEpochs).optSeed(seed).optProgress(ProtocolCommand::log);
            String scope;
            // ours: the chosen settings; head-only: the settings fixed before any CIFAR run, unless
            // asked for with ours' settings ("head-only-ours", to check that tuning alone is not the gain)
            if (method.startsWith("ours") || method.equals("head-only-ours")) {
                u = ours.apply(u);
            } else if (method.equals("head-only")) {
                u = ValidationSweep.Candidate.baseline().apply(u);
            }
            switch (method) {
                case "ours-experts": u = u.optScope(Scope.EXPERTS); scope = "experts"; break;
                case "ours-router": u = u.optScope(Scope.EXPERTS_AND_ROUTER); scope = "experts+router"; break;
                case "ours-head": u = u.optScope(Scope.EXPERTS_ROUTER_AND_HEAD); scope = "experts+router+head"; break;
                // the ablation of the targeting: the same loss and settings on every parameter
                case "ours-all": u = u.optScope(Scope.ALL); scope = "all"; break;
                case "head-only": case "head-only-ours": u = u.optScope(Scope.HEAD_ONLY); scope = "head"; break;
                case "fine-tune": u = u.method(Method.FINE_TUNE); scope = "all"; break;
                // fine-tuning at ours' learning rate: is the lower rate alone the gain?
                case "fine-tune-ours": u = u.method(Method.FINE_TUNE).optLearningRate(ours.learningRate()); scope = "all"; break;
                case "gradient-ascent": u = u.method(Method.GRADIENT_ASCENT); scope = "all"; break;
                case "random-labels": u = u.method(Method.RANDOM_LABELS); scope = "all"; break;
                default: throw new IllegalArgumentException("unknown method '" + method + "'");
            }
            UnlearningResult r = u.retrain();
            try (Model after = r.model()) {
                JsonObject o = record(method, scope, forgetClass, seed, r.seconds(), r.parametersRetrainedFraction(),
                        r.selection(), after);
                if (usesOursSettings(method)) {
                    o.addProperty("settings", ours.name());
                }
                o.add("routingShift", routingShift(base, after, forgetClass));
                if (method.startsWith("ours") || method.startsWith("head-only")) {
                    o.add("relearn", relearn(after, forgetClass, seed));
                }
                return o;
            }
        }
    }

    private JsonObject record(String method, String scope, int forgetClass, long seed, double seconds,
            double parametersRetrainedFraction, Optional<ExpertSelection> selection, Model model) throws IOException {
        UnlearningEvaluation e = evaluator.evaluate(model, forgetClass);
        log("%s", e.toTable());
        JsonObject o = new JsonObject();
        o.addProperty("kind", "run");
        o.addProperty("method", method);
        o.addProperty("scope", scope);
        o.addProperty("forgetClass", forgetClass);
        o.addProperty("forgetClassName", splits.classNames().get(forgetClass));
        o.addProperty("seed", seed);
        o.addProperty("ua", e.ua());
        o.addProperty("ra", e.ra());
        o.addProperty("ta", e.ta());
        o.addProperty("forgetTestAccuracy", e.forgetTestAccuracy());
        o.addProperty("mia", e.mia());
        o.addProperty("probeRecovery", e.probeForgetAccuracy());
        o.addProperty("seconds", seconds);
        o.addProperty("parametersRetrainedFraction", parametersRetrainedFraction);
        o.addProperty("collateral", selection.map(ExpertSelection::meanCollateral).orElse(Double.NaN));
        selection.ifPresent(s -> o.add("selection", s.toJson()));
        o.add("evaluation", e.toJson());
        return o;
    }

    /** Total-variation distance between the forgotten class's expert shares before and after, per layer. */
    private JsonObject routingShift(Model before, Model after, int forgetClass) throws IOException {
        int[] idx = splits.testIndicesOf(forgetClass);
        ActivationProfile p0 = ActivationProfiler.profile(before, splits.labeledTest(), idx, 256);
        ActivationProfile p1 = ActivationProfiler.profile(after, splits.labeledTest(), idx, 256);
        JsonObject o = new JsonObject();
        for (String layer : p0.layerNames()) {
            double[] a = p0.share(layer, forgetClass);
            double[] b = p1.share(layer, forgetClass);
            double tv = 0;
            for (int i = 0; i < a.length; i++) {
                tv += Math.abs(a[i] - b[i]) / 2;
            }
            JsonObject l = new JsonObject();
            l.addProperty("totalVariation", tv);
            l.add("before", GSON.toJsonTree(a));
            l.add("after", GSON.toJsonTree(b));
            o.add(layer, l);
        }
        return o;
    }

    /**
     * The relearn test: fine-tune every parameter on 1 % of the forgotten class's training images
     * (plus as many retain images) for 10 Adam steps at lr 1e-3, and report the forgotten class's
     * test accuracy after 0, 5 and 10 steps. Runs on a copy; the model is unchanged.
     */
    private JsonObject relearn(Model model, int forgetClass, long seed) throws IOException {
        LabeledData train = splits.labeledTrain();
        int[] forget = train.indicesOf(forgetClass);
        int n = Math.max(2, forget.length / 100);
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed + 17);
        int[] items = new int[2 * n];
        int[] retain = train.indicesExcept(forgetClass);
        for (int i = 0; i < n; i++) {
            items[i] = forget[random.nextInt(forget.length)];
            items[n + i] = retain[random.nextInt(retain.length)];
        }
        JsonObject o = new JsonObject();
        o.addProperty("images", n);
        // TODO(issue 10): copy with the library's Models.copy once it lands in moe-unlearn, not through files
        Path tmp = Files.createTempDirectory("lethe-relearn");
        try {
            MoeResNet.save(model, tmp, Map.of());
            try (Model copy = MoeResNet.load(tmp)) {
                int[] testIdx = splits.testIndicesOf(forgetClass);
                o.addProperty("step0", Predictions.compute(copy, splits.labeledTest(), testIdx, 256).accuracy());
                DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                        .optOptimizer(Optimizer.adam().optLearningRateTracker(Tracker.fixed(1e-3f)).build());
                try (Trainer trainer = copy.newTrainer(cfg)) {
                    for (int step = 1; step <= 10; step++) {
                        try (NDManager scope = trainer.getManager().newSubManager(); Batch b = train.batch(scope, items)) {
                            try (GradientCollector gc = trainer.newGradientCollector()) {
                                NDList pred = copy.getBlock().forward(new ai.djl.training.ParameterStore(scope, false), b.getData(), false);
                                gc.backward(trainer.getLoss().evaluate(b.getLabels(), pred));
                            }
                            trainer.step();
                        }
                        if (step == 5 || step == 10) {
                            o.addProperty("step" + step, Predictions.compute(copy, splits.labeledTest(), testIdx, 256).accuracy());
                        }
                    }
                }
            }
        } finally {
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        return o;
    }

    /**
     * A recipe by name: {@code plain} or {@code forget-ready}, optionally followed by {@code @W} to
     * set the load-balancing weight (e.g. {@code forget-ready@0.1}; default 0.01).
     */
    private TrainingRecipe recipe(String spec, long seed) {
        String name = spec;
        TrainingRecipe.Builder b = TrainingRecipe.builder().optEpochs(epochs).optSeed(seed);
        int at = spec.indexOf('@');
        if (at >= 0) {
            name = spec.substring(0, at);
            b.optBalance(Float.parseFloat(spec.substring(at + 1)));
        }
        switch (name) {
            case "plain": return b.build();
            case "forget-ready": return b.optMutualInformation(0.5f, 0.5f).build();
            default: throw new IllegalArgumentException("unknown recipe '" + spec + "' (plain, forget-ready, optionally @balance)");
        }
    }

    private void write() throws IOException {
        Files.createDirectories(docs.resolve("results"));
        JsonObject out = new JsonObject();
        out.addProperty("date", LocalDate.now().toString());
        out.addProperty("command", "./lethe protocol " + String.join(" ", commandLine()));
        out.addProperty("threads", threads);
        JsonArray all = new JsonArray();
        for (JsonObject r : records) {
            JsonObject slim = r.deepCopy();
            slim.remove("evaluation");
            slim.remove("selection");
            if (slim.has("routing")) {
                JsonObject routing = slim.getAsJsonObject("routing");
                slim.add("miShare", routing.get("miShare"));
                slim.add("deadExperts", routing.get("deadExperts"));
                for (String k : routing.keySet()) {
                    if (routing.get(k).isJsonObject()) {
                        routing.getAsJsonObject(k).remove("table");
                    }
                }
            }
            if (slim.has("routingShift")) {
                // the mean over MoE layers of the total-variation distance (per layer in the cache)
                double tv = 0;
                JsonObject shift = slim.getAsJsonObject("routingShift");
                for (String k : shift.keySet()) {
                    tv += shift.getAsJsonObject(k).get("totalVariation").getAsDouble() / shift.size();
                }
                slim.remove("routingShift");
                slim.addProperty("routingShift", tv);
            }
            all.add(rounded(slim));
        }
        out.add("records", all);
        if (!tuning.isEmpty()) {
            JsonArray sweep = new JsonArray();
            tuning.forEach(sweep::add);
            out.add("validationSweep", sweep);
            out.addProperty("chosenSettings", ours.name());
        }
        atomicWrite(docs.resolve("results/cifar10-classwise.json"), COMPACT.toJson(out));
        atomicWrite(docs.resolve("RESULTS.md"), ResultsReport.markdown(records, tuning, ours.name(), commandLine(), threads, retainSample, miaPerSide, limit, docs));
    }

    /** The same JSON with every number rounded to 4 decimals (the records are read, not recomputed). */
    private static com.google.gson.JsonElement rounded(com.google.gson.JsonElement e) {
        if (e.isJsonObject()) {
            JsonObject o = new JsonObject();
            e.getAsJsonObject().entrySet().forEach(en -> o.add(en.getKey(), rounded(en.getValue())));
            return o;
        }
        if (e.isJsonArray()) {
            JsonArray a = new JsonArray();
            e.getAsJsonArray().forEach(x -> a.add(rounded(x)));
            return a;
        }
        if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()) {
            double v = e.getAsDouble();
            if (Double.isFinite(v) && v != Math.rint(v)) {
                return new com.google.gson.JsonPrimitive(Math.round(v * 1e4) / 1e4);
            }
        }
        return e;
    }

    private List<String> commandLine() {
        List<String> args = new ArrayList<>();
        args.add("--recipes " + String.join(",", recipes));
        args.add("--classes " + classes.toString().replaceAll("[\\[\\] ]", ""));
        args.add("--seeds " + seeds.toString().replaceAll("[\\[\\] ]", ""));
        args.add("--epochs " + epochs);
        args.add("--widths " + widths[0] + "," + widths[1] + "," + widths[2]);
        args.add("--threads " + threads);
        if (limit > 0) {
            args.add("--limit " + limit);
        }
        if (tune) {
            args.add("--tune");
        }
        return args;
    }

    private JsonObject cachedRecord(String key) throws IOException {
        Path p = cache.resolve("runs").resolve(key + ".json");
        return Files.isRegularFile(p) ? JsonParser.parseString(Files.readString(p, StandardCharsets.UTF_8)).getAsJsonObject() : null;
    }

    private void saveRecord(String key, JsonObject record) throws IOException {
        atomicWrite(cache.resolve("runs").resolve(key + ".json"), GSON.toJson(record));
    }

    private static void atomicWrite(Path target, String text) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String key(Object... parts) {
        StringBuilder sb = new StringBuilder();
        for (Object p : parts) {
            sb.append(p).append('|');
        }
        return parts[0] + "-" + Hashing.sha256().hashString(sb, StandardCharsets.UTF_8).toString().substring(0, 12);
    }

    static void log(String format, Object... args) {
        System.err.println("[protocol] " + String.format(Locale.ROOT, format, args));
    }

    static void log(String line) {
        System.err.println("[protocol] " + line);
    }
}
