package dev.lethe.examples.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.UnlearningEvaluator;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code lethe evaluate}: the protocol's metrics of a saved model for one forgotten class. */
@Command(
        name = "evaluate",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Measure a saved model for a forgotten class: UA, RA, TA, forget-class test accuracy, MIA-Efficacy,"
                    + " its attacker's accuracy, linear probes at every MoE stage and the penultimate layer, the"
                    + " class-membership attack and per-class test accuracy (all in %%), as a table or JSON.",
            "With --retrain-model, also the Retrain reference's metrics and the Avg. Gap."
        })
final class EvaluateCommand implements Callable<Integer> {

    @Mixin private ModelInput modelInput;

    @Option(names = "--class", paramLabel = "CLASS",
            description = "The forgotten class, id or name (default: the one the model records as forgotten).")
    private String forgetClass;

    @Option(names = "--retrain-model", paramLabel = "DIR", description = "A model retrained without the class.")
    private Path retrainDir;

    @Option(names = "--retain-sample", paramLabel = "N",
            description = "Measure RA on N sampled retain images (default: all, the protocol).")
    private Integer retainSample;

    @Option(names = "--mia-per-side", paramLabel = "N",
            description = "Train the MIA's SVM on N members + N non-members (default: |test|, the protocol).")
    private Integer miaPerSide;

    @Option(names = "--json", description = "Print JSON instead of the table.")
    private boolean json;

    @Option(names = "--out", paramLabel = "FILE", description = "Also write the JSON to this file.")
    private Path out;

    @Spec private CommandSpec spec;

    @Mixin private DataOptions data;
    @Mixin private RuntimeOptions runtime;

    @Override
    public Integer call() throws Exception {
        runtime.apply();
        OptionChecks.atLeast(spec, "--retain-sample", retainSample, 1);
        OptionChecks.atLeast(spec, "--mia-per-side", miaPerSide, 1);
        data.check();
        PrintStream log = System.err;
        try (TrainedModel model = modelInput.load();
                TrainedModel retrain = retrainDir == null ? null : TrainedModel.load(retrainDir)) {
            OptionChecks.classIdInRange(spec, "--class", forgetClass, model.config().numClasses());
            CifarSplits splits = data.load(DataOptions.variantOf(model), DataOptions.splitSeedOf(model), false,
                    log);
            ProfileCommand.checkClasses(model, splits);
            int classId = resolveClass(model, splits);
            UnlearningEvaluator evaluator = splits.evaluator(
                    retainSample == null ? UnlearningEvaluator.ALL : retainSample,
                    miaPerSide == null ? UnlearningEvaluator.ALL : miaPerSide);
            log.println("evaluating " + model.directory().orElseThrow() + " ...");
            UnlearningEvaluation e = evaluator.evaluate(model.model(), classId);
            UnlearningEvaluation r = retrain == null ? null : evaluator.evaluate(retrain.model(), classId);
            JsonObject o = new JsonObject();
            o.addProperty("model", model.directory().orElseThrow().toAbsolutePath().normalize().toString());
            o.addProperty("dataset", splits.datasetName());
            o.add("evaluation", e.toJson());
            if (r != null) {
                o.add("retrain", r.toJson());
                o.addProperty("avgGap", e.avgGap(r));
            }
            o.add("run", Reports.runInfo());
            if (json) {
                System.out.println(new GsonBuilder().setPrettyPrinting().create().toJson(o));
            } else {
                System.out.print(e.toTable());
                if (r != null) {
                    Map<String, UnlearningEvaluation> columns = new LinkedHashMap<>();
                    columns.put("model", e);
                    columns.put("retrain", r);
                    System.out.println();
                    System.out.print(Reports.comparisonTable(columns, r));
                }
            }
            if (out != null) {
                Reports.writeJson(out, o);
                log.println("wrote " + out.toAbsolutePath().normalize());
            }
        }
        return 0;
    }

    private int resolveClass(TrainedModel model, CifarSplits splits) {
        if (forgetClass != null) {
            return OptionChecks.classId(spec, splits, forgetClass);
        }
        List<Integer> forgotten = Unlearner.forgottenClasses(model.model());
        if (forgotten.size() == 1) {
            return forgotten.get(0);
        }
        throw new IllegalArgumentException(forgotten.isEmpty()
                ? "the model records no forgotten class; pass --class CLASS"
                : "the model has forgotten classes " + forgotten + "; pass --class CLASS to choose one");
    }
}
