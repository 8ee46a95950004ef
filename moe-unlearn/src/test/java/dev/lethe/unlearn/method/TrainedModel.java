package dev.lethe.unlearn.method;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.Batch;
import ai.djl.util.Pair;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.SyntheticImages;
import dev.lethe.unlearn.data.LabeledData;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * A tiny MoE ResNet (widths 4, 8, 8; 4 experts, top-2; 4 classes) trained for 3 epochs on {@link
 * SyntheticImages} (128 per class), shared by the method tests of a test JVM ({@link #shared()},
 * a few seconds on one thread) and never closed: the JVM's exit frees it. Tests must not change
 * it (unlearning works on copies).
 */
final class TrainedModel {

    private static TrainedModel shared;

    final NDManager manager = NDManager.newBaseManager();
    final LabeledData train = SyntheticImages.make(manager, 128, 1);
    final LabeledData test = SyntheticImages.make(manager, 64, 2);
    final Model model;

    static synchronized TrainedModel shared() throws Exception {
        if (shared == null) {
            shared = new TrainedModel();
        }
        return shared;
    }

    private TrainedModel() throws Exception {
        Engine.getInstance().setRandomSeed(7);
        model = MoeResNet.newModel(config());
        TrainingRecipe recipe = TrainingRecipe.builder().optEpochs(3).optBatchSize(32).optLearningRate(0.1f)
                .optWarmupEpochs(0.5f).optMutualInformation(0.5f, 0.5f).build();
        MoeTraining.fit(model, train.view(IntStream.range(0, train.size()).toArray(), 32, true), null, recipe,
                TrainingProgress.silent());
    }

    static MoeResNet.Config config() {
        return MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(4).optTopK(2).optNumClasses(4).build();
    }

    /** @return the model's accuracy (0-1) on the test images of one class */
    double accuracy(Model m, int classId) throws Exception {
        return correct(m, test.indicesOf(classId)) / (double) test.indicesOf(classId).length;
    }

    /** @return the model's accuracy (0-1) on the test images of every other class */
    double accuracyExcept(Model m, int classId) throws Exception {
        return correct(m, test.indicesExcept(classId)) / (double) test.indicesExcept(classId).length;
    }

    private int correct(Model m, int[] idx) throws Exception {
        try (NDManager scope = NDManager.newBaseManager(); Batch b = test.batch(scope, idx)) {
            long[] pred = m.getBlock().forward(new ParameterStore(scope, false), b.getData(), false).head().argMax(1).toLongArray();
            int[] labels = MoeTraining.toIntLabels(b.getLabels().head());
            int ok = 0;
            for (int i = 0; i < pred.length; i++) {
                ok += pred[i] == labels[i] ? 1 : 0;
            }
            return ok;
        }
    }

    static Map<String, float[]> values(Model m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : m.getBlock().getParameters()) {
            out.put(p.getKey(), p.getValue().getArray().toFloatArray());
        }
        return out;
    }
}
