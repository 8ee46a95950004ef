package dev.lethe.examples.protocol;

import dev.lethe.eval.UnlearningEvaluator;
import dev.lethe.eval.relearn.RelearningTest;
import dev.lethe.examples.cli.ArchitectureOptions;
import dev.lethe.examples.cli.CifarSplits;
import dev.lethe.examples.cli.Converters;
import dev.lethe.examples.cli.IntList;
import dev.lethe.examples.cli.OptionChecks;
import dev.lethe.examples.cli.Recipes;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.exact.ExactPlan;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
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

    @Option(names = "--recipes", paramLabel = "NAME,...", split = ",", defaultValue = "fast-forget-ready,fast",
            description = "Base models: training recipes and exact configurations, ${COMPLETION-CANDIDATES}, each"
                    + " optionally @W for the load-balancing weight (default: ${DEFAULT-VALUE}). isolated and"
                    + " fast-isolated route each class to its own expert (--experts C --top-k 1 --shared-expert are"
                    + " set for them; experimental: trained jointly they do not yet reach a usable model, see"
                    + " docs/results/isolation-diagnosis.md); assigned and fast-assigned train that architecture"
                    + " in phases by ExactTraining with every class in the trunk (a unit of experts per class, then"
                    + " routers and head); exact and fast-exact train it by ExactTraining with only --public-classes"
                    + " in the trunk, where the exact method deletes any other class bit for bit (see"
                    + " --exact-epochs).",
            completionCandidates = Converters.ProtocolRecipeCandidates.class)
    List<String> recipes;

    @Option(names = "--classes", paramLabel = "C,...", split = ",", defaultValue = "3",
            description = "Classes to forget (default: ${DEFAULT-VALUE}).")
    List<Integer> classes;

    @Option(names = "--seeds", paramLabel = "S,...", split = ",", defaultValue = "0",
            description = "Seeds of training and unlearning (default: ${DEFAULT-VALUE}).")
    List<Long> seeds;

    @Option(names = "--single-seed", paramLabel = "NAME,...", split = ",",
            description = "Recipes of --recipes that run with the first seed of --seeds only (e.g. 2 seeds on the"
                    + " recipe of the default method, 1 on the others).")
    List<String> singleSeed;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "5",
            description = "Training epochs of the base and Retrain models (default: ${DEFAULT-VALUE}; the fast recipes"
                    + " warm up over their first 2.3 epochs, or their first half in a shorter run).")
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

    @Option(names = "--tune", description = "Before the protocol, choose every method's settings on the validation"
            + " split: the library's MethodGrids (the same number of candidates for every method) and its"
            + " ValidationSweep rule, forgetting --tune-class on the first recipe's base model (first seed); each"
            + " method then runs with its chosen candidate. The tuning class's own runs are reported apart.")
    boolean tune;

    @Option(names = "--tune-class", paramLabel = "C", defaultValue = "3",
            description = "The class the sweep forgets (default: ${DEFAULT-VALUE} = cat); not evidence: its rows are"
                    + " reported apart when it is among --classes.")
    int tuneClass;

    @Option(names = "--tune-per-recipe", description = "With --tune, sweep on every recipe's base model (first seed)"
            + " and use each recipe's own choices, instead of the first recipe's choices everywhere.")
    boolean tunePerRecipe;

    @Option(names = "--public-classes", paramLabel = "C,...", split = ",",
            description = "Exact configurations: the classes that are never deleted and train the shared trunk"
                    + " (default: every class not in --classes nor --sequential).")
    List<Integer> publicClasses;

    @Option(names = "--exact-epochs", paramLabel = "T,U,H", converter = Converters.IntListConverter.class,
            description = "Exact configurations: epochs of the trunk, of each class's unit and of the routers and head"
                    + " (what a deletion retrains) (default: the library's plan: --epochs, --epochs, half of it).")
    IntList exactEpochs;

    @Option(names = "--sequential", paramLabel = "A,B", converter = Converters.IntListConverter.class,
            description = "Also forget class A then class B with each method of --sequential-methods and compare the"
                    + " result with a Retrain without both (every recipe and seed).")
    IntList sequential;

    @Option(names = "--sequential-methods", paramLabel = "NAME,...", split = ",",
            description = "The methods of the sequential requests (default: those of --methods).",
            completionCandidates = MethodNames.class)
    List<String> sequentialMethods;

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
        OptionChecks.build(spec, "--sequential-methods", this::sequentialMethods);
        OptionChecks.build(spec, "--relearn-steps", this::relearning);
        OptionChecks.classIdInRange(spec, "--tune-class", String.valueOf(tuneClass), numClasses);
        if (singleSeed != null && !recipes.containsAll(singleSeed)) {
            List<String> unknown = new ArrayList<>(singleSeed);
            unknown.removeAll(recipes);
            throw new ParameterException(spec.commandLine(), "--single-seed names " + String.join(",", unknown)
                    + ", not in --recipes " + String.join(",", recipes));
        }
        for (String r : recipes) {
            for (long seed : seeds) {
                OptionChecks.build(spec, "--recipes", () -> recipe(r, seed));
            }
        }
        if (sequential != null) {
            int[] s = sequential.values();
            if (s.length != 2 || s[0] == s[1]) {
                throw new ParameterException(spec.commandLine(), "--sequential needs two different classes A,B, e.g."
                        + " 3,5; got " + sequential);
            }
            for (int c : s) {
                OptionChecks.classIdInRange(spec, "--sequential", String.valueOf(c), numClasses);
            }
        }
        if (exactEpochs != null) {
            int[] e = exactEpochs.values();
            if (e.length != 3) {
                throw new ParameterException(spec.commandLine(), "--exact-epochs needs 3 comma-separated epochs"
                        + " (trunk, unit, routers and head), e.g. 6,6,3; got " + exactEpochs);
            }
            for (int x : e) {
                OptionChecks.atLeast(spec, "--exact-epochs", x, 1);
            }
        }
        if (publicClasses != null) {
            for (int c : publicClasses) {
                OptionChecks.classIdInRange(spec, "--public-classes", String.valueOf(c), numClasses);
            }
        }
        if (recipes.stream().anyMatch(r -> OptionChecks.build(spec, "--recipes", () -> Recipes.isExact(r)))) {
            List<Integer> pub = publicClasses(numClasses);
            if (pub.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "an exact configuration needs at least one public"
                        + " class to train its trunk, but --classes and --sequential name every class; pass"
                        + " --public-classes");
            }
            List<Integer> clash = new ArrayList<>(deletableClasses());
            clash.retainAll(pub);
            if (!clash.isEmpty()) {
                throw new ParameterException(spec.commandLine(), "--public-classes " + join(pub) + " includes "
                        + join(clash) + " of --classes or --sequential: a public class trains the exact configuration's"
                        + " trunk and cannot be deleted from it");
            }
        }
    }

    /**
     * @param recipe a name of {@code --recipes}
     * @return the seeds it runs with: {@code --seeds}, or only the first for a recipe of {@code
     *     --single-seed}
     */
    List<Long> seeds(String recipe) {
        return singleSeed != null && singleSeed.contains(recipe) ? seeds.subList(0, 1) : seeds;
    }

    /** The classes that are forgotten: {@code --classes} and {@code --sequential}. */
    private List<Integer> deletableClasses() {
        List<Integer> out = new ArrayList<>(classes);
        if (sequential != null) {
            for (int c : sequential.values()) {
                if (!out.contains(c)) {
                    out.add(c);
                }
            }
        }
        return out;
    }

    /**
     * @param numClasses the classes of the data set
     * @return the public classes of the exact configurations: {@code --public-classes}, or every
     *     class not forgotten ({@code --classes}, {@code --sequential}), ascending
     */
    List<Integer> publicClasses(int numClasses) {
        if (publicClasses != null) {
            return publicClasses.stream().distinct().sorted().toList();
        }
        List<Integer> out = new ArrayList<>();
        List<Integer> deleted = deletableClasses();
        for (int c = 0; c < numClasses; c++) {
            if (!deleted.contains(c)) {
                out.add(c);
            }
        }
        return out;
    }

    /**
     * A base model of the protocol.
     *
     * @param name a name of {@code --recipes}
     * @param seed the seed
     * @param architecture the architecture options
     * @param numClasses the classes of the data
     * @return the configuration: the recipe with {@code --epochs} and the seed, the architecture
     *     with what the recipe needs, and for {@code exact} / {@code fast-exact} the plan
     *     ({@code --public-classes}, {@code --exact-epochs})
     * @throws picocli.CommandLine.ParameterException naming the options if the architecture
     *     contradicts the recipe
     */
    ProtocolConfiguration configuration(String name, long seed, ArchitectureOptions architecture, int numClasses) {
        TrainingRecipe recipe = recipe(name, seed);
        MoeResNet.Config config = architecture.config(numClasses, seed, name);
        ExactPlan plan = null;
        if (Recipes.isPhased(name)) {
            plan = Recipes.isExact(name) ? ExactPlan.of(publicClasses(numClasses), recipe)
                    : ExactPlan.assigned(numClasses, recipe);
            if (exactEpochs != null) {
                int[] e = exactEpochs.values();
                plan = plan.withEpochs(e[0], e[1], e[2]);
            }
        }
        return new ProtocolConfiguration(name, seed, recipe, config, plan);
    }

    /** @return the methods of {@code --sequential-methods} (default: those of {@code --methods}), in order */
    List<ProtocolMethod> sequentialMethods() {
        return sequentialMethods == null ? methods() : ProtocolMethods.resolve(sequentialMethods);
    }

    /**
     * @param name a name of {@link Recipes#protocolNames()}, optionally with {@code @W}
     * @param seed the seed
     * @return the recipe with {@code --epochs} (warming up over the first half of a run shorter
     *     than twice its warm-up, {@link Recipes#withEpochs}) and the seed
     */
    TrainingRecipe recipe(String name, long seed) {
        TrainingRecipe base = Recipes.parse(name);
        return Recipes.withEpochs(base.toBuilder(), base, epochs).optSeed(seed).build();
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
        if (singleSeed != null) {
            args.add("--single-seed " + String.join(",", singleSeed));
        }
        args.add("--epochs " + epochs);
        args.add("--methods " + String.join(",", methods));
        args.add("--relearn-steps " + relearnSteps);
        if (limit > 0) {
            args.add("--limit " + limit);
        }
        if (tune) {
            args.add("--tune --tune-class " + tuneClass + (tunePerRecipe ? " --tune-per-recipe" : ""));
        }
        if (publicClasses != null) {
            args.add("--public-classes " + join(publicClasses));
        }
        if (exactEpochs != null) {
            args.add("--exact-epochs " + exactEpochs);
        }
        if (sequential != null) {
            args.add("--sequential " + sequential);
            if (sequentialMethods != null) {
                args.add("--sequential-methods " + String.join(",", sequentialMethods));
            }
        }
        return args;
    }

    private static String join(List<?> values) {
        List<String> s = new ArrayList<>();
        values.forEach(v -> s.add(String.valueOf(v)));
        return String.join(",", s);
    }

}
