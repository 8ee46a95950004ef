package dev.lethe.examples;

import ai.djl.Model;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.UnlearningEvaluator;
import dev.lethe.eval.probe.LayerProbes;
import dev.lethe.eval.relearn.RelearningTest;
import dev.lethe.examples.cli.CifarSplits;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.profile.ExpertSelector;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * A sweep of unlearning settings judged the way an attacker would, on the validation split only
 * (docs/results/reset-retrain-lr.md): each variant forgets {@code --class} from {@code --model};
 * the variant and a Retrain model ({@code --retrain}, e.g. from {@code lethe protocol}'s cache) are
 * measured on the second half of the 5,000 validation images (the forgotten class's and the
 * others' accuracy, few-shot and retain-only relearning after 10 and 50 steps) and by linear probes
 * fitted on the first half. One line per variant is printed and appended to {@code --out}. The
 * test split is never read.
 *
 * <p>A variant is comma-separated {@code key=value}: {@code method} (a {@link Method} name), {@code
 * lr}, {@code epochs}, {@code top} (reset the N experts with the most gate mass: {@code
 * ExpertSelector.topN}).
 *
 * <pre>
 * java ... dev.lethe.examples.ErasureSweep --model BASE --retrain RETRAIN --class 3 \
 *     --variants "method=RESET_RETRAIN,lr=1e-3;method=RESET_RETRAIN,lr=3e-3" --out sweep.md
 * </pre>
 */
public final class ErasureSweep {

    private ErasureSweep() {}

    /**
     * @param args {@code --model DIR --retrain DIR --class C --variants V;V;... --data PATH --out FILE}
     * @throws Exception if a model or the data is missing
     */
    public static void main(String[] args) throws Exception {
        ExampleArgs a = new ExampleArgs(args);
        int forgetClass = a.getInt("class", 3);
        CifarSplits splits = CifarSplits.of(
                CifarSplits.load(a.getPath("data", ExampleArgs.DEFAULT_DATA), CifarVariant.CIFAR10), 0, 0);
        LabeledData validation = splits.labeledValidation();
        int half = validation.size() / 2;
        UnlearningEvaluator evaluator = UnlearningEvaluator.builder()
                .setTrainData(splits.labeledTrain())
                .setTestData(validation.subset(IntStream.range(half, validation.size()).toArray()))
                .optProbeData(validation.subset(IntStream.range(0, half).toArray()))
                .optRetainSample(2000)
                .optMiaTrainPerSide(1000)
                .optRelearning(RelearningTest.builder().optSteps(0, 10, 50).build())
                .build();
        Path out = a.getPath("out", "erasure-sweep.md");
        UnlearningEvaluation reference;
        try (Model retrain = MoeResNet.load(a.getPath("retrain", "retrain"))) {
            reference = evaluator.evaluate(retrain, forgetClass);
        }
        write(out, row("Retrain", reference, Double.NaN));
        try (Model original = MoeResNet.load(a.getPath("model", "model"))) {
            for (String variant : a.get("variants", "method=RESET_RETRAIN").split(";")) {
                UnlearningResult result = configure(Unlearner.forClass(forgetClass), variant)
                        .from(original).using(splits.labeledTrain()).optSeed(0).retrain();
                try (Model forgotten = result.model()) {
                    write(out, row(variant, evaluator.evaluate(forgotten, forgetClass), result.seconds()));
                }
            }
        }
    }

    private static Unlearner configure(Unlearner u, String variant) {
        for (String part : variant.split(",")) {
            String[] kv = part.trim().split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("expected key=value in variant '" + variant + "', got '" + part + "'");
            }
            u = switch (kv[0]) {
                case "method" -> u.method(Method.valueOf(kv[1]));
                case "lr" -> u.optLearningRate(Float.parseFloat(kv[1]));
                case "epochs" -> u.optEpochs(Integer.parseInt(kv[1]));
                case "top" -> u.optSelector(ExpertSelector.topN(Integer.parseInt(kv[1])));
                default -> throw new IllegalArgumentException(
                        "unknown key '" + kv[0] + "' in variant '" + variant + "' (method, lr, epochs, top)");
            };
        }
        return u;
    }

    /** A Markdown row: forgotten class, others, few-shot @10 and @50, retain-only worst, probes, seconds. */
    private static String row(String name, UnlearningEvaluation e, double seconds) {
        double[] fewShot = e.relearning(RelearningTest.Mode.FEW_SHOT).orElseThrow().forgetAccuracy();
        double retainOnly = Arrays.stream(
                e.relearning(RelearningTest.Mode.RETAIN_ONLY).orElseThrow().forgetAccuracy()).max().orElse(0);
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "| %s | %.1f | %.2f | %.1f | %.1f | %.1f |",
                name, e.forgetTestAccuracy(), e.ta(), fewShot[1], fewShot[2], retainOnly));
        for (LayerProbes.Depth d : e.probes()) {
            sb.append(String.format(Locale.ROOT, " %.1f |", d.forgetAccuracy()));
        }
        sb.append(Double.isNaN(seconds) ? " – |" : String.format(Locale.ROOT, " %.0f |", seconds));
        return sb.toString();
    }

    private static void write(Path out, String line) throws IOException {
        System.out.println(line);
        Files.writeString(out, line + System.lineSeparator(), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
