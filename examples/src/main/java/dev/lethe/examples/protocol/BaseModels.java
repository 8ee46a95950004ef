package dev.lethe.examples.protocol;

import ai.djl.Model;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
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
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.profile.ActivationProfile;
import dev.lethe.unlearn.profile.ActivationProfiler;
import dev.lethe.unlearn.profile.ExpertSelector;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The protocol's trained models, kept in the command line's {@link ModelCache} (the keys of {@code
 * lethe train}): the base model of each (architecture, recipe) and the Retrain oracle of each
 * (base, forgotten class). Both train on the un-augmented training split; the recipe augments. A
 * base model comes with its record (test accuracy, training curve and time, routing), kept in the
 * {@link RunCache}.
 */
final class BaseModels {

    private final ModelCache models;
    private final CifarSplits splits;
    private final RunCache runs;
    private final boolean reportOnly;
    private final PrintStream log;

    /**
     * @param models the model cache
     * @param splits the data
     * @param runs the record cache
     * @param reportOnly whether training is forbidden ({@code --report-only})
     * @param log receives progress lines
     */
    BaseModels(ModelCache models, CifarSplits splits, RunCache runs, boolean reportOnly, PrintStream log) {
        this.models = models;
        this.splits = splits;
        this.runs = runs;
        this.reportOnly = reportOnly;
        this.log = log;
    }

    /**
     * @param config the architecture
     * @param recipe the recipe
     * @return the base model's key in the model cache ({@link ModelCache#key})
     */
    String key(MoeResNet.Config config, TrainingRecipe recipe) {
        return ModelCache.key(splits, config, recipe);
    }

    /**
     * @param config the architecture
     * @param recipe the recipe
     * @return the base model's folder (which may not exist yet)
     */
    Path directory(MoeResNet.Config config, TrainingRecipe recipe) {
        return models.directory(key(config, recipe));
    }

    /**
     * The base model's record, the model trained and cached first when it is not.
     *
     * @param recipeName the recipe's name as given ({@code --recipes})
     * @param config the architecture
     * @param recipe the recipe
     * @return the record ({@code kind} "base": test accuracy, training time and curve, routing), or
     *     empty when the model is not cached and {@code --report-only} forbids training it
     * @throws IOException if data or files cannot be read or written
     */
    Optional<JsonObject> record(String recipeName, MoeResNet.Config config, TrainingRecipe recipe) throws IOException {
        String modelKey = key(config, recipe);
        String recordKey = RunCache.key("base", modelKey);
        Optional<JsonObject> cached = runs.get(recordKey);
        if (cached.isPresent() && models.contains(modelKey)) {
            return cached;
        }
        if (reportOnly) {
            ProtocolCommand.log("no cached %s base model for seed %d: skipped (--report-only)", recipeName, recipe.seed());
            return Optional.empty();
        }
        if (!models.contains(modelKey)) {
            ProtocolCommand.log("training the %s base model (%d epochs) ...", recipeName, recipe.epochs());
        }
        JsonObject o = new JsonObject();
        try (TrainedModel base = models.getOrTrain(splits, config, recipe, TrainingProgress.console(log, false), log)) {
            o.addProperty("kind", "base");
            o.addProperty("recipe", recipeName);
            o.addProperty("seed", recipe.seed());
            o.addProperty("testAccuracy", base.testAccuracy());
            o.addProperty("trainSeconds", base.trainSeconds());
            o.addProperty("threads", base.metadata(SavedModels.THREADS).map(Integer::parseInt)
                    .orElse(RuntimeOptions.effectiveThreads()));
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
        runs.put(recordKey, o);
        return Optional.of(o);
    }

    /**
     * The Retrain oracle of a base model for a class: from the model cache, or trained now (with
     * the recipe the base model records, the library's default) and cached.
     *
     * @param config the base model's architecture
     * @param recipe the base model's recipe
     * @param forgetClass the class left out
     * @param seed the seed of initialisation and data order
     * @return the model (closed by the caller); its {@link SavedModels#UNLEARN_SECONDS} metadata
     *     is the Retrain run's time
     * @throws IOException if data or files cannot be read or written
     */
    TrainedModel retrain(MoeResNet.Config config, TrainingRecipe recipe, int forgetClass, long seed)
            throws IOException {
        Path baseDir = directory(config, recipe);
        return models.getOrCreate(ModelCache.retrainKey(splits, config, recipe, forgetClass), () -> {
            ProtocolCommand.log("Retrain oracle without class %d (%s) ...", forgetClass,
                    splits.classNames().get(forgetClass));
            try (Model base = MoeResNet.load(baseDir)) {
                UnlearningResult r = Unlearner.forClass(forgetClass).from(base).using(splits.labeledTrain())
                        .method(Method.RETRAIN).optSeed(seed).optProgress(ProtocolCommand::log).retrain();
                Map<String, String> meta = new LinkedHashMap<>();
                meta.put(SavedModels.DATASET, splits.datasetName());
                meta.put(SavedModels.SPLIT_SEED, String.valueOf(splits.splitSeed()));
                meta.put(SavedModels.TRAIN_LIMIT, String.valueOf(splits.limit()));
                meta.put(SavedModels.METHOD, Method.RETRAIN.name());
                meta.put(SavedModels.SEED, String.valueOf(seed));
                meta.put(SavedModels.UNLEARN_SECONDS, Double.toString(r.seconds()));
                meta.put(SavedModels.THREADS, String.valueOf(RuntimeOptions.effectiveThreads()));
                return TrainedModel.of(r.model(), meta);
            }
        }, log);
    }

    /**
     * Routing of the test images under inference routing: MI share, dead experts, per-class k80 and
     * the collateral of the experts the library would select for each class.
     */
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
        JsonArray collateral = new JsonArray(); // with the library's default selection of the experts
        ExpertSelector selector = UnlearningSettings.defaults().selector();
        for (int c = 0; c < p.numClasses(); c++) {
            collateral.add(selector.select(p, c, model.getBlock()).meanCollateral());
        }
        o.add("collateralPerClass", collateral);
        o.addProperty("miShare", miShare / p.layerNames().size());
        o.addProperty("deadExperts", dead);
        return o;
    }
}
