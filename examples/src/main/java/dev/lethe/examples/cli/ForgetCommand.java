package dev.lethe.examples.cli;

import ai.djl.Model;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.eval.UnlearningEvaluator;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.IDefaultValueProvider;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code lethe forget}: makes a saved model forget a class, then writes the model and a report. */
@Command(
        name = "forget",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        defaultValueProvider = ForgetCommand.LibraryDefaults.class,
        description = {
            "Make a saved model forget a class: profile the class's routing, reset its experts and retrain them"
                    + " without it (or run another method), and measure UA, RA, TA, MIA-Efficacy and per-class test"
                    + " accuracy before and after.",
            "Writes <out>/model (the new model), <out>/audit.json (check it with `lethe audit verify`),"
                    + " <out>/report.json, <out>/report.md and PNG charts."
        })
final class ForgetCommand implements Callable<Integer> {

    @Mixin private ModelInput modelInput;

    @Option(names = "--class", paramLabel = "CLASS", required = true,
            description = "The class to forget: an id (3) or a name (cat).")
    private String forgetClass;

    @Option(names = "--method", paramLabel = "NAME", defaultValue = "reset-retrain",
            converter = Converters.MethodConverter.class, completionCandidates = Converters.MethodCandidates.class,
            description = "Method: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    private Method method;

    @Option(names = "--scope", paramLabel = "NAME",
            converter = Converters.ScopeConverter.class, completionCandidates = Converters.ScopeCandidates.class,
            description = "What reset-retrain and expert-targeted may change: ${COMPLETION-CANDIDATES} (default:"
                    + " the library's, ${DEFAULT-VALUE}).")
    private Scope scope;

    @Option(names = "--epochs", paramLabel = "N",
            description = "Passes over the forgotten class's images (default: the library's, ${DEFAULT-VALUE}).")
    private int epochs = UnlearningSettings.defaults().epochs();

    @Option(names = "--lr", paramLabel = "LR",
            description = "Adam learning rate (default: the method's own, recorded in report.json under"
                    + " unlearning.audit.configuration).")
    private Float learningRate;

    @Option(names = "--retrain-epochs", paramLabel = "N",
            description = "For --method retrain: epochs of the retraining (default: the model's recipe).")
    private Integer retrainEpochs;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "0",
            description = "Seed of sampling (and of initialisation for retrain) (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--retrain-model", paramLabel = "DIR",
            description = "A model retrained without the class (e.g. from --method retrain): adds its metrics,"
                    + " Avg. Gap and its time to the report.")
    private Path retrainDir;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Output folder (default: <model>-forget-<class>-<method>).")
    private Path out;

    @Option(names = "--retain-sample", paramLabel = "N",
            description = "Measure RA on N sampled retain images (default: all, the protocol).")
    private Integer retainSample;

    @Option(names = "--mia-per-side", paramLabel = "N",
            description = "Train the MIA's SVM on N members + N non-members (default: |test|, the protocol).")
    private Integer miaPerSide;

    @Spec private CommandSpec spec;

    @Mixin private DataOptions data;
    @Mixin private OutputOptions output;
    @Mixin private RuntimeOptions runtime;

