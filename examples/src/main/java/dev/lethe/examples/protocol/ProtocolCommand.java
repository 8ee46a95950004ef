package dev.lethe.examples.protocol;

import ai.djl.Model;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.UnlearningEvaluator;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.examples.cli.ArchitectureNeeds;
import dev.lethe.examples.cli.ArchitectureOptions;
import dev.lethe.examples.cli.CifarSplits;
import dev.lethe.examples.cli.DataOptions;
import dev.lethe.examples.cli.ModelCache;
import dev.lethe.examples.cli.Recipes;
import dev.lethe.examples.cli.RuntimeOptions;
import dev.lethe.examples.cli.SavedModels;
import dev.lethe.examples.cli.TrainedModel;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The field's class-wise forgetting protocol on CIFAR-10 (Jia et al. 2023; Fan et al. 2024), run
 * end to end and written to {@code docs/RESULTS.md}, {@code docs/results/cifar10-classwise.json}
 * and PNG charts in {@code docs/results/charts/}. A shell over the library: it parses options and
 * runs the loop; the parts are classes of this package.
 *
 * <p>For each configuration of {@code --recipes} and seed it trains (or reuses) the base model
 * ({@link BaseModels}; the exact configurations by {@code ExactTraining}); for each forgotten class
 * the Retrain oracle, trained like the base model; then every method of {@code --methods} that runs
 * on that base model ({@link ProtocolMethods}: exact deletion only on exact configurations). Every
 * model is evaluated by the library's {@link UnlearningEvaluator}: UA, RA, TA, MIA-Efficacy with its
 * attacker's accuracy, linear probes at every MoE stage and the penultimate layer, the
 * class-membership attack, relearning curves (few-shot and retain-only) and the routing shift; each
 * method's record is compared with the Retrain record of the same cell ({@link Records#compare}).
 * An exact deletion is also compared, tensor by tensor, with {@code ExactTraining} on the data
 * without the class ({@link ExactCheck}). With {@code --tune}, every method's settings are chosen
 * first on the validation split ({@link Tuning}: the library's grids, one per method, the same
 * number of candidates each, and its one selection rule), forgetting {@code --tune-class}. With
 * {@code --sequential A,B}, each method forgets A then B and is compared with a Retrain without
 * both. Hyperparameters are never read from the test set.
 *
 * <p>Everything is cached under {@code --cache}: the models in {@code models/} (the command line's
 * {@link ModelCache}), each evaluated run's record in {@code runs/} ({@link RunCache}), keyed by
 * what made it (the base model's key, the class, the method's effective settings, the evaluator),
 * so that a rerun trains and unlearns nothing and writes the same records; the results files are
 * rewritten after every run.
 */
