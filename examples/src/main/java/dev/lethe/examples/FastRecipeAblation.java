package dev.lethe.examples;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import com.google.gson.JsonObject;
import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarDataset;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingHistory;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.data.LabeledData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * The ablation of {@link TrainingRecipe#fast()} on the validation split (docs/results/fast-recipe.md):
 * trains the dense fast layout with the recipe minus one ingredient and appends one JSON line
 * (validation accuracy, with and without flip averaging, and the wall clock) to {@code --out}.
 * The test split is never read.
 *
 * <pre>
 * java ... dev.lethe.examples.FastRecipeAblation --data ../shared/data/cifar-10-binary.tar.gz \
 *     --ablate label-smoothing-0.2 --widths 32,128,128 --epochs 5 --out ablation.jsonl
 * </pre>
 *
 * <p>Ablations: {@value #NAMES}.
 */
public final class FastRecipeAblation {

    static final String NAMES = "none, label-smoothing-0.2, bias-rate-1, heavy-ball-l2, cosine, random-flips,"
            + " no-translation, no-weight-average";

    private static final Map<String, UnaryOperator<TrainingRecipe.Builder>> ABLATIONS = new LinkedHashMap<>();

    static {
        ABLATIONS.put("none", b -> b);
        // the recipe had label smoothing 0.2 until two seeds of this ablation removed it
        ABLATIONS.put("label-smoothing-0.2", b -> b.optLabelSmoothing(0.2f));
        ABLATIONS.put("bias-rate-1", b -> b.optBiasLearningRateScale(1f));
        ABLATIONS.put("heavy-ball-l2", b -> b.optNesterov(false).optDecoupledWeightDecay(false));
        ABLATIONS.put("cosine", b -> b.optSchedule(TrainingRecipe.Schedule.COSINE, 0f));
        ABLATIONS.put("random-flips", b -> b.optAugmentation(TrainingRecipe.Flip.RANDOM, 2));
        ABLATIONS.put("no-translation", b -> b.optAugmentation(TrainingRecipe.Flip.ALTERNATING, 0));
        ABLATIONS.put("no-weight-average", b -> b.optWeightAverage(0f, 1));
    }

    private FastRecipeAblation() {}

    /**
     * @param args {@code --data PATH --ablate NAME --widths W1,W2,W3 --epochs N --seed S --out FILE}
     * @throws Exception if the data is missing or training fails
     */
    public static void main(String[] args) throws Exception {
        ExampleArgs a = new ExampleArgs(args);
        String name = a.get("ablate", "none");
        UnaryOperator<TrainingRecipe.Builder> ablation = ABLATIONS.get(name);
        if (ablation == null) {
            throw new IllegalArgumentException("--ablate " + name + " is not one of: " + NAMES);
        }
        int[] w = Arrays.stream(a.get("widths", "32,128,128").split(",")).mapToInt(Integer::parseInt).toArray();
        long seed = a.getInt("seed", 0);
        CifarData data = CifarData.load(a.getPath("data", ExampleArgs.DEFAULT_DATA), CifarVariant.CIFAR10, LabelMode.FINE);
        CifarDataset train = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.TRAIN)
                .setSampling(512, false).build();
        CifarDataset validation = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.VALIDATION)
                .setSampling(500, false).build();
        MoeResNet.Config config = MoeResNet.Config.builder().optFastLayout().optWidths(w[0], w[1], w[2])
                .optMoeStages().optNumClasses(data.numClasses()).optSeed(seed).build();
        TrainingRecipe recipe = ablation.apply(TrainingRecipe.fast().toBuilder()
                .optEpochs(a.getInt("epochs", 5)).optSeed(seed)).build();

        Engine.getInstance().setRandomSeed(Math.toIntExact(seed));
        try (Model model = MoeResNet.newModel(config); NDManager manager = NDManager.newBaseManager()) {
            long start = System.nanoTime();
            TrainingHistory history = MoeTraining.fit(model, train, validation, recipe,
                    TrainingProgress.console(System.err, false));
            double seconds = (System.nanoTime() - start) / 1e9;
            LabeledData val = LabeledData.read(validation, data.numClasses(), manager);
            double[] accuracy = accuracy(model, val, manager);
            JsonObject line = new JsonObject();
            line.addProperty("ablation", name);
            line.addProperty("widths", Arrays.toString(w));
            line.addProperty("epochs", recipe.epochs());
            line.addProperty("seed", seed);
            line.addProperty("threads", System.getProperty("ai.djl.pytorch.num_threads", "default"));
            line.addProperty("validationAccuracy", accuracy[0]);
            line.addProperty("validationAccuracyFlipAveraged", accuracy[1]);
            line.addProperty("trainSeconds", seconds);
            line.addProperty("recipe", recipe.toJson());
            line.add("curve", curve(history));
            String json = line.toString();
            System.out.println(json);
            Path out = a.getPath("out", "fast-recipe-ablation.jsonl");
            Files.writeString(out, json + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        }
    }

    /** @return validation accuracy in %, plain and averaged over the image and its mirror */
    private static double[] accuracy(Model model, LabeledData val, NDManager manager) throws Exception {
        int correct = 0;
        int correctFlip = 0;
        int n = val.size();
        for (int from = 0; from < n; from += 500) {
            int[] idx = java.util.stream.IntStream.range(from, Math.min(n, from + 500)).toArray();
            try (NDManager scope = manager.newSubManager(); Batch batch = val.batch(scope, idx)) {
                ParameterStore ps = new ParameterStore(scope, false);
                NDArray x = batch.getData().head();
                NDArray p = model.getBlock().forward(ps, new NDList(x), false).head().softmax(1);
                NDArray q = model.getBlock().forward(ps, new NDList(x.flip(3)), false).head().softmax(1);
                long[] plain = p.argMax(1).toLongArray();
                long[] averaged = p.add(q).argMax(1).toLongArray();
                for (int i = 0; i < idx.length; i++) {
                    int y = val.label(idx[i]);
                    correct += plain[i] == y ? 1 : 0;
                    correctFlip += averaged[i] == y ? 1 : 0;
                }
            }
        }
        return new double[] {100.0 * correct / n, 100.0 * correctFlip / n};
    }

    private static com.google.gson.JsonArray curve(TrainingHistory history) {
        com.google.gson.JsonArray curve = new com.google.gson.JsonArray();
        history.epochs().forEach(e -> {
            JsonObject o = new JsonObject();
            o.addProperty("epoch", e.epoch());
            o.addProperty("validationAccuracy", 100 * e.validationAccuracy());
            o.addProperty("seconds", e.seconds());
            curve.add(o);
        });
        return curve;
    }
}
