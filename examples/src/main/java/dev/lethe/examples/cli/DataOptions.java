package dev.lethe.examples.cli;

import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarVariant;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Options that choose and cut the data: {@code --data}, {@code --dataset}, {@code --limit}, {@code --split-seed}. */
public final class DataOptions {

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    @Option(
            names = "--data",
            paramLabel = "PATH",
            description = "CIFAR binary archive (.tar.gz) or the folder it extracts to (default: ../shared/data"
                    + " next to the repository, else ~/.lethe/cifar).")
    private Path data;

    @Option(
            names = "--dataset",
            paramLabel = "NAME",
            converter = Converters.VariantConverter.class,
            completionCandidates = Converters.VariantCandidates.class,
            description = "Data set: ${COMPLETION-CANDIDATES} (default: cifar10, or the model's).")
    private CifarVariant dataset;

    @Option(
            names = "--limit",
            paramLabel = "N",
            description = "Use only the first N images of the training split, for a quick run (default: all;"
                    + " at most the split's size, 45000 for CIFAR-10; validation and test are never cut).")
    private int limit;

    @Option(
            names = "--split-seed",
            paramLabel = "SEED",
            description = "Seed of the 45k/5k train/validation split (default: 0, or the model's).")
    private Long splitSeed;

    /** @return the data set asked for, or {@code fallback} when none was given */
    CifarVariant variant(CifarVariant fallback) {
        return dataset != null ? dataset : fallback;
    }

    /** @return the limit (0 = all) */
    int limit() {
        return limit;
    }

    /**
     * Checks the values that can be checked before the data is read.
     *
     * @throws ParameterException if {@code --limit} is negative
     */
    void check() {
        OptionChecks.atLeast(spec, "--limit", limit, 0);
    }

    /**
     * Locates, reads and splits the data, printing one line about it.
     *
     * @param fallbackVariant the data set when {@code --dataset} is not given
     * @param fallbackSplitSeed the split seed when {@code --split-seed} is not given
     * @param download whether {@code --download} was given
     * @param log where to print
     * @return the splits
     * @throws IOException if the data is missing (the message says where to get it) or malformed
     * @throws ParameterException if {@code --limit} is negative or more than the training split
     */
    CifarSplits load(
            CifarVariant fallbackVariant,
            long fallbackSplitSeed,
            boolean download,
            PrintStream log)
            throws IOException {
        check();
        CifarVariant variant = variant(fallbackVariant);
        Path path = CifarSplits.locate(data, variant, download, RuntimeOptions.home());
        long start = System.nanoTime();
        CifarSplits.Source source = CifarSplits.load(path, variant);
        checkLimit(spec, "--limit", limit, source.data());
        CifarSplits splits = CifarSplits.of(source, splitSeed != null ? splitSeed : fallbackSplitSeed, limit);
        log.printf(Locale.ROOT, "data: %s from %s (%.1f s)%n", splits, path, (System.nanoTime() - start) / 1e9);
        return splits;
    }

    /**
     * Rejects a training limit above the training split's size (it would silently mean "all").
     *
     * @param spec the command
     * @param option the option's name
     * @param limit the value (0 = all)
     * @param data the decoded data
     * @throws ParameterException if the limit is more than {@link CifarSplits#trainSplitSize}
     */
    public static void checkLimit(CommandSpec spec, String option, int limit, CifarData data) {
        int available = CifarSplits.trainSplitSize(data);
        if (limit > available) {
            throw new ParameterException(spec.commandLine(), String.format(Locale.ROOT,
                    "%s (%d) is more than the %d images of the %s training split; pass at most %d (or 0 for all)",
                    option, limit, available, data.variant(), available));
        }
    }

    /**
     * The data set a saved model was trained on: its {@code dataset} metadata, else CIFAR-100 for a
     * 100-class model, else CIFAR-10.
     *
     * @param model the model
     * @return its data set
     */
    static CifarVariant variantOf(TrainedModel model) {
        String name = model.metadata(SavedModels.DATASET).orElse("");
        if (name.equalsIgnoreCase(CifarVariant.CIFAR100.toString())) {
            return CifarVariant.CIFAR100;
        }
        if (name.equalsIgnoreCase(CifarVariant.CIFAR10.toString())) {
            return CifarVariant.CIFAR10;
        }
        return model.config().numClasses() == 100 ? CifarVariant.CIFAR100 : CifarVariant.CIFAR10;
    }

    /**
     * @param model a saved model
     * @return the split seed recorded with it, else 0
     */
    static long splitSeedOf(TrainedModel model) {
        return model.metadata(SavedModels.SPLIT_SEED).map(Long::parseLong).orElse(0L);
    }
}
