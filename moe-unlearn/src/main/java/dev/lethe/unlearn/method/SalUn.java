package dev.lethe.unlearn.method;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.training.dataset.Batch;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.train.BatchComposer;
import dev.lethe.unlearn.train.ParameterSelection;
import java.io.IOException;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * SalUn ({@link Method#SALUN}; Fan et al., ICLR 2024, "SalUn: Empowering machine unlearning via
 * gradient-based weight saliency"): random labels trained only on the weights that matter most
 * for the forgotten class.
 *
 * <ol>
 *   <li>Saliency ({@link #trainable}): the gradient of the cross-entropy of every forget image
 *       (summed, the network in inference mode) with respect to every weight; the {@code fraction}
 *       of all weight elements with the largest {@code |gradient|} (one global ranking over the
 *       network, as in the paper's hard threshold; default 0.5, the paper's) train, the others stay
 *       bit-identical ({@link ParameterSelection#withMask}: with Adam and no weight decay a masked
 *       element's update is exactly 0).
 *   <li>Random labels (the paper's RL variant for classification): forget images trained toward
 *       random other classes, mixed with as many retain images trained on their labels ({@link
 *       ForgettingLoss#randomLabels}), in training mode, with Adam at {@value
 *       #DEFAULT_LEARNING_RATE}, for {@code epochs} passes over the forget images.
 * </ol>
 *
 * <p>Budget: the same steps as the expert-targeted and random-label methods, plus one forward and
 * backward pass over the forget images for the saliency. Removal: {@link
 * dev.lethe.unlearn.Removal#SUPPRESS} (a masked fine-tune of the outputs; the paper measures it on
 * output metrics only).
 */
public final class SalUn extends EditingMethod {

    /** The default learning rate (our random-label baseline's). */
    public static final float DEFAULT_LEARNING_RATE = 1e-3f;

    /**
     * The options of {@link Method#SALUN}.
     *
     * @param fraction the fraction of weight elements that train, in (0, 1] (default 0.5)
     */
    public record Options(float fraction) implements MethodOptions {

        /** Checks the option. */
        public Options {
            Preconditions.checkArgument(fraction > 0 && fraction <= 1, "fraction (%s) must be in (0, 1]", fraction);
        }

        /** @return fraction 0.5 */
        public static Options defaults() {
            return new Options(0.5f);
        }

        /**
         * @param fraction the fraction of weight elements that train, in (0, 1]
         * @return a copy
         */
        public Options withFraction(float fraction) {
            return new Options(fraction);
        }

        @Override
        public Method method() {
            return Method.SALUN;
        }

        @Override
        public JsonObject toJson() {
            JsonObject o = new JsonObject();
            o.addProperty("fraction", fraction);
            return o;
        }
    }

    private static Options options(UnlearningSettings settings) {
        return settings.methodOptions(Method.SALUN).map(Options.class::cast).orElseGet(Options::defaults);
    }

    @Override
    public float defaultLearningRate() {
        return DEFAULT_LEARNING_RATE;
    }

    @Override
    public ForgettingLoss loss(UnlearningSettings settings) {
        return ForgettingLoss.randomLabels(settings.seed());
    }

    @Override
    public boolean trainingMode() {
        return true;
    }

    @Override
    public BatchComposer composer() {
        return BatchComposer.FORGET_AND_RETAIN;
    }

    /** Adds the options to the provenance. */
    @Override
    public void describe(UnlearningSettings settings, JsonObject out) {
        super.describe(settings, out);
        out.add("options", options(settings).toJson());
    }

    /**
     * @return every weight, each masked to its salient elements (step 1 of the class description)
     */
    @Override
    public ParameterSelection trainable(UnlearningContext context) throws IOException {
        float fraction = options(context.settings()).fraction();
        EmbeddingClassifier net = context.net();
        ParameterSelection all =
                ParameterSelection.all(net, String.format(Locale.ROOT, "SalUn: the %.2f most salient weights", fraction));
        Map<String, float[]> saliency = saliency(context, all.names());
        long total = 0;
        for (float[] s : saliency.values()) {
            total += s.length;
        }
        long keep = (long) Math.ceil(fraction * (double) total);
        float[] flat = new float[Math.toIntExact(total)];
        int at = 0;
        for (float[] s : saliency.values()) {
            System.arraycopy(s, 0, flat, at, s.length);
            at += s.length;
        }
        Arrays.sort(flat);
        float threshold = flat[Math.toIntExact(total - keep)];
        long above = 0;
        for (float v : flat) {
            above += v > threshold ? 1 : 0;
        }
        long ties = keep - above; // elements equal to the threshold that still train, in model order
        ParameterSelection selection = all;
        for (Map.Entry<String, float[]> e : saliency.entrySet()) {
            float[] s = e.getValue();
            float[] mask = new float[s.length];
            boolean full = true;
            for (int i = 0; i < s.length; i++) {
                if (s[i] > threshold || (s[i] == threshold && ties-- > 0)) {
                    mask[i] = 1f;
                } else {
                    full = false;
                }
            }
            if (!full) {
                selection = selection.withMask(e.getKey(), mask);
            }
        }
        context.report("%s", selection);
        return selection;
    }

    /**
     * @return per selected weight, |d CE(forget images) / d weight| summed over the forget set,
     *     row-major
     */
    static Map<String, float[]> saliency(UnlearningContext context, List<String> names) throws IOException {
        EmbeddingClassifier net = context.net();
        MoeBlocks.setTrainable(net, true);
        Map<String, Parameter> parameters = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : net.getParameters()) {
            parameters.put(p.getKey(), p.getValue());
        }
        zeroGradients(parameters, names);
        int[] forget = context.forgetIndices();
        int step = Math.max(2, context.settings().batchSize() * 2);
        try (NDManager manager = NDManager.newBaseManager()) {
            ParameterStore store = new ParameterStore(manager, false);
            for (int start = 0; start < forget.length; start += step) {
                int[] chunk = Arrays.copyOfRange(forget, start, Math.min(forget.length, start + step));
                try (NDManager scope = manager.newSubManager();
                        Batch batch = context.data().batch(scope, chunk);
                        GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray logits = net.forward(store, batch.getData(), false).head();
                    int[] labels = MoeTraining.toIntLabels(batch.getLabels().head());
                    long[] y = new long[labels.length];
                    for (int i = 0; i < y.length; i++) {
                        y[i] = labels[i];
                    }
                    NDArray ce = logits.logSoftmax(1).gather(scope.create(y).reshape(-1, 1), 1).sum().neg();
                    gc.backward(ce);
                }
            }
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String name : names) {
            NDArray array = parameters.get(name).getArray();
            float[] g;
            if (array.hasGradient()) {
                try (NDArray gradient = array.getGradient()) {
                    g = gradient.toFloatArray();
                }
            } else {
                g = new float[Math.toIntExact(array.size())];
            }
            for (int i = 0; i < g.length; i++) {
                g[i] = Math.abs(g[i]);
            }
            out.put(name, g);
        }
        zeroGradients(parameters, names);
        return out;
    }

    private static void zeroGradients(Map<String, Parameter> parameters, List<String> names) {
        for (String name : names) {
            NDArray array = parameters.get(name).getArray();
            if (array.hasGradient()) {
                try (NDArray gradient = array.getGradient()) {
                    gradient.muli(0);
                }
            }
        }
    }
}
