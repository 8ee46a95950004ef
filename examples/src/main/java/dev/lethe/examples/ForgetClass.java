package dev.lethe.examples;

import ai.djl.Model;
import ai.djl.training.dataset.Dataset;
import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarDataset;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.UnlearningEvaluator;

/**
 * Makes a trained model forget one class by retraining only the experts that carry it, and prints
 * the protocol's metrics before and after.
 *
 * <pre>
 * java ... dev.lethe.examples.ForgetClass --model /tmp/moe-model --class cat --limit 5000
 * </pre>
 */
public final class ForgetClass {

    private ForgetClass() {}

    /**
     * @param args {@code --model DIR --class NAME --data PATH --limit N}
     * @throws Exception if the model or the data is missing
     */
    public static void main(String[] args) throws Exception {
        ExampleArgs a = new ExampleArgs(args);
        CifarData data = CifarData.load(a.getPath("data", ExampleArgs.DEFAULT_DATA), CifarVariant.CIFAR10,
                LabelMode.FINE);
        int validationSize = Math.min(CifarDataset.DEFAULT_VALIDATION_SIZE, data.trainSize() / 10);
        int limit = a.getInt("limit", 0);

        // Unlearning reads the training images WITHOUT augmentation; D_f and D_r derive from the labels.
        CifarDataset.Builder trainBuilder = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.TRAIN)
                .optValidationSize(validationSize).setSampling(128, false);
        if (limit > 0) {
            trainBuilder.optLimit(limit);
        }
        CifarDataset train = trainBuilder.build();
        CifarDataset test = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.TEST)
                .setSampling(256, false).build();
        LabeledData labeledTrain = LabeledData.of(train, train.labels(), data.classNames());
        LabeledData labeledTest = LabeledData.of(test, test.labels(), data.classNames());
        UnlearningEvaluator evaluator = UnlearningEvaluator.builder()
                .setTrainData(labeledTrain).setTestData(labeledTest)
                .optRetainSample(2000).optMiaTrainPerSide(1000).build();

        try (Model model = MoeResNet.load(a.getPath("model", "moe-model"))) {
            String className = a.get("class", "cat");
            int classId = data.classId(className);
            UnlearningEvaluation before = evaluator.evaluate(model, classId);

            UnlearningResult result = Unlearner.forClass(className)
                    .from(model)
                    .using(labeledTrain)
                    .optEpochs(2)
                    .retrain();
            try (Model forgotten = result.model()) {
                System.out.println(result.toTable());
                UnlearningEvaluation after = evaluator.evaluate(forgotten, classId);
                System.out.println("before:\n" + before.toTable());
                System.out.println("after:\n" + after.toTable());
            }
        }
    }
}
