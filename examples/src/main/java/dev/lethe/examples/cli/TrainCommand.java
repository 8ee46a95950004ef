package dev.lethe.examples.cli;

import dev.lethe.cifar.CifarVariant;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.routing.RoutingStats;
import dev.lethe.moe.train.EpochResult;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code lethe train}: trains the MoE CNN on CIFAR and saves it with its configuration. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Train the MoE ResNet on CIFAR-10 or CIFAR-100 (45k train / 5k validation split) and save it.",
            "Shows a progress bar, then per epoch the validation accuracy and the experts' utilisation"
                    + " (MI share of routing entropy, load CV, dead experts per MoE layer)."
        })
final class TrainCommand implements Callable<Integer> {

    @Mixin private DataOptions data;
    @Mixin private ArchitectureOptions architecture;
    @Mixin private RecipeOptions recipeOptions;
    @Mixin private OutputOptions output;
    @Mixin private RuntimeOptions runtime;

    @Option(names = "--seed", paramLabel = "SEED", defaultValue = "0",
            description = "Seed of initialisation, routing noise, data order and augmentation (default: ${DEFAULT-VALUE}).")
    private long seed;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Model folder to write (default: .lethe/cache/<hash of data, config and recipe>, where"
                    + " `lethe demo` finds it too). An existing model is replaced only with --overwrite.")
    private Path out;

    @Option(names = "--download", description = "Download the data set if it is not found (the only network access).")
    private boolean download;

    @Override
    public Integer call() throws Exception {
        runtime.apply();
        PrintStream log = System.err;
        TrainingRecipe recipe = recipeOptions.recipe(seed);
        architecture.config(data.variant(CifarVariant.CIFAR10).numClasses(dev.lethe.cifar.LabelMode.FINE), seed,
                recipeOptions.name());
        data.check();
        if (out != null) {
            output.check("--out", out, out);
        }
        CifarSplits splits = data.load(CifarVariant.CIFAR10, 0, download, log);
        MoeResNet.Config config = architecture.config(splits.numClasses(), seed, recipeOptions.name());
        Path dir = out != null ? out : ModelCache.defaultRoot().resolve(ModelCache.key(splits, config, recipe));
        if (out == null) {
            output.check("the cache entry", dir, dir);
        }
        log.printf(Locale.ROOT, "model: widths %s, %d experts%s, top-%d, %.1f MFLOPs/image; %d libtorch thread(s)%n",
                java.util.Arrays.toString(config.widths()), config.numExperts(),
                config.sharedExpert() ? " + a shared expert" : "", config.topK(),
                config.flopsPerImage() / 1e6, RuntimeOptions.effectiveThreads());
        log.println("recipe: " + recipe);
        try (TrainedModel trained = TrainedModel.train(
                splits, config, recipe, TrainingProgress.console(log, System.console() != null))) {
            trained.measureFlipAveragedTestAccuracy(splits);
            trained.save(dir);
            EpochResult last = trained.history().orElseThrow().last();
            PrintStream o = System.out;
            o.println("Expert utilisation on the validation split after the last epoch:");
            for (Map.Entry<String, RoutingStats> e : last.validationRouting().entrySet()) {
                o.println("MoE layer " + e.getKey());
                o.print(e.getValue().toTable(splits.classNames()));
            }
            o.printf(Locale.ROOT, "validation accuracy %.2f%%, test accuracy %.2f%% (%.2f%% averaged with the"
                    + " mirror image), %.0f s%n", 100 * last.validationAccuracy(), trained.testAccuracy(),
                    trained.testAccuracyFlipAveraged(), trained.trainSeconds());
            o.println("saved the model to " + dir.toAbsolutePath().normalize());
        }
        return 0;
    }
}
