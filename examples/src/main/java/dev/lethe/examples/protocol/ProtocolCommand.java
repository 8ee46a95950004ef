package dev.lethe.examples.protocol;

import ai.djl.Model;
import com.google.gson.JsonObject;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.UnlearningEvaluator;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.examples.cli.ArchitectureOptions;
import dev.lethe.examples.cli.CifarSplits;
import dev.lethe.examples.cli.DataOptions;
import dev.lethe.examples.cli.ModelCache;
import dev.lethe.examples.cli.RuntimeOptions;
import dev.lethe.examples.cli.SavedModels;
import dev.lethe.examples.cli.TrainedModel;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * The field's class-wise forgetting protocol on CIFAR-10 (Jia et al. 2023; Fan et al. 2024), run
 * end to end and written to {@code docs/RESULTS.md} and {@code docs/results/cifar10-classwise.json}.
 * A shell over the library: it parses options and runs the loop; the parts are classes of this
 * package.
 *
 * <p>For each training recipe and seed it trains (or reuses) the base model ({@link BaseModels});
 * for each forgotten class the Retrain oracle, trained like the base model; then every method of
 * {@code --methods} ({@link ProtocolMethods}). Every model is evaluated by the library's {@link
 * UnlearningEvaluator}: UA, RA, TA, MIA-Efficacy with its attacker's accuracy, linear probes at every
 * MoE stage and the penultimate layer, the class-membership attack, relearning curves (few-shot and
 * retain-only) and the routing shift; each method's record is compared with the Retrain record of
 * the same cell ({@link Records#compare}). With {@code --tune}, ours' settings are chosen first on
 * the validation split ({@link Tuning}, the library's ValidationSweep over {@link OursGrid}).
 * Hyperparameters are never read from the test set.
 *
 * <p>Everything is cached under {@code --cache}: the models in {@code models/} (the command line's
 * {@link ModelCache}), each evaluated run's record in {@code runs/} ({@link RunCache}), keyed by
 * what made it (the base model's key, the class, the method's effective settings, the evaluator),
 * so that a rerun trains and unlearns nothing and writes the same records.
 */
@Command(
        name = "protocol",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = "Run the class-wise forgetting protocol on CIFAR-10 and write docs/RESULTS.md.")
public final class ProtocolCommand implements Callable<Integer> {

    /** The protocol's default widths (today's; the fast layout will bring its own). */
    private static final int[] WIDTHS = {16, 32, 64};

    @Spec
    CommandSpec spec;

    @Mixin
    ProtocolOptions options;

    @Mixin
    ArchitectureOptions architecture = new ArchitectureOptions(WIDTHS);

    @Mixin
    RuntimeOptions runtime;

    private CifarSplits splits;
    private RunCache runs;
    private BaseModels bases;
    private UnlearningEvaluator evaluator;
    private ResultsReport results;
    private Candidate ours = OursGrid.libraryDefaults();

    @Override
    public Integer call() throws Exception {
        int numClasses = CifarVariant.CIFAR10.numClasses(LabelMode.FINE);
        options.check(numClasses);
        options.seeds.forEach(seed -> architecture.config(numClasses, seed));
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
                RuntimeOptions.effectiveThreads(), tuning.maxForgetAccuracy(), ours.name());
        log("protocol on %s; recipes %s, classes %s, seeds %s, %d epochs, %s, %d threads", dataPath, options.recipes,
                options.classes, options.seeds, options.epochs, architecture.commandLine(),
                RuntimeOptions.effectiveThreads());
        if (options.tune) {
            tune(tuning);
        }
        for (String recipeName : options.recipes) {
            for (long seed : options.seeds) {
                runRecipe(recipeName, seed);
            }
        }
        results.write();
        return 0;
    }

    /** The request every method of a cell shares: the class, the data, the epochs and the seed. */
    private Unlearner request(int forgetClass, long seed) {
        return Unlearner.forClass(forgetClass).using(splits.labeledTrain()).optEpochs(options.unlearnEpochs)
                .optSeed(seed);
    }

    /** Chooses ours' settings on the first recipe's base model (first seed), forgetting the first class. */
    private void tune(Tuning tuning) throws IOException {
        String recipeName = options.recipes.get(0);
        long seed = options.seeds.get(0);
        int forgetClass = options.classes.get(0);
        TrainingRecipe recipe = options.recipe(recipeName, seed);
        MoeResNet.Config config = architecture.config(splits.numClasses(), seed);
        if (bases.record(recipeName, config, recipe).isEmpty()) {
            return;
        }
        JsonObject describe = new JsonObject();
        describe.addProperty("recipe", recipeName);
        describe.addProperty("seed", seed);
        describe.addProperty("forgetClass", forgetClass);
        Optional<Tuning.Result> r = tuning.run(bases.key(config, recipe), bases.directory(config, recipe),
                request(forgetClass, seed), OursGrid.GRID, describe);
        if (r.isPresent()) {
            ours = r.get().chosen();
            results.tuning(r.get().records(), ours.name());
        }
    }

    private void runRecipe(String recipeName, long seed) throws IOException {
        TrainingRecipe recipe = options.recipe(recipeName, seed);
        MoeResNet.Config config = architecture.config(splits.numClasses(), seed);
        Optional<JsonObject> base = bases.record(recipeName, config, recipe);
        if (base.isEmpty()) {
            return;
        }
        results.add(base.get());
        String baseKey = bases.key(config, recipe);
        for (int forgetClass : options.classes) {
            JsonObject retrain = null;
            if (!options.skipRetrain) {
                retrain = retrainRecord(recipeName, config, recipe, forgetClass, seed).orElse(null);
                if (retrain == null) {
                    continue; // --report-only, and not cached
                }
                results.add(Records.compare(retrain, retrain));
            }
            for (ProtocolMethod method : options.methods()) {
                Unlearner u = method.configure(request(forgetClass, seed), ours);
                // keyed by the settings the library resolves: methods that resolve alike share the run
                String key = RunCache.key("run", baseKey, forgetClass, u.settings().toJson(), evaluator);
                Optional<JsonObject> record = runs.get(key);
                if (record.isEmpty() && options.reportOnly) {
                    continue;
                }
                if (record.isEmpty()) {
                    record = Optional.of(runMethod(bases.directory(config, recipe), method, u, recipeName, forgetClass,
                            seed));
                    runs.put(key, record.get());
                }
                results.add(Records.compare(Records.as(record.get(), method.name(), method.tuned() ? ours.name() : null),
                        retrain));
                results.write();
            }
        }
    }

    /** The Retrain record of a cell: cached, or the oracle trained (or read from the model cache) and evaluated. */
    private Optional<JsonObject> retrainRecord(String recipeName, MoeResNet.Config config, TrainingRecipe recipe,
            int forgetClass, long seed) throws IOException {
        String key = RunCache.key("retrain", bases.key(config, recipe), forgetClass, seed, evaluator);
        Optional<JsonObject> cached = runs.get(key);
        if (cached.isPresent() || options.reportOnly) {
            return cached;
        }
        try (TrainedModel retrained = bases.retrain(config, recipe, forgetClass, seed)) {
            double seconds = Double.parseDouble(retrained.metadata(SavedModels.UNLEARN_SECONDS).orElse("NaN"));
            log("evaluating the Retrain oracle ...");
            UnlearningEvaluation e = evaluator.evaluate(retrained.model(), forgetClass);
            JsonObject o = Records.retrained(seed, seconds, e);
            o.addProperty("recipe", recipeName);
            runs.put(key, o);
            return Optional.of(o);
        }
    }

    private JsonObject runMethod(Path baseDir, ProtocolMethod method, Unlearner unlearner, String recipeName,
            int forgetClass, long seed) throws IOException {
        log("%s on class %d (%s), seed %d ...", method.name(), forgetClass, splits.classNames().get(forgetClass), seed);
        try (Model base = MoeResNet.load(baseDir)) {
            UnlearningResult r = unlearner.from(base).optProgress(ProtocolCommand::log).retrain();
            try (Model after = r.model()) {
                UnlearningEvaluation e = evaluator.evaluate(after, forgetClass, base);
                log("%s", e.toTable());
                JsonObject o = Records.unlearned(method.name(), seed, r, e);
                o.addProperty("recipe", recipeName);
                return o;
            }
        }
    }

    static void log(String format, Object... args) {
        System.err.println("[protocol] " + String.format(Locale.ROOT, format, args));
    }

    static void log(String line) {
        System.err.println("[protocol] " + line);
    }
}
