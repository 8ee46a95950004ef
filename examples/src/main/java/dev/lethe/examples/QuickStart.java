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
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.data.LabeledData;
import java.nio.file.Path;
import java.util.Map;

/**
 * The README's quick start, compiled and tested: train a small MoE ResNet on CIFAR-10 with
 * class-aware routing, make it forget "cat" by retraining the experts that carry the class, save
 * the result. The body of {@link #run} is the README's snippet, character for character ({@code
 * QuickStartReadmeTest} checks it).
 *
 * <pre>
 * java ... dev.lethe.examples.QuickStart cifar-10-binary.tar.gz              # all 45,000 images, 10 epochs: ~25 min on 2 cores
 * java ... dev.lethe.examples.QuickStart cifar-10-binary.tar.gz 5000 2       # the quick variant: a couple of minutes
 * </pre>
 */
public final class QuickStart {

    private QuickStart() {}

    /**
     * @param args {@code [archive [trainImages [epochs [outputFolder]]]]}; defaults {@code
     *     cifar-10-binary.tar.gz}, 0 (all 45,000 images), 10, {@code cat-forgotten}
     * @throws Exception if the data is missing or a step fails
     */
    public static void main(String[] args) throws Exception {
        System.setProperty("ai.djl.offline", "true"); // docs/djl.md rule 1: DJL never calls home
        run(Path.of(args.length > 0 ? args[0] : "cifar-10-binary.tar.gz"),
                args.length > 1 ? Integer.parseInt(args[1]) : 0,
                args.length > 2 ? Integer.parseInt(args[2]) : 10,
                Path.of(args.length > 3 ? args[3] : "cat-forgotten"));
    }

    /**
     * Trains, forgets "cat", prints what was done and saves the new model.
     *
     * @param archive {@code cifar-10-binary.tar.gz} (or the folder it extracts to)
     * @param trainImages train on the first N images of the 45,000-image training split (0 = all)
     * @param epochs training epochs
     * @param out the folder the forgotten model is saved to
     * @throws Exception if the data is missing or a step fails
     */
    public static void run(Path archive, int trainImages, int epochs, Path out) throws Exception {
        // quick-start:begin
        long seed = 0;                                      // one seed for everything random
        CifarData cifar = CifarData.load(archive, CifarVariant.CIFAR10, LabelMode.FINE);
        CifarDataset.Builder train = CifarDataset.builder().optData(cifar).optUsage(Dataset.Usage.TRAIN)
                .setSampling(128, false);                   // the images as they are: the recipe augments
        if (trainImages > 0) {                              // a subset: the first N training images
            train.optLimit(trainImages);
        }
        CifarDataset images = train.build();
        TrainingRecipe recipe = TrainingRecipe.forgetReady().toBuilder()   // class-aware routing, flips + shifts
                .optEpochs(epochs).optSeed(seed).build();                  // the seed is recorded with the model
        Engine.getInstance().setRandomSeed((int) seed);     // initial weights
        MoeResNet.Config config = MoeResNet.Config.builder().optWidths(16, 32, 64)
                .optSeed(seed).build();                     // routing noise

        try (Model model = MoeResNet.newModel(config)) {
            MoeTraining.fit(model, images, null, recipe, TrainingProgress.console(System.err, false));

            LabeledData data = LabeledData.of(images, images.labels(), images.classNames());
            UnlearningResult result = Unlearner.forClass("cat").from(model).using(data).optSeed(seed).retrain();
            System.out.println(result.toTable());           // experts chosen, collateral, time, audit
            try (Model forgotten = result.model()) {
                MoeResNet.save(forgotten, out, Map.of("dataset", "CIFAR-10"));   // + recipe, checksum, forgotten class
            }
        }
        // quick-start:end
    }
}