@Command(
        name = "protocol",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Run the class-wise forgetting protocol on CIFAR-10 and write docs/RESULTS.md.")
public final class ProtocolCommand implements Callable<Integer> {

    /**
     * The protocol's default architecture: the fast layout at the demo's widths (32, 128, 128; the
     * MoE in stage 3, 8 experts, top-2), whose 5-epoch models reach the issue's ≥ 85 % on two
     * cores in about 10 minutes each.
     */
    private static final int[] WIDTHS = {32, 128, 128};

    @Spec
    CommandSpec spec;

    @Mixin
    ProtocolOptions options;

    @Mixin
    ArchitectureOptions architecture = new ArchitectureOptions(MoeResNet.Style.FAST, WIDTHS);

    @Mixin
    RuntimeOptions runtime;

    private CifarSplits splits;
    private RunCache runs;
    private BaseModels bases;
    private UnlearningEvaluator evaluator;
    private ResultsReport results;
    private final Map<String, ChosenSettings> chosen = new HashMap<>();
    private ChosenSettings chosenEverywhere = ChosenSettings.defaults();
    private final Set<String> said = new HashSet<>();

    @Override
    public Integer call() throws Exception {
        int numClasses = CifarVariant.CIFAR10.numClasses(LabelMode.FINE);
        options.check(numClasses);
        List<ProtocolConfiguration> configurations = new ArrayList<>();
        for (String recipeName : options.recipes) {
            for (long seed : options.seeds(recipeName)) {
                configurations.add(options.configuration(recipeName, seed, architecture, numClasses));
            }
        }
        runtime.apply();
        Path dataPath = CifarSplits.locate(options.data, CifarVariant.CIFAR10, false, RuntimeOptions.home());
        CifarSplits.Source source = CifarSplits.load(dataPath, CifarVariant.CIFAR10);
        DataOptions.checkLimit(spec, "--limit", options.limit, source.data());
        splits = CifarSplits.of(source, 0, options.limit);
        runs = new RunCache(options.cache.resolve("runs"));
        bases = new BaseModels(new ModelCache(options.cache.resolve("models")), splits, runs, options.reportOnly,
                System.err);
        evaluator = options.evaluator(splits);
        Tuning tuning = new Tuning(splits.labeledValidation(), runs, options.reportOnly);
        results = new ResultsReport(options, architecture.commandLine(), source.describe() + "; " + splits,
                RuntimeOptions.effectiveThreads(), tuning.maxForgetAccuracy(), splits.classNames());
        log("protocol on %s; recipes %s, classes %s, seeds %s, %d epochs, %s, %d threads", dataPath, options.recipes,
                options.classes, options.seeds, options.epochs, architecture.commandLine(),
                RuntimeOptions.effectiveThreads());
        for (String name : new LinkedHashSet<>(options.recipes)) {
            ArchitectureNeeds needs = Recipes.needs(name);
            if (!needs.isNone()) {
                log("%s: %s (%s) instead", name, needs.options(splits.numClasses()), needs.describe());
            }
        }
        if (options.tune) {
            tune(tuning, configurations);
        }
        for (ProtocolConfiguration conf : configurations) {
            runConfiguration(conf);
            results.write(true);
        }
        if (options.sequential != null) {
            for (ProtocolConfiguration conf : configurations) {
                sequential(conf);
            }
        }
        results.write(true);
        return 0;
    }

    /** The request every method of a cell shares: the class, the data, the epochs and the seed. */
    private Unlearner request(int forgetClass, long seed) {
        return Unlearner.forClass(forgetClass).using(splits.labeledTrain()).optEpochs(options.unlearnEpochs)
                .optSeed(seed);
    }

    /** The settings a configuration's methods run with. */
    private ChosenSettings chosen(ProtocolConfiguration conf) {
        return chosen.getOrDefault(conf.name(), chosenEverywhere);
    }

    /**
     * Chooses every tuned method's settings on a base model (first seed; the first recipe, or each
     * with {@code --tune-per-recipe}), forgetting the tuning class.
     */
    private void tune(Tuning tuning, List<ProtocolConfiguration> configurations) throws IOException {
        List<ProtocolMethod> all = new ArrayList<>(options.methods());
        if (options.sequential != null) {
            all.addAll(options.sequentialMethods());
        }
        List<String> done = new ArrayList<>();
        for (ProtocolConfiguration target : configurations) {
            if (done.contains(target.name()) || (!options.tunePerRecipe && !done.isEmpty())) {
                continue;
            }
            done.add(target.name());
            if (bases.record(target).isEmpty()) {
                continue;
            }
            // each recipe's own sweeps: the methods that run on it; else every method, on the first recipe
            List<Method> methods = options.tunePerRecipe ? ProtocolMethods.tunedMethods(all, target.exact())
                    : ProtocolMethods.tunedMethods(all);
            Map<Method, List<Candidate>> grids = Tuning.grids(methods);
            log("tuning %d methods on the %s base model (seed %d), forgetting class %d (%s): %d candidates each",
                    methods.size(), target.name(), target.seed(), options.tuneClass,
                    splits.classNames().get(options.tuneClass), grids.isEmpty() ? 0 : grids.values().iterator().next().size());
            ChosenSettings c = ChosenSettings.defaults();
            for (Method m : methods) {
                JsonObject describe = new JsonObject();
                describe.addProperty("recipe", target.name());
                describe.addProperty("seed", target.seed());
                Optional<Tuning.Result> r = tuning.run(bases.key(target), bases.directory(target),
                        request(options.tuneClass, target.seed()), m, grids.get(m), describe);
                if (r.isPresent()) {
                    c = c.with(m, r.get().chosen());
                    results.tuning(target.name(), r.get());
                }
            }
            if (options.tunePerRecipe) {
                chosen.put(target.name(), c);
            } else {
                chosenEverywhere = c;
            }
        }
        results.chosenPerRecipe(options.tunePerRecipe);
    }

    private void runConfiguration(ProtocolConfiguration conf) throws IOException {
        Optional<JsonObject> base = bases.record(conf);
        if (base.isEmpty()) {
            return;
        }
        results.add(base.get());
        String baseKey = bases.key(conf);
        for (int forgetClass : options.classes) {
            if (!conf.deletable(forgetClass)) {
                sayOnce("public-" + conf.name() + "-" + forgetClass, "class %d is public in the %s configuration (it trained"
                        + " the shared trunk): not forgotten there", forgetClass, conf.name());
                continue;
            }
            JsonObject retrain = null;
            if (!options.skipRetrain) {
                retrain = retrainRecord(conf, forgetClass).orElse(null);
                if (retrain == null) {
                    continue; // --report-only, and not cached
                }
                results.add(Records.compare(retrain, retrain));
            }
            for (ProtocolMethod method : options.methods()) {
                if (!method.runsOn(conf.exact())) {
                    skipped(method, conf);
                    continue;
                }
                Unlearner u = method.configure(request(forgetClass, conf.seed()), chosen(conf));
                // keyed by the settings the library resolves: methods that resolve alike share the run
                String key = RunCache.key("run", baseKey, forgetClass, u.settings().toJson(), evaluator);
                Optional<JsonObject> record = runs.get(key);
                if (record.isEmpty() && options.reportOnly) {
                    continue;
                }
                if (record.isEmpty()) {
                    record = Optional.of(runMethod(conf, method, u, forgetClass));
                    runs.put(key, record.get());
                }
                JsonObject named = Records.as(record.get(), method.name(), method.settingsName(chosen(conf)));
                named.addProperty("recipe", conf.name());
                results.add(Records.compare(named, retrain));
                results.write(false);
            }
        }
    }

    /** Says once per method and kind of base model why a method does not run there. */
    private void skipped(ProtocolMethod method, ProtocolConfiguration conf) {
        if (conf.exact()) {
            sayOnce("skip-exact-" + method.name(), "%s: not run on the exact configurations (there only exact deletion"
                    + " and, for contrast, fine-tune and ours-head run)", method.name());
        } else {
            sayOnce("skip-joint-" + method.name(), "%s: not run on %s nor any other base model without a deletable"
                    + " class outside the trunk: exact deletion needs an exact configuration (--recipes exact or"
                    + " fast-exact)",
                    method.name(), conf.name());
        }
    }

    private void sayOnce(String key, String format, Object... args) {
        if (said.add(key)) {
            log(format, args);
        }
    }

    /**
     * The key of a Retrain's records: on a jointly trained base, the base of the same architecture
     * and recipe trained without the classes; on a phased configuration, its own training ({@code
     * ExactTraining} with the plan) without them, the model an exact deletion must equal.
     */
    private String retrainKey(String kind, ProtocolConfiguration conf, List<Integer> without) {
        String model = conf.phased() ? bases.exactReferenceKey(conf, without)
                : ModelCache.key(splits, conf.config(), conf.recipe());
        List<Object> parts = new ArrayList<>();
        parts.add(model);
        parts.addAll(without); // each class a part: the keys of records cached before exact Retrains stay as they were
        parts.add(conf.seed());
        parts.add(evaluator);
        return RunCache.key(kind, parts.toArray());
    }

    /** The Retrain oracle of a configuration (see {@link #retrainKey}); its training time is the oracle's time. */
    private TrainedModel retrainModel(ProtocolConfiguration conf, List<Integer> without) throws IOException {
        return conf.phased() ? bases.exactReference(conf, without) : bases.retrain(conf, without, conf.seed());
    }

    /** The Retrain record of a cell: cached, or the oracle trained (or read from the model cache) and evaluated. */
    private Optional<JsonObject> retrainRecord(ProtocolConfiguration conf, int forgetClass) throws IOException {
        String key = retrainKey("retrain", conf, List.of(forgetClass));
        Optional<JsonObject> cached = runs.get(key);
        if (cached.isEmpty() && !options.reportOnly) {
            try (TrainedModel retrained = retrainModel(conf, List.of(forgetClass))) {
                log("evaluating the Retrain oracle ...");
                UnlearningEvaluation e = evaluator.evaluate(retrained.model(), forgetClass);
                JsonObject o = Records.retrained(conf.seed(), seconds(retrained), e);
                runs.put(key, o);
                cached = Optional.of(o);
            }
        }
        return cached.map(o -> {
            JsonObject c = o.deepCopy();
            c.addProperty("recipe", conf.name());
            return c;
        });
    }

    private static double seconds(TrainedModel m) {
        return Double.parseDouble(m.metadata(SavedModels.UNLEARN_SECONDS).orElse("NaN"));
    }

    private JsonObject runMethod(ProtocolConfiguration conf, ProtocolMethod method, Unlearner unlearner,
            int forgetClass) throws IOException {
        log("%s on class %d (%s), %s seed %d ...", method.name(), forgetClass, splits.classNames().get(forgetClass),
                conf.name(), conf.seed());
        Reference reference = method.method() == Method.EXACT && conf.exact()
                ? reference(conf, List.of(forgetClass)) : null;
        try (Model base = MoeResNet.load(bases.directory(conf))) {
            UnlearningResult r = unlearner.from(base).optProgress(ProtocolCommand::log).retrain();
            try (Model after = r.model()) {
                JsonObject check = reference == null ? null : reference.check(after);
                UnlearningEvaluation e = evaluator.evaluate(after, forgetClass, base);
                log("%s", e.toTable());
                JsonObject o = Records.unlearned(method.name(), conf.seed(), r, e);
                if (check != null) {
                    o.add("exactCheck", check);
                }
                return o;
            }
        }
    }

    /** The exact reference of a deletion, as a fingerprint with its training time and threads. */
    private record Reference(Map<String, String> fingerprint, double seconds, String threads) {
        JsonObject check(Model deleted) {
            JsonObject c = ExactCheck.compare(ExactCheck.fingerprint(deleted), fingerprint);
            c.addProperty("referenceSeconds", seconds);
            c.addProperty("referenceThreads", threads);
            c.addProperty("threads", RuntimeOptions.effectiveThreads());
            log("exact deletion vs ExactTraining without the class: %s",
                    c.get("bitIdentical").getAsBoolean() ? "bit-identical" : c.get("differing") + " tensors differ");
            return c;
        }
    }

    private Reference reference(ProtocolConfiguration conf, List<Integer> without) throws IOException {
        try (TrainedModel ref = bases.exactReference(conf, without)) {
            return new Reference(ExactCheck.fingerprint(ref.model()), seconds(ref),
                    ref.metadata(SavedModels.THREADS).orElse("?"));
        }
    }

    /**
     * Sequential requests ({@code --sequential A,B}): each method forgets A, then B from the result;
     * compared with a Retrain without both (the library's Retrain asked to forget B from the Retrain
     * without A trains on the data without both) and, on an exact configuration, with {@code
     * ExactTraining} without both.
     */
    private void sequential(ProtocolConfiguration conf) throws IOException {
        int a = options.sequential.values()[0];
        int b = options.sequential.values()[1];
        if (!conf.deletable(a) || !conf.deletable(b)) {
            log("sequential requests %d then %d: skipped on %s (a public class)", a, b, conf.name());
            return;
        }
        if (bases.record(conf).isEmpty()) {
            return;
        }
        String key = retrainKey("sequential-retrain", conf, List.of(a, b));
        Optional<JsonObject> retrain = runs.get(key);
        if (retrain.isEmpty() && !options.reportOnly && !options.skipRetrain) {
            try (TrainedModel m = retrainModel(conf, List.of(a, b))) {
                log("evaluating the Retrain oracle without classes %d and %d ...", a, b);
                JsonObject o = sequentialRecord(ProtocolMethods.RETRAIN, conf.seed(), a, b,
                        Records.retrained(conf.seed(), seconds(m), evaluator.evaluate(m.model(), a)),
                        Records.retrained(conf.seed(), seconds(m), evaluator.evaluate(m.model(), b)));
                int expected = splits.labeledTrain().indicesExcept(Set.of(a, b)).length;
                int trained = Integer.parseInt(m.metadata(SavedModels.RETAIN_IMAGES).orElse("-1"));
                o.addProperty("retainImages", trained);
                o.addProperty("trainedWithoutBoth", trained == expected);
                o.addProperty("seconds", seconds(m));
                runs.put(key, o);
                retrain = Optional.of(o);
            }
        }
        if (retrain.isEmpty() && !options.skipRetrain) {
            return; // --report-only, and not cached
        }
        JsonObject reference = retrain.map(JsonObject::deepCopy).orElse(null);
        if (reference != null) {
            reference.addProperty("recipe", conf.name());
            results.add(Records.compareSequential(reference, reference));
        }
        for (ProtocolMethod method : options.sequentialMethods()) {
            if (!method.runsOn(conf.exact())) {
                skipped(method, conf);
                continue;
            }
            Unlearner first = method.configure(request(a, conf.seed()), chosen(conf));
            Unlearner second = method.configure(request(b, conf.seed()), chosen(conf));
            String runKey = RunCache.key("sequential", bases.key(conf), a, b, first.settings().toJson(),
                    second.settings().toJson(), evaluator);
            Optional<JsonObject> record = runs.get(runKey);
            if (record.isEmpty() && options.reportOnly) {
                continue;
            }
            if (record.isEmpty()) {
                record = Optional.of(runSequential(conf, method, first, second, a, b));
                runs.put(runKey, record.get());
            }
            JsonObject named = Records.as(record.get(), method.name(), method.settingsName(chosen(conf)));
            named.addProperty("recipe", conf.name());
            results.add(Records.compareSequential(named, reference));
            results.write(false);
        }
    }

    private JsonObject runSequential(ProtocolConfiguration conf, ProtocolMethod method, Unlearner first,
            Unlearner second, int a, int b) throws IOException {
        log("%s: class %d (%s), then class %d (%s), %s seed %d ...", method.name(), a, splits.classNames().get(a), b,
                splits.classNames().get(b), conf.name(), conf.seed());
        Reference reference = method.method() == Method.EXACT && conf.exact() ? reference(conf, List.of(a, b)) : null;
        try (Model base = MoeResNet.load(bases.directory(conf))) {
            UnlearningResult ra = first.from(base).optProgress(ProtocolCommand::log).retrain();
            try (Model afterA = ra.model()) {
                UnlearningResult rb = second.from(afterA).optProgress(ProtocolCommand::log).retrain();
                try (Model afterB = rb.model()) {
                    JsonObject check = reference == null ? null : reference.check(afterB);
                    JsonObject o = sequentialRecord(method.name(), conf.seed(), a, b,
                            Records.unlearned(method.name(), conf.seed(), ra, evaluator.evaluate(afterB, a, base)),
                            Records.unlearned(method.name(), conf.seed(), rb, evaluator.evaluate(afterB, b, base)));
                    o.addProperty("seconds", ra.seconds() + rb.seconds());
                    JsonArray forgotten = new JsonArray();
                    rb.forgottenClasses().forEach(forgotten::add);
                    o.add("forgottenClasses", forgotten);
                    if (check != null) {
                        o.add("exactCheck", check);
                    }
                    return o;
                }
            }
        }
    }

    /**
     * A sequential record: {@code kind} "sequential", the method, seed and classes, {@code first}
     * and {@code second} (the final model's records for A and for B), and {@code othersTestAccuracy}
     * (mean test accuracy of the classes other than both).
     */
    private JsonObject sequentialRecord(String method, long seed, int a, int b, JsonObject first, JsonObject second) {
        JsonObject o = new JsonObject();
        o.addProperty("kind", "sequential");
        o.addProperty("method", method);
        o.addProperty("seed", seed);
        JsonArray classes = new JsonArray();
        classes.add(a);
        classes.add(b);
        o.add("classes", classes);
        o.addProperty("classNames", splits.classNames().get(a) + ", " + splits.classNames().get(b));
        double[] perClass = UnlearningEvaluation.fromJson(second.getAsJsonObject("evaluation")).perClassTestAccuracy();
        double sum = 0;
        int n = 0;
        for (int c = 0; c < perClass.length; c++) {
            if (c != a && c != b) {
                sum += perClass[c];
                n++;
            }
        }
        o.addProperty("othersTestAccuracy", sum / Math.max(1, n));
        o.add("first", first);
        o.add("second", second);
        return o;
    }

    static void log(String format, Object... args) {
        System.err.println("[protocol] " + String.format(Locale.ROOT, format, args));
    }

    static void log(String line) {
        System.err.println("[protocol] " + line);
    }
}