    @Override
    public Integer call() throws Exception {
        runtime.apply();
        OptionChecks.atLeast(spec, "--epochs", epochs, 1);
        OptionChecks.positive(spec, "--lr", learningRate);
        OptionChecks.atLeast(spec, "--retrain-epochs", retrainEpochs, 1);
        OptionChecks.atLeast(spec, "--retain-sample", retainSample, 1);
        OptionChecks.atLeast(spec, "--mia-per-side", miaPerSide, 1);
        if (method == Method.RESET_RETRAIN && scope != null && !scope.usesExperts()) {
            throw new ParameterException(spec.commandLine(), String.format(Locale.ROOT,
                    "--scope %s names no experts, and reset-retrain (the default --method) resets the class's"
                            + " experts; add --method expert-targeted to edit without a reset",
                    Converters.cliName(scope)));
        }
        data.check();
        Path input = modelInput.folder();
        Path retrainInput = retrainDir == null ? null : SavedModels.resolve(retrainDir);
        if (out != null) {
            output.check("--out", out, SavedModels.nested(out), input, retrainInput);
        }
        PrintStream log = System.err;
        try (TrainedModel original = TrainedModel.load(input);
                TrainedModel retrain = retrainInput == null ? null : TrainedModel.load(retrainInput)) {
            OptionChecks.classIdInRange(spec, "--class", forgetClass, original.config().numClasses());
            TrainingRecipe retrainRecipe = method == Method.RETRAIN ? retrainRecipe(original) : null;
            CifarSplits splits = data.load(DataOptions.variantOf(original), DataOptions.splitSeedOf(original), false,
                    log);
            ProfileCommand.checkClasses(original, splits);
            int classId = OptionChecks.classId(spec, splits, forgetClass);
            Path dir = out != null ? out : defaultOut(original, splits.classNames().get(classId));
            Path modelOut = SavedModels.nested(dir);
            if (out == null) {
                output.check("the default output folder", dir, modelOut, input, retrainInput);
            }
            Unlearner unlearner = OptionChecks.build(spec, "unlearning options", () -> {
                Unlearner u = Unlearner.forClass(classId).method(method).optEpochs(epochs).optSeed(seed);
                if (scope != null) {
                    u = u.optScope(scope);
                }
                if (learningRate != null) {
                    u = u.optLearningRate(learningRate);
                }
                return retrainRecipe != null ? u.optRetrainRecipe(retrainRecipe) : u;
            });
            int rs = retainSample == null ? UnlearningEvaluator.ALL : retainSample;
            int mia = miaPerSide == null ? UnlearningEvaluator.ALL : miaPerSide;
            ForgetReport report = ForgetRun.run(original, splits, classId, unlearner, seed, rs, mia, retrain, log);
            UnlearningResult result = report.result();
            if (result.status() != UnlearningResult.Status.DONE) {
                System.out.println(result.message());
                return 0;
            }
            try (Model forgotten = result.model()) {
                MoeResNet.save(forgotten, modelOut, derivedMetadata(original, result, seed));
                ForgetReport.Builder b = report.toBuilder()
                        .optModels(original.directory().orElseThrow().toAbsolutePath().normalize().toString(),
                                modelOut.toAbsolutePath().normalize().toString(), original.config().toString());
                result.oracle().ifPresent(o -> b.addNote(o.toString() + "."));
                if (method == Method.RETRAIN && original.recipe().isEmpty()) {
                    b.addNote("The model records no training recipe: the Retrain reference used the plain recipe"
                            + " (" + retrainRecipe + "), which may differ from the model's own training.");
                }
                if (method == Method.RETRAIN && legacyAugmentation(original)) {
                    b.addNote("The model was trained by an earlier command line on data augmented by random crops"
                            + " (zero padding) and flips; the Retrain reference's recipe augments with flips and"
                            + " 4-pixel translations (reflected borders): close, not identical.");
                }
                report = b.build();
                List<Path> files = new ArrayList<>(Reports.write(dir, report));
                Path audit = dir.resolve(AuditCommand.AUDIT_JSON);
                Reports.writeJson(audit, result.audit().toJson());
                files.add(audit);
                print(report, result);
                System.out.println("saved the new model to " + modelOut.toAbsolutePath().normalize());
                files.forEach(f -> System.out.println("wrote " + f.toAbsolutePath().normalize()));
            }
        }
        return 0;
    }

    /**
     * The recipe of a Retrain reference, when the library's default (the model's own recipe,
     * {@code RetrainOracle}) is not what was asked: with {@code --retrain-epochs}; for a model
     * that records no recipe, the plain recipe; for a model an earlier command line trained on
     * augmented data ({@link SavedModels#LEGACY_AUGMENTATION}) under a recipe that does not augment,
     * that recipe with random flips and 4-pixel translations, the closest the recipe can say.
     *
     * @return the recipe to pass to {@code optRetrainRecipe}, or null for the library's default
     */
    TrainingRecipe retrainRecipe(TrainedModel original) {
        boolean legacy = legacyAugmentation(original);
        if (retrainEpochs == null && original.recipe().isPresent() && !legacy) {
            return null;
        }
        TrainingRecipe.Builder b = original.recipe().orElse(TrainingRecipe.plain()).toBuilder();
        if (legacy) {
            b.optAugmentation(TrainingRecipe.Flip.RANDOM, 4);
        }
        if (retrainEpochs != null) {
            b.optEpochs(retrainEpochs);
        }
        return OptionChecks.build(spec, "--retrain-epochs", b::build);
    }

