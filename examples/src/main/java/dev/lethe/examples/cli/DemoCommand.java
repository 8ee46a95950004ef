package dev.lethe.examples.cli;

import ai.djl.Model;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code lethe demo}: the whole story on real CIFAR-10 in minutes on a laptop CPU. Trains a small
 * MoE CNN (the fast layout and recipe) with class-aware routing (or reuses the cached one), makes it forget a class with the
 * library's default method (reset the class's experts, retrain them without it), prints the before / after table and
 * writes the report.
 */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Train a small MoE CNN on CIFAR-10 (or reuse the cached one), forget one class by resetting its"
                    + " experts and retraining them without it, print the metrics before and after and write a"
                    + " report with charts.",
            "Budget: measured 7 min 35 s on 2 idle CPU cores from scratch (a model of 82.6 %% test accuracy; 13.6 min"
                    + " on one core), about 2 minutes with the cached model."
                    + " Evaluation uses samples (RA on 5,000 retain images, MIA SVM on 2,000 + 2,000) for speed."
        })
final class DemoCommand implements Callable<Integer> {

    /**
     * Demo model: the fast layout ({@link MoeResNet.Config.BaseBuilder#optFastLayout()}) at widths
     * 32, 128, 128, the MoE in stage 3 with 8 experts, top-2.
     */
    static final int[] WIDTHS = {32, 128, 128};

    /** Demo epochs: the fast recipe with class-aware routing over all 45,000 training images. */
    static final int EPOCHS = 3;

    @Spec private CommandSpec spec;

    @Option(names = "--class", paramLabel = "CLASS", defaultValue = "cat",
            description = "Class to forget, id or name (default: ${DEFAULT-VALUE}).")
    private String forgetClass;

    @Option(names = "--method", paramLabel = "NAME", defaultValue = "reset-retrain",
            converter = Converters.MethodConverter.class, completionCandidates = Converters.MethodCandidates.class,
            description = "Method: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    private Method method;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "" + EPOCHS,
            description = "Training epochs of the demo model (default: ${DEFAULT-VALUE}).")
    private int epochs;

