package dev.lethe.examples.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.lethe.moe.routing.RoutingStats;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.profile.ActivationProfile;
import dev.lethe.unlearn.profile.ActivationProfiler;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code lethe profile}: the class × expert routing table of a model, printed and as heatmaps. */
@Command(
        name = "profile",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Print which experts each class is routed to (class x expert share of gate mass, per MoE layer)"
                    + " and draw one PNG heatmap per layer.",
            "Rows sum to 1; H/lnE = the class's routing entropy (low = few experts); k80 = experts covering"
                    + " 80%% of the class."
        })
final class ProfileCommand implements Callable<Integer> {

    /** Which images to profile. */
    enum Split { TEST, VALIDATION, TRAIN }

    @Mixin private ModelInput modelInput;

    @Option(names = "--split", paramLabel = "NAME", defaultValue = "test",
            description = "Images to profile: test, validation or train (default: ${DEFAULT-VALUE}).")
    private Split split;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Folder for the heatmaps and profile.json (default: <model>/profile).")
    private Path out;

    @Mixin private DataOptions data;
    @Mixin private RuntimeOptions runtime;

    @Override
    public Integer call() throws Exception {
        runtime.apply();
        data.check();
        PrintStream log = System.err;
        try (TrainedModel model = modelInput.load()) {
            CifarSplits splits = data.load(DataOptions.variantOf(model), DataOptions.splitSeedOf(model), false,
                    log);
            checkClasses(model, splits);
            LabeledData images = split == Split.TEST ? splits.labeledTest()
                    : split == Split.VALIDATION ? splits.labeledValidation() : splits.labeledTrain();
            long start = System.nanoTime();
            ActivationProfile profile = ActivationProfiler.profile(model.model(), images, null, 256);
            log.printf(Locale.ROOT, "profiled %d %s images in %.1f s%n", images.size(),
                    split.name().toLowerCase(Locale.ROOT), (System.nanoTime() - start) / 1e9);
            System.out.print(profile.toTable());
            Path dir = out != null ? out : model.directory().orElseThrow().resolve("profile");
            JsonObject json = new JsonObject();
            json.addProperty("model", model.directory().orElseThrow().toString());
            json.addProperty("dataset", splits.datasetName());
            json.addProperty("split", split.name().toLowerCase(Locale.ROOT));
            json.addProperty("images", images.size());
            JsonObject layers = new JsonObject();
            for (String layer : profile.layerNames()) {
                RoutingStats stats = profile.layer(layer);
                Path png = dir.resolve("routing-" + fileName(layer) + ".png");
                Charts.routingHeatmap(png, "routing of " + split.name().toLowerCase(Locale.ROOT) + " images, MoE layer "
                        + layer, stats, splits.classNames());
                layers.add(layer, layerJson(stats));
                System.out.println("wrote " + png.toAbsolutePath().normalize());
            }
            json.add("layers", layers);
            json.add("classNames", names(splits));
            json.add("run", Reports.runInfo());
            Path file = dir.resolve("profile.json");
            Reports.writeJson(file, json);
            System.out.println("wrote " + file.toAbsolutePath().normalize());
        }
        return 0;
    }

    static void checkClasses(TrainedModel model, CifarSplits splits) {
        if (model.config().numClasses() != splits.numClasses()) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "the model has %d classes but %s has %d; pass the model's data set with --dataset",
                    model.config().numClasses(), splits.datasetName(), splits.numClasses()));
        }
    }

    private static JsonArray names(CifarSplits splits) {
        JsonArray a = new JsonArray();
        splits.classNames().forEach(a::add);
        return a;
    }

    private static JsonObject layerJson(RoutingStats stats) {
        JsonObject o = new JsonObject();
        o.addProperty("mutualInformationShare", stats.mutualInformationShare());
        o.addProperty("coefficientOfVariation", stats.coefficientOfVariation());
        JsonArray dead = new JsonArray();
        stats.deadExperts(RoutingStats.DEFAULT_DEAD_THRESHOLD).forEach(dead::add);
        o.add("deadExperts", dead);
        JsonArray load = new JsonArray();
        for (double v : stats.loadOverIdeal()) {
            load.add(v);
        }
        o.add("loadOverIdeal", load);
        JsonArray shares = new JsonArray();
        for (int c = 0; c < stats.numClasses(); c++) {
            JsonArray row = new JsonArray();
            for (double v : stats.classShares(c)) {
                row.add(v);
            }
            shares.add(row);
        }
        o.add("classShares", shares);
        return o;
    }

    static String fileName(String layer) {
        return layer.replaceAll("[^A-Za-z0-9_-]+", "-");
    }
}