    /** Whether an earlier command line trained the model on augmented data with a recipe that does not augment. */
    private static boolean legacyAugmentation(TrainedModel original) {
        return original.metadata(SavedModels.LEGACY_AUGMENTATION).map(SavedModels.LEGACY_DATASET_AUGMENTATION::equals)
                .orElse(false) && original.recipe().map(r -> !r.augments()).orElse(true);
    }

    private Path defaultOut(TrainedModel original, String className) {
        Path source = original.directory().orElseThrow().toAbsolutePath().normalize();
        Path base = source.getFileName().toString().equals("model") && source.getParent() != null
                ? source.getParent() : source;
        return base.resolveSibling(base.getFileName() + "-forget-" + className + "-" + Converters.cliName(method));
    }

    /**
     * The metadata of a model derived by unlearning: the original's (data set, recipe, split) plus
     * method, time and source.
     */
    static Map<String, String> derivedMetadata(TrainedModel original, UnlearningResult result, long seed) {
        Map<String, String> meta = new LinkedHashMap<>(original.metadata());
        meta.remove(SavedModels.TEST_ACCURACY);
        meta.remove(SavedModels.TEST_ACCURACY_FLIP_AVERAGED);
        meta.remove(SavedModels.VALIDATION_ACCURACY);
        meta.remove(SavedModels.LEGACY_RECIPE); // the model's recipe property is saved by the library
        meta.remove(SavedModels.LEGACY_FORGOTTEN_CLASSES);
        meta.remove("created"); // written by earlier command lines; the library records both now
        meta.remove("letheVersion");
        meta.remove(SavedModels.LEGACY_AUGMENTATION); // the recipe says how the data was augmented
        meta.put(SavedModels.METHOD, result.method().name());
        meta.put("scope", result.scope().name());
        meta.put("unlearnSeed", String.valueOf(seed));
        meta.put(SavedModels.UNLEARN_SECONDS, String.format(Locale.ROOT, "%.2f", result.seconds()));
        meta.put(SavedModels.THREADS, String.valueOf(RuntimeOptions.effectiveThreads()));
        original.directory().ifPresent(d -> meta.put(SavedModels.SOURCE_MODEL, d.toAbsolutePath().normalize().toString()));
        return meta;
    }

    static void print(ForgetReport report, UnlearningResult result) {
        PrintStream o = System.out;
        o.println();
        o.print(result.toTable());
        o.println();
        Map<String, dev.lethe.eval.UnlearningEvaluation> columns = new LinkedHashMap<>();
        columns.put("before", report.before());
        columns.put("after", report.after());
        report.retrain().ifPresent(r -> columns.put("retrain", r));
        o.print(Reports.comparisonTable(columns, report.retrain().orElse(null)));
        o.println();
        List<String> names = report.classNames();
        double[] b = report.before().perClassTestAccuracy();
        double[] a = report.after().perClassTestAccuracy();
        o.printf(Locale.ROOT, "%-16s%10s%10s%n", "test acc. (%)", "before", "after");
        for (int c = 0; c < b.length && c < 20; c++) {
            o.printf(Locale.ROOT, "%-16s%10.2f%10.2f%s%n", names.get(c), b[c], a[c],
                    c == report.forgetClass() ? "   <- forgotten" : "");
        }
        if (b.length > 20) {
            o.println("... (all classes in report.md)");
        }
        report.notes().forEach(n -> o.println("note: " + n));
    }

    /**
     * The defaults the library decides, shown by {@code --help} and never restated here: {@code
     * --scope} is the default method's default scope ({@link UnlearningSettings#effectiveScope()} of
     * {@link UnlearningSettings#defaults()}).
     */
    static final class LibraryDefaults implements IDefaultValueProvider {
        @Override
        public String defaultValue(ArgSpec argument) {
            if (argument.isOption() && ((OptionSpec) argument).longestName().equals("--scope")) {
                return Converters.cliName(UnlearningSettings.defaults().effectiveScope());
            }
            return null;
        }
    }
}
