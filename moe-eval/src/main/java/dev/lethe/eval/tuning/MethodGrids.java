package dev.lethe.eval.tuning;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import dev.lethe.unlearn.Method;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The validation grid of every unlearning method: the same number of candidates for each ({@value
 * #SIZE}: 3 learning rates × 2 budgets), so that every baseline gets the tuning budget of ours
 * ({@link ValidationSweep#checkSameBudget}), with the same selection rule ({@link
 * ValidationSweep#choose}). Every method keeps its other defaults (its loss, scope, options).
 *
 * <p>The axes, per method (each grid holds the method's default learning rate and its default
 * budget, {@code epochs = 2}, so the defaults are always a candidate):
 *
 * <table>
 *   <caption>Grids</caption>
 *   <tr><th>method</th><th>learning rates (Adam)</th><th>epochs</th><th>an epoch is</th></tr>
 *   <tr><td>EXPERT_TARGETED (ours)</td><td>1e-4, 3e-4, 1e-3</td><td>2, 4</td><td>a pass over the forget images</td></tr>
 *   <tr><td>FINE_TUNE</td><td>3e-4, 1e-3, 3e-3</td><td>1, 2</td><td>a pass over the retain set</td></tr>
 *   <tr><td>GRADIENT_ASCENT</td><td>3e-5, 1e-4, 3e-4</td><td>2, 4</td><td>a pass over the forget images (stops at chance)</td></tr>
 *   <tr><td>RANDOM_LABELS</td><td>3e-4, 1e-3, 3e-3</td><td>2, 4</td><td>a pass over the forget images</td></tr>
 *   <tr><td>SALUN</td><td>3e-4, 1e-3, 3e-3</td><td>2, 4</td><td>a pass over the forget images</td></tr>
 *   <tr><td>SCRUB</td><td>2e-4, 5e-4, 1e-3</td><td>2, 3</td><td>a max pass (first 2) and a min pass</td></tr>
 *   <tr><td>RESET_RETRAIN</td><td>3e-4, 1e-3, 3e-3</td><td>2, 4</td><td>a forget pass's worth of retain steps</td></tr>
 *   <tr><td>TRUNK_EDIT</td><td>1e-4, 3e-4, 1e-3</td><td>2, 4</td><td>a pass over the forget images</td></tr>
 * </table>
 *
 * <p>Why these. The learning rates are the method's default and its neighbours on the half-decade
 * ladder (SCRUB's default, 5e-4, is the authors'): the defaults were set before any sweep, and a
 * factor 3 either side is where Adam's behaviour changes in kind (from no forgetting to collapse).
 * The budgets are the default and twice it, so every method can use at least the wall clock of
 * ours at its largest budget (4 passes over the forget images, about 316 steps of 128 images on
 * CIFAR-10): fine-tuning gets 1 or 2 full passes over the retain set (352 or 704 steps, already
 * more), SCRUB 2 or 3 epochs (the authors' 3), and gradient ascent ends by itself once the forget
 * images are below chance, so its budget caps it, not pads it. The Retrain oracle is not tuned (its
 * recipe is the model's).
 */
public final class MethodGrids {

    /** The number of candidates of every grid. */
    public static final int SIZE = 6;

    private static final Map<Method, float[]> RATES = new EnumMap<>(Method.class);
    private static final Map<Method, int[]> EPOCHS = new EnumMap<>(Method.class);

    static {
        grid(Method.EXPERT_TARGETED, new float[] {1e-4f, 3e-4f, 1e-3f}, 2, 4);
        grid(Method.FINE_TUNE, new float[] {3e-4f, 1e-3f, 3e-3f}, 1, 2);
        grid(Method.GRADIENT_ASCENT, new float[] {3e-5f, 1e-4f, 3e-4f}, 2, 4);
        grid(Method.RANDOM_LABELS, new float[] {3e-4f, 1e-3f, 3e-3f}, 2, 4);
        grid(Method.SALUN, new float[] {3e-4f, 1e-3f, 3e-3f}, 2, 4);
        grid(Method.SCRUB, new float[] {2e-4f, 5e-4f, 1e-3f}, 2, 3);
        grid(Method.RESET_RETRAIN, new float[] {3e-4f, 1e-3f, 3e-3f}, 2, 4);
        grid(Method.TRUNK_EDIT, new float[] {1e-4f, 3e-4f, 1e-3f}, 2, 4);
    }

    private MethodGrids() {}

    private static void grid(Method method, float[] rates, int... epochs) {
        RATES.put(method, rates);
        EPOCHS.put(method, epochs);
    }

    /**
     * @param method a method
     * @return whether it has a grid (every method but the Retrain oracle)
     */
    public static boolean has(Method method) {
        return RATES.containsKey(method);
    }

    /**
     * The grid of one method: learning rate × budget, learning rates first.
     *
     * @param method the method
     * @return its {@value #SIZE} candidates, each setting the method, its learning rate and epochs
     * @throws IllegalArgumentException if the method has no grid (the Retrain oracle)
     */
    public static List<Candidate> of(Method method) {
        Preconditions.checkNotNull(method, "method must not be null");
        Preconditions.checkArgument(
                has(method), "%s has no validation grid: the Retrain oracle is trained with the model's recipe", method);
        List<Candidate> out = new ArrayList<>();
        for (float rate : RATES.get(method)) {
            for (int epochs : EPOCHS.get(method)) {
                String name =
                        String.format(
                                Locale.ROOT,
                                "%s lr %s, %d %s",
                                method,
                                rate(rate),
                                epochs,
                                method == Method.FINE_TUNE
                                        ? (epochs == 1 ? "pass over the retain set" : "passes over the retain set")
                                        : "epochs");
                out.add(Candidate.of(name, u -> u.method(method).optLearningRate(rate).optEpochs(epochs)));
            }
        }
        return ImmutableList.copyOf(out);
    }

    /**
     * @return every method's grid, by method name, in {@link Method} order (the Retrain oracle
     *     left out): the map {@link ValidationSweep#checkSameBudget} checks
     */
    public static Map<String, List<Candidate>> all() {
        Map<String, List<Candidate>> out = new LinkedHashMap<>();
        for (Method m : Method.values()) {
            if (has(m)) {
                out.put(m.name(), of(m));
            }
        }
        return out;
    }

    private static String rate(float rate) {
        int exponent = (int) Math.floor(Math.log10(rate) + 1e-6);
        double mantissa = rate / Math.pow(10, exponent);
        return String.format(Locale.ROOT, "%de%d", Math.round(mantissa), exponent);
    }
}
