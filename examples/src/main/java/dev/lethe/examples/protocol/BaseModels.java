package dev.lethe.examples.protocol;

import ai.djl.Model;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.lethe.eval.Predictions;
import dev.lethe.examples.cli.CifarSplits;
import dev.lethe.examples.cli.ModelCache;
import dev.lethe.examples.cli.RuntimeOptions;
import dev.lethe.examples.cli.SavedModels;
import dev.lethe.examples.cli.TrainedModel;
import dev.lethe.moe.provenance.ProvenanceLedger;
import dev.lethe.moe.routing.RoutingStats;
import dev.lethe.moe.train.EpochResult;
import dev.lethe.moe.train.TrainingHistory;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.exact.ExactPlan;
import dev.lethe.unlearn.profile.ActivationProfile;
import dev.lethe.unlearn.profile.ActivationProfiler;
import dev.lethe.unlearn.profile.ExpertSelector;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The protocol's trained models, kept in the command line's {@link ModelCache} (the keys of {@code
 * lethe train}): the base model of each configuration ({@link ProtocolConfiguration}), the Retrain
 * oracle of each (base, forgotten classes), and for the exact configurations the exact reference of
 * a deletion ({@code ExactTraining} with the same plan on the data without the classes). Every model
 * trains on the un-augmented training split; the recipe augments. A base model comes with its
 * record (test accuracy, per-class test accuracy, training curve and time, routing, the provenance
 * ledger's share of parameters per class), kept in the {@link RunCache}.
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
     * @param conf a configuration
     * @return its base model's key in the model cache ({@link ModelCache#key}, or {@link
     *     ModelCache#exactKey} for a phased configuration)
     */
    String key(ProtocolConfiguration conf) {
        return conf.phased() ? ModelCache.exactKey(splits, conf.config(), conf.plan())
                : ModelCache.key(splits, conf.config(), conf.recipe());
    }

    /**
     * @param conf a configuration
     * @return the base model's folder (which may not exist yet)
     */
    Path directory(ProtocolConfiguration conf) {
        return models.directory(key(conf));
    }

    /**
     * The base model's record, the model trained and cached first when it is not. A cached record
     * written before a field existed is completed from the cached model.
     *
     * @param conf the configuration
     * @return the record ({@code kind} "base": test accuracy, per-class test accuracy, training time
     *     and curve, routing, ledger shares, the plan of an exact configuration), or empty when the
     *     model is not cached and {@code --report-only} forbids training it
     * @throws IOException if data or files cannot be read or written
     */
    Optional<JsonObject> record(ProtocolConfiguration conf) throws IOException {
        String modelKey = key(conf);
        String recordKey = RunCache.key("base", modelKey);
        Optional<JsonObject> cached = runs.get(recordKey);
        if (cached.isPresent() && models.contains(modelKey)) {
            JsonObject o = cached.get();
            if (!o.has("perClassTestAccuracy") || !o.has("ledger") || !hasShares(o.getAsJsonObject("routing"))) {
                try (TrainedModel base = TrainedModel.load(models.directory(modelKey))) {
                    complete(o, base.model());
                }
                if (!o.has("architecture")) {
                    o.addProperty("architecture", conf.describeArchitecture());
                }
                runs.put(recordKey, o);
            }
            return Optional.of(o);
        }
        if (reportOnly) {
            ProtocolCommand.log("no cached %s base model for seed %d: skipped (--report-only)", conf.name(), conf.seed());
            return Optional.empty();
        }
        if (!models.contains(modelKey)) {
            ProtocolCommand.log(conf.phased() ? "training the %s base model by ExactTraining (%s) ..."
                    : "training the %s base model (%d epochs) ...", conf.name(),
                    conf.phased() ? conf.plan() : conf.recipe().epochs());
        }
        JsonObject o = new JsonObject();
        try (TrainedModel base = conf.phased()
                ? models.getOrCreate(modelKey, () -> TrainedModel.exact(splits, splits.labeledTrain(), conf.config(),
                        conf.plan(), ProtocolCommand::log), log)
                : models.getOrTrain(splits, conf.config(), conf.recipe(), TrainingProgress.console(log, false), log)) {
            o.addProperty("kind", "base");
            o.addProperty("recipe", conf.name());
            o.addProperty("seed", conf.seed());
            o.addProperty("architecture", conf.describeArchitecture());
            o.addProperty("testAccuracy", base.testAccuracy());
            o.addProperty("trainSeconds", base.trainSeconds());
            o.addProperty("threads", base.metadata(SavedModels.THREADS).map(Integer::parseInt)
                    .orElse(RuntimeOptions.effectiveThreads()));
            o.addProperty("epochs", conf.recipe().epochs());
            if (conf.phased()) {
                o.add("exactPlan", conf.plan().toJson());
            }
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
            o.addProperty("flopsPerImage", conf.config().flopsPerImage());
            complete(o, base.model());
        }
        runs.put(recordKey, o);
        return Optional.of(o);
    }

    /** Adds what is measured on the model itself: per-class test accuracy, routing, ledger shares. */
    private void complete(JsonObject o, Model model) throws IOException {
        double[] perClass = Predictions.all(model, splits.labeledTest(), 256).perClassAccuracy(splits.numClasses());
        JsonArray a = new JsonArray();
        for (double v : perClass) {
            a.add(v);
        }
        o.add("perClassTestAccuracy", a);
        o.add("routing", routing(model));
        JsonObject ledger = new JsonObject();
        Optional<ProvenanceLedger> l = ProvenanceLedger.of(model);
        ledger.addProperty("recorded", l.isPresent());
        if (l.isPresent()) {
            JsonArray shares = new JsonArray();
            l.get().sharesByClass().values().forEach(shares::add);
            ledger.add("touchedShareByClass", shares);
        }
        o.add("ledger", ledger);
    }

    private static boolean hasShares(JsonObject routing) {
        if (routing == null) {
            return false;
        }
        for (String k : routing.keySet()) {
            if (routing.get(k).isJsonObject()) {
                return routing.getAsJsonObject(k).has("shares");
            }
        }
        return true; // no MoE layer
    }

    /**
     * The Retrain oracle of a base model without some classes: from the model cache, or trained now
     * with the recipe the base model records ({@code Method.RETRAIN}) and cached. Without several
     * classes, the Retrain without all but the last is the starting point and the library's
     * Retrain, asked to forget the last one from a model that records the others as forgotten,
     * trains on the data without all of them ({@link SavedModels#RETAIN_IMAGES} records how many).
     *
     * @param conf the base model's configuration (an exact configuration's Retrain is the standard
     *     one of the same architecture and recipe)
     * @param classes the classes left out, in the order they were forgotten, at least one
     * @param seed the seed of initialisation and data order
     * @return the model (closed by the caller); its {@link SavedModels#UNLEARN_SECONDS} metadata is
     *     the Retrain run's time
     * @throws IOException if data or files cannot be read or written
     */
    TrainedModel retrain(ProtocolConfiguration conf, List<Integer> classes, long seed) throws IOException {
        int last = classes.get(classes.size() - 1);
        List<Integer> before = classes.subList(0, classes.size() - 1);
        return models.getOrCreate(ModelCache.retrainKey(splits, conf.config(), conf.recipe(), classes), () -> {
            ProtocolCommand.log("Retrain oracle without class%s %s ...", classes.size() > 1 ? "es" : "",
                    names(classes));
            try (TrainedModel start = before.isEmpty() ? TrainedModel.load(directory(conf))
                    : retrain(conf, before, seed)) {
                UnlearningResult r = Unlearner.forClass(last).from(start.model()).using(splits.labeledTrain())
                        .method(Method.RETRAIN).optSeed(seed).optProgress(ProtocolCommand::log).retrain();
                Map<String, String> meta = new LinkedHashMap<>();
                meta.put(SavedModels.DATASET, splits.datasetName());
                meta.put(SavedModels.SPLIT_SEED, String.valueOf(splits.splitSeed()));
                meta.put(SavedModels.TRAIN_LIMIT, String.valueOf(splits.limit()));
                meta.put(SavedModels.METHOD, Method.RETRAIN.name());
                meta.put(SavedModels.SEED, String.valueOf(seed));
                meta.put(SavedModels.UNLEARN_SECONDS, Double.toString(r.seconds()));
                meta.put(SavedModels.THREADS, String.valueOf(RuntimeOptions.effectiveThreads()));
                int epochs = r.oracle().map(o -> o.epochs()).orElse(1);
                meta.put(SavedModels.RETAIN_IMAGES, String.valueOf(r.imagesSeen() / Math.max(1, epochs)));
                return TrainedModel.of(r.model(), meta);
            }
        }, log);
    }

    /**
     * The exact reference of a deletion: {@code ExactTraining} with the configuration's plan on the
     * training split without some classes (and without them among the public classes), from the
     * model cache or trained now. An exact deletion must give this model bit for bit; on a
     * configuration where every class is public ({@code assigned}) it is the Retrain of the same
     * phased training.
     *
     * @param conf a phased configuration
     * @param without the classes deleted
     * @return the model (closed by the caller); {@link SavedModels#UNLEARN_SECONDS} is its training
     *     time
     * @throws IOException if data or files cannot be read or written
     */
    TrainedModel exactReference(ProtocolConfiguration conf, List<Integer> without) throws IOException {
        ExactPlan plan = referencePlan(conf, without);
        return models.getOrCreate(exactReferenceKey(conf, without), () -> {
            ProtocolCommand.log("exact reference: ExactTraining without class%s %s ...",
                    without.size() > 1 ? "es" : "", names(without));
            LabeledData train = splits.labeledTrain();
            LabeledData rest = train.subset(train.indicesExcept(new HashSet<>(without)));
            TrainedModel m = TrainedModel.exact(splits, rest, conf.config(), plan, ProtocolCommand::log);
            Map<String, String> meta = m.metadata();
            meta.put(SavedModels.UNLEARN_SECONDS, meta.get(SavedModels.TRAIN_SECONDS));
            meta.put(SavedModels.RETAIN_IMAGES, String.valueOf(rest.size()));
            Model model = m.model();
            return TrainedModel.of(model, meta);
        }, log);
    }

    /**
     * @param conf a phased configuration
     * @param without the classes deleted
     * @return the model-cache key of its {@link #exactReference}
     */
    String exactReferenceKey(ProtocolConfiguration conf, List<Integer> without) {
        return ModelCache.exactReferenceKey(splits, conf.config(), referencePlan(conf, without), without);
    }

    /** The configuration's plan without the deleted classes among its public classes. */
    private static ExactPlan referencePlan(ProtocolConfiguration conf, List<Integer> without) {
        ExactPlan full = conf.exactPlan().orElseThrow(() -> new IllegalArgumentException(
                conf.name() + " is not a phased configuration"));
        List<Integer> remaining = new ArrayList<>(full.publicClasses());
        remaining.removeAll(without);
        return full.withPublicClasses(remaining);
    }

    private String names(List<Integer> classes) {
        List<String> out = new ArrayList<>();
        classes.forEach(c -> out.add(c + " (" + splits.classNames().get(c) + ")"));
        return String.join(", ", out);
    }

    /**
     * Routing of the test images under inference routing: MI share, dead experts, per-class k80, the
     * class × expert shares of gate mass (the heatmaps) and the collateral of the experts the library
     * would select for each class.
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
            JsonArray shares = new JsonArray();
            for (int c = 0; c < p.numClasses(); c++) {
                k80.add(s.expertsCovering(c, 0.8));
                JsonArray row = new JsonArray();
                for (double v : s.classShares(c)) {
                    row.add(v);
                }
                shares.add(row);
            }
            l.add("k80", k80);
            l.add("shares", shares);
            l.addProperty("table", s.toTable(p.classNames()));
            o.add(layer, l);
            miShare += s.mutualInformationShare();
            dead += s.deadExperts(RoutingStats.DEFAULT_DEAD_THRESHOLD).size();
        }
        JsonArray collateral = new JsonArray(); // with the library's default selection of the experts
        ExpertSelector selector = UnlearningSettings.defaults().selector();
        double sum = 0;
        for (int c = 0; c < p.numClasses(); c++) {
            double col = selector.select(p, c, model.getBlock()).meanCollateral();
            collateral.add(col);
            sum += col;
        }
        o.add("collateralPerClass", collateral);
        o.addProperty("meanCollateral", sum / Math.max(1, p.numClasses()));
        o.addProperty("miShare", miShare / Math.max(1, p.layerNames().size()));
        o.addProperty("deadExperts", dead);
        return o;
    }
}
