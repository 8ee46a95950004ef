package dev.lethe.eval;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.dataset.RandomAccessDataset;
import ai.djl.util.Pair;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.data.LabeledData;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.util.stream.IntStream;

/**
 * Three tiny MoE models on {@link TintedImages#striped}, forgetting class 3 ("striped"): the original
 * (trained on every class), a Retrain model (trained without class 3: it never saw it) and a
 * suppressed model (the original with the head's row of class 3 zeroed and its bias lowered: the
 * class is gone from the output, its features intact). Trained once per test JVM ({@link #shared()},
 * about 3 s on one thread) and never closed: the JVM's exit frees it.
 */
public final class ForgetFixture {

    private static ForgetFixture shared;

    /** The forgotten class. */
    public static final int FORGET = TintedImages.STRIPED;

    public final NDManager manager = NDManager.newBaseManager();
    public final LabeledData train = TintedImages.striped(manager, 800, 1);
    public final LabeledData test = TintedImages.striped(manager, 240, 2);
    public final LabeledData heldOut = TintedImages.striped(manager, 240, 3);
    public final Model original;
    public final Model retrain;
    public final Model suppressed;

    /**
     * @return the fixture, trained at the first call
     * @throws Exception if training fails
     */
    public static synchronized ForgetFixture shared() throws Exception {
        if (shared == null) {
            shared = new ForgetFixture();
        }
        return shared;
    }

    private ForgetFixture() throws Exception {
        TrainingRecipe recipe = TrainingRecipe.builder().optEpochs(4).optBatchSize(32).optLearningRate(0.1f)
                .optAugmentation(TrainingRecipe.Flip.NONE, 0) // tinted and striped images: the fixture was measured without augmentation
                .optWarmupEpochs(0.5f).build();
        original = fit(train.view(IntStream.range(0, train.size()).toArray(), 32, true), recipe);
        retrain = fit(train.view(train.indicesExcept(FORGET), 32, true), recipe);
        suppressed = tinyMoe();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        original.getBlock().saveParameters(new DataOutputStream(bytes));
        suppressed.getBlock().loadParameters(suppressed.getNDManager(),
                new DataInputStream(new ByteArrayInputStream(bytes.toByteArray())));
        suppress(suppressed, FORGET, 3f);
    }

    /** A new tiny MoE ResNet (widths 4, 8, 8; 3 experts, top-2; MoE at stages 2 and 3). */
    public static Model tinyMoe() {
        return MoeResNet.newModel(MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(3)
                .optNumClasses(TintedImages.STRIPED_NAMES.size()).build());
    }

    private static Model fit(RandomAccessDataset data, TrainingRecipe recipe) throws Exception {
        Engine.getInstance().setRandomSeed(1);
        Model model = tinyMoe();
        MoeTraining.fit(model, data, null, recipe, TrainingProgress.silent());
        return model;
    }

    /** Zeroes the head's weights of a class and sets its bias to −margin. */
    static void suppress(Model model, int classId, float margin) {
        for (Pair<String, Parameter> p : ((MoeResNet) model.getBlock()).classifier().getParameters()) {
            NDArray a = p.getValue().getArray();
            if (p.getKey().endsWith("weight")) {
                float[] w = a.toFloatArray();
                int d = (int) a.getShape().get(1);
                for (int j = 0; j < d; j++) {
                    w[classId * d + j] = 0f;
                }
                a.set(w);
            } else {
                float[] b = a.toFloatArray();
                b[classId] = -margin;
                a.set(b);
            }
        }
    }
}