    @Option(names = "--train-images", paramLabel = "N", defaultValue = "0",
            description = "Train on the first N images of the 45k training split (default: ${DEFAULT-VALUE};"
                    + " 0 = all).")
    private int trainImages;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "0",
            description = "Seed of training and unlearning (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Report folder; the new model goes to DIR/model (default: .lethe/demo, the demo's own"
                    + " folder, replaced on every run; a folder you name is written over only with --overwrite).")
    private Path out;

    @Option(names = "--cache", paramLabel = "DIR", description = "Model cache (default: .lethe/cache).")
    private Path cache;

    @Option(names = "--fresh", description = "Train a new model even if a cached one exists.")
    private boolean fresh;

    @Option(names = "--data", paramLabel = "PATH",
            description = "CIFAR-10 binary archive or folder (default: ../shared/data, else ~/.lethe/cifar).")
    private Path data;

    @Option(names = "--download", description = "Download CIFAR-10 (163 MB) if it is not found.")
    private boolean download;

    @Mixin private OutputOptions output;
    @Mixin private RuntimeOptions runtime;

    /** The recipe the model records, in words: "forget-ready recipe, 6 epochs". */
    static String recipeText(TrainedModel model) {
        return model.recipe().map(r -> r.name() + " recipe" + (r.mutualInformation() > 0 ? " (class-aware routing)" : "")
                + ", " + r.epochs() + (r.epochs() == 1 ? " epoch" : " epochs")).orElse("no recorded recipe");
    }

    @Override
    public Integer call() throws Exception {
        runtime.apply();
        long start = System.nanoTime();
        PrintStream log = System.err;
        OptionChecks.atLeast(spec, "--epochs", epochs, 1);
        OptionChecks.atLeast(spec, "--train-images", trainImages, 0);
        OptionChecks.classIdInRange(spec, "--class", forgetClass, CifarVariant.CIFAR10.numClasses(LabelMode.FINE));
        Path dir = out != null ? out : RuntimeOptions.home().resolve(".lethe").resolve("demo");
        ModelCache models = new ModelCache(cache != null ? cache : ModelCache.defaultRoot());
        if (out != null) {
            output.check("--out", out, SavedModels.nested(out), models.root());
        }
        TrainingRecipe base = Recipes.fastForgetReady();
        TrainingRecipe recipe = Recipes.withEpochs(base.toBuilder(), base, epochs).optSeed(seed).build();
        Path archive = CifarSplits.locate(data, CifarVariant.CIFAR10, download, RuntimeOptions.home());
        CifarSplits.Source source = CifarSplits.load(archive, CifarVariant.CIFAR10);
        DataOptions.checkLimit(spec, "--train-images", trainImages, source.data());
        CifarSplits splits = CifarSplits.of(source, 0, trainImages);
        log.printf(Locale.ROOT, "data: %s from %s%n", splits, archive);
        int classId = OptionChecks.classId(spec, splits, forgetClass);
        MoeResNet.Config config = MoeResNet.Config.builder().optFastLayout().optWidths(WIDTHS[0], WIDTHS[1], WIDTHS[2])
                .optNumExperts(8)
                .optTopK(2).optNumClasses(splits.numClasses()).optSeed(seed).build();
        String key = ModelCache.key(splits, config, recipe);
        if (fresh && models.contains(key)) {
            com.google.common.io.MoreFiles.deleteRecursively(models.directory(key),
                    com.google.common.io.RecursiveDeleteOption.ALLOW_INSECURE);
        }
        log.printf(Locale.ROOT, "model: MoE CNN, fast layout, widths %s, 8 experts, top-2 in stage 3, %.0f MFLOPs/image;"
                + " recipe %s (class-aware routing), %d epochs; %d libtorch thread(s)%n",
                java.util.Arrays.toString(WIDTHS), config.flopsPerImage() / 1e6, recipe.name(), epochs,
                RuntimeOptions.effectiveThreads());
        try (TrainedModel original = models.getOrTrain(splits, config, recipe,
                TrainingProgress.console(log, System.console() != null), log)) {
            double trainedAt = (System.nanoTime() - start) / 1e9;
            // the library's defaults (scope, epochs, learning rate, loss): what a user gets without options
            Unlearner unlearner = Unlearner.forClass(classId).method(method).optSeed(seed);
            ForgetReport report = ForgetRun.run(original, splits, classId, unlearner, seed, 5000, 2000, null, log);
            UnlearningResult result = report.result();
            if (result.status() != UnlearningResult.Status.DONE) {
                System.out.println(result.message());
                return 0;
            }
            try (Model forgotten = result.model()) {
                MoeResNet.save(forgotten, SavedModels.nested(dir), ForgetCommand.derivedMetadata(original, result, seed));
                double total = (System.nanoTime() - start) / 1e9;
                ForgetReport finalReport = report.toBuilder()
                        .optModels(original.directory().map(Object::toString).orElse(null),
                                SavedModels.nested(dir).toString(), original.config().toString())
                        .addNote(String.format(Locale.ROOT,
                                "Demo model: widths %s, %d experts, top-%d, %s on %s training images; test accuracy"
                                        + " %.2f %% (trained in %.0f s).",
                                java.util.Arrays.toString(original.config().widths()), original.config().numExperts(),
                                original.config().topK(), recipeText(original),
                                trainImages == 0 ? "all " + splits.train().size() : "the first " + trainImages,
                                original.testAccuracy(), original.trainSeconds()))
                        .addNote(String.format(Locale.ROOT,
                                "Demo wall time %.0f s (model ready after %.0f s, %s).", total, trainedAt,
                                original.history().isPresent() ? "trained now" : "from the cache"))
                        .addNote("No Retrain reference in the demo: `./lethe forget --model "
                                + original.directory().orElseThrow() + " --class " + forgetClass
                                + " --method retrain` makes one.")
                        .build();
                List<Path> files = Reports.write(dir, finalReport);
                ForgetCommand.print(finalReport, result);
                System.out.printf(Locale.ROOT, "%ndemo finished in %.0f s; report: %s%n", total,
                        dir.resolve(Reports.REPORT_MD).toAbsolutePath().normalize());
                files.forEach(f -> System.out.println("wrote " + f.toAbsolutePath().normalize()));
            }
        }
        return 0;
    }
}
