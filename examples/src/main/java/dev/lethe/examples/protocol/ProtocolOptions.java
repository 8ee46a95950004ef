package dev.lethe.examples.protocol;

import dev.lethe.eval.UnlearningEvaluator;
import dev.lethe.eval.relearn.RelearningTest;
import dev.lethe.examples.cli.CifarSplits;
import dev.lethe.examples.cli.Converters;
import dev.lethe.examples.cli.IntList;
import dev.lethe.examples.cli.OptionChecks;
import dev.lethe.examples.cli.Recipes;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.UnlearningSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The options of {@code lethe protocol} (besides the architecture, {@link
 * dev.lethe.examples.cli.ArchitectureOptions}, and the threads, {@link
 * dev.lethe.examples.cli.RuntimeOptions}), their checks, and what they build: recipes, the
 * methods, the relearning test and the evaluator. Every value is checked by {@link #check} before
 * any data is read; a wrong one is a usage error (exit code 2) naming the option ({@link
 * OptionChecks}).
 */
final class ProtocolOptions {

    private static final RelearningTest LIBRARY_RELEARNING = RelearningTest.builder().build();

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "PATH",
            description = "CIFAR-10 archive or folder (default: ../shared/data next to the repository).")
    Path data;

    @Option(names = "--cache", paramLabel = "DIR", defaultValue = ".lethe/protocol",
            description = "Cache of models (models/) and run records (runs/) (default: ${DEFAULT-VALUE}).")
    Path cache;

    @Option(names = "--docs", paramLabel = "DIR", defaultValue = "docs",
            description = "Where RESULTS.md and results/cifar10-classwise.json go (default: ${DEFAULT-VALUE}).")
    Path docs;

    @Option(names = "--recipes", paramLabel = "NAME,...", split = ",", defaultValue = "forget-ready,plain",
            description = "Training recipes of the base models: ${COMPLETION-CANDIDATES}, each optionally @W for the"
                    + " load-balancing weight (default: ${DEFAULT-VALUE}).",
            completionCandidates = Converters.RecipeCandidates.class)
    List<String> recipes;

    @Option(names = "--classes", paramLabel = "C,...", split = ",", defaultValue = "3",
            description = "Classes to forget (default: ${DEFAULT-VALUE}).")
    List<Integer> classes;

    @Option(names = "--seeds", paramLabel = "S,...", split = ",", defaultValue = "0",
            description = "Seeds of training and unlearning (default: ${DEFAULT-VALUE}).")
    List<Long> seeds;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "6",
            description = "Training epochs of the base and Retrain models (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--methods", paramLabel = "NAME,...", split = ",", defaultValue = ProtocolMethods.ALL_NAME,
            description = "Methods to run besides Retrain: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).",
            completionCandidates = MethodNames.class)
    List<String> methods;

    @Option(names = "--unlearn-epochs", paramLabel = "N",
            description = "Passes over the forget set of every method (default: the library's, ${DEFAULT-VALUE}).")
    int unlearnEpochs = UnlearningSettings.defaults().epochs();

    @Option(names = "--retain-sample", paramLabel = "N", defaultValue = "5000",
            description = "Retain images RA is measured on (default: ${DEFAULT-VALUE}).")
    int retainSample;

    @Option(names = "--mia-per-side", paramLabel = "N", defaultValue = "2000",
            description = "MIA SVM training images per side (default: ${DEFAULT-VALUE}).")
    int miaPerSide;

    @Option(names = "--relearn-steps", paramLabel = "S,...", converter = Converters.IntListConverter.class,
            description = "Checkpoints of the relearning curves, few-shot and retain-only, of every model (default: the"
                    + " library's, ${DEFAULT-VALUE}).")
    IntList relearnSteps = new IntList(LIBRARY_RELEARNING.steps());

    @Option(names = "--limit", paramLabel = "N", defaultValue = "0",
            description = "Use only the first N training images (quick runs; default: ${DEFAULT-VALUE} = all).")
    int limit;

    @Option(names = "--skip-retrain", description = "Do not train Retrain oracles (no Avg.Gap, no comparisons).")
    boolean skipRetrain;

    @Option(names = "--report-only", description = "Train and run nothing: render the cached records that exist.")
    boolean reportOnly;

    @Option(names = "--tune", description = "Before the protocol, choose the expert-targeted method's settings on the"
            + " validation split (first recipe, seed and class; the library's ValidationSweep over OursGrid), and use"
            + " the chosen ones.")
    boolean tune;

    /** Lists {@code --methods} values. */
    static final class MethodNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return ProtocolMethods.names().iterator();
        }
    }

    /**
     * Checks every value that can be checked before the data is read.
     *
     * @param numClasses the classes of the data set
     * @throws picocli.CommandLine.ParameterException naming the option, the value and the rule
     */
    void check(int numClasses) {
        OptionChecks.atLeast(spec, "--epochs", epochs, 1);
        OptionChecks.atLeast(spec, "--unlearn-epochs", unlearnEpochs, 1);
        OptionChecks.atLeast(spec, "--retain-sample", retainSample, 1);
        OptionChecks.atLeast(spec, "--mia-per-side", miaPerSide, 1);
        OptionChecks.atLeast(spec, "--limit", limit, 0);
        for (int c : classes) {
            OptionChecks.classIdInRange(spec, "--classes", String.valueOf(c), numClasses);
        }
        OptionChecks.build(spec, "--methods", this::methods);
        OptionChecks.build(spec, "--relearn-steps", this::relearning);
        for (String r : recipes) {
            for (long seed : seeds) {
                OptionChecks.build(spec, "--recipes", () -> recipe(r, seed));
            }
        }
    }

    /**
     * @param name a recipe name of {@link Recipes}, optionally with {@code @W}
     * @param seed the seed
     * @return the recipe with {@code --epochs} and the seed
     */
    TrainingRecipe recipe(String name, long seed) {
        return Recipes.parse(name).toBuilder().optEpochs(epochs).optSeed(seed).build();
    }

    /** @return the methods of {@code --methods}, in order */
    List<ProtocolMethod> methods() {
        return ProtocolMethods.resolve(methods);
    }

    /** @return the relearning test every model gets: the library's, at {@code --relearn-steps} */
    RelearningTest relearning() {
        return RelearningTest.builder().optSteps(relearnSteps.values()).build();
    }

    /**
     * @param splits the data
     * @return the evaluator of every model: the protocol's metrics, probes at every stage, the class
     *     attack (probe data: the validation split) and both relearning curves
     */
    UnlearningEvaluator evaluator(CifarSplits splits) {
        return splits.evaluator(retainSample, miaPerSide).toBuilder().optRelearning(relearning()).build();
    }

    /** @return the options that shape the results, as typed, for the report */
    List<String> commandLine() {
        List<String> args = new ArrayList<>();
        args.add("--recipes " + String.join(",", recipes));
        args.add("--classes " + join(classes));
        args.add("--seeds " + join(seeds));
        args.add("--epochs " + epochs);
        args.add("--methods " + String.join(",", methods));
        args.add("--relearn-steps " + relearnSteps);
        if (limit > 0) {
            args.add("--limit " + limit);
        }
        if (tune) {
            args.add("--tune");
        }
        return args;
    }

    private static String join(List<?> values) {
        List<String> s = new ArrayList<>();
        values.forEach(v -> s.add(String.valueOf(v)));
        return String.join(",", s);
    }

}
