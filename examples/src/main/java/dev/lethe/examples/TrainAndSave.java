package dev.lethe.examples;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.training.dataset.Dataset;
import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarDataset;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingHistory;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;

/**
 * Trains a Mixture-of-Experts ResNet on CIFAR-10 with class-aware routing and saves it.
 *
 * <pre>
 * java ... dev.lethe.examples.TrainAndSave --data ../shared/data/cifar-10-binary.tar.gz \
 *     --epochs 2 --limit 5000 --out /tmp/moe-model
 * </pre>
 */
public final class TrainAndSave {

    private TrainAndSave() {}

    /**
     * @param args {@code --data PATH --epochs N --limit N --widths 16,32,64 --out DIR}
     * @throws Exception if the data is missing or training fails
     */
    public static void main(String[] args) throws Exception {
        ExampleArgs a = new ExampleArgs(args);
        Path out = a.getPath("out", "moe-model");
        int limit = a.getInt("limit", 0);
        String[] w = a.get("widths", "16,32,64").split(",");

        // 1. Read CIFAR-10 once; the train / validation views share the decoded bytes.
        CifarData data = CifarData.load(a.getPath("data", ExampleArgs.DEFAULT_DATA), CifarVariant.CIFAR10,
                LabelMode.FINE);
        int validationSize = Math.min(CifarDataset.DEFAULT_VALIDATION_SIZE, data.trainSize() / 10);
        CifarDataset.Builder train = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.TRAIN)
                .optValidationSize(validationSize).setSampling(128, false);   // not augmented: the recipe does it
        if (limit > 0) {
            train.optLimit(limit);
        }
        CifarDataset validation = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.VALIDATION)
                .optValidationSize(validationSize).setSampling(256, false).build();

        // 2. The model: MoE stages 2 and 3, 8 residual experts each, 2 per image.
        MoeResNet.Config config = MoeResNet.Config.builder()
                .optWidths(Integer.parseInt(w[0]), Integer.parseInt(w[1]), Integer.parseInt(w[2]))
                .optNumExperts(8).optTopK(2).optNumClasses(data.numClasses()).build();

        // 3. The recipe: SGD + cosine schedule, random flips and 4-pixel shifts of each batch, plus the
        //    routing-label mutual-information loss, so that each class is carried by a few experts and
        //    can later be forgotten by retraining them.
        TrainingRecipe recipe = TrainingRecipe.forgetReady().toBuilder()
                .optEpochs(a.getInt("epochs", 2)).optSeed(0).build();

        Engine.getInstance().setRandomSeed(0);
        try (Model model = MoeResNet.newModel(config)) {
            TrainingHistory history = MoeTraining.fit(model, train.build(), validation, recipe,
                    TrainingProgress.console(System.err, false));
            System.out.println(history);
            System.out.printf(Locale.ROOT, "validation accuracy %.4f%%%n", 100 * history.last().validationAccuracy());
            // the recipe, the checksum of the parameters and the library version are recorded by save
            MoeResNet.save(model, out, Map.of("dataset", "CIFAR-10"));
            System.out.println("saved to " + out.toAbsolutePath());
        }
    }
}
