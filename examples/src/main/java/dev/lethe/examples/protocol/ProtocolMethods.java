package dev.lethe.examples.protocol;

import com.google.common.base.Preconditions;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.eval.tuning.MethodGrids;
import dev.lethe.examples.cli.Converters;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.loss.ForgettingLoss;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The methods {@code lethe protocol --methods} runs besides Retrain, by name: where a name maps to
 * how the {@link dev.lethe.unlearn.Unlearner} is configured. Also the order of the report's rows.
 *
 * <ul>
 *   <li>Every {@link Method} other than the expert-targeted method, Retrain and exact deletion is a
 *       baseline under its command-line name ({@code fine-tune}, {@code gradient-ascent}, {@code
 *       random-labels}, {@code salun}, {@code scrub}, {@code reset-retrain}, {@code trunk-edit},
 *       and whatever the library adds), with the candidate of its validation grid chosen by {@code
 *       --tune} ({@link MethodGrids}), else the library's defaults: a new {@code Method} constant
 *       appears here without a line of code.
 *   <li>{@code exact}: {@link Method#EXACT}, only on base models trained by {@code ExactTraining}
 *       ({@code --recipes exact}, {@code fast-exact}); the plan decides its settings.
 *   <li>The expert-targeted method ("ours") with its chosen settings, once per scope ({@code
 *       ours-experts}, {@code ours-router}, {@code ours-head} (the library's default scope), and
 *       {@code ours-all}, the ablation of the targeting: the same loss on every parameter).
 *   <li>Variants that answer a question: {@code head-only} (the classification head alone, with
 *       the settings fixed before any CIFAR run), {@code head-only-ours} (the same with ours'
 *       settings: is tuning alone the gain?), {@code fine-tune-ours} (fine-tuning at ours' learning
 *       rate: is the lower rate alone the gain?).
 * </ul>
 *
 * <p>On an exact base model only {@code exact}, {@code fine-tune} and {@code ours-head} run (the
 * latter two for contrast); every other method runs on the jointly trained base models only. A new
 * variant is one line in {@link #build()}.
 */
final class ProtocolMethods {

    /** The name of the Retrain oracle's records (it runs unless {@code --skip-retrain}). */
    static final String RETRAIN = "retrain";

    /** The value of {@code --methods} that selects every method. */
    static final String ALL_NAME = "all";

    /**
     * The settings of the expert-targeted method fixed before any CIFAR-10 run, which {@code
     * head-only} keeps: the contrastive loss without distillation, no retain focus, retain ratio 1,
     * Adam at 1e-3.
     */
    static final Candidate FIXED_HEAD_ONLY = Candidate.of("contrastive, focus 0, retain ratio 1, lr 1e-3",
            u -> u.method(Method.EXPERT_TARGETED).optRetainFocus(0f).optRetainRatio(1f).optLearningRate(1e-3f)
                    .optLoss(ForgettingLoss.contrastive()));

    /** The {@link Method}s that are not baselines: ours (configured per scope below), the oracle and exact deletion. */
    private static final Set<Method> NOT_BASELINES = EnumSet.of(Method.EXPERT_TARGETED, Method.RETRAIN, Method.EXACT);

    /** The baselines that also run on exact base models, for contrast. */
    private static final Set<Method> ALSO_ON_EXACT = EnumSet.of(Method.FINE_TUNE);

    private static final Map<String, ProtocolMethod> BY_NAME = build();

    private ProtocolMethods() {}

    private static Map<String, ProtocolMethod> build() {
        List<ProtocolMethod> methods = new ArrayList<>();
        for (Method m : Method.values()) {
            if (!NOT_BASELINES.contains(m)) {
                methods.add(new ProtocolMethod(Converters.cliName(m), m, MethodGrids.has(m) ? m : null, true,
                        ALSO_ON_EXACT.contains(m), (u, chosen) -> chosen.of(m).apply(u.method(m))));
            }
        }
        methods.add(new ProtocolMethod(Converters.cliName(Method.EXACT), Method.EXACT, null, false, true,
                (u, chosen) -> u.method(Method.EXACT)));
        methods.add(new ProtocolMethod("fine-tune-ours", Method.FINE_TUNE, Method.EXPERT_TARGETED, true, false,
                (u, chosen) -> u.method(Method.FINE_TUNE).optLearningRate(learningRate(chosen))));
        methods.add(new ProtocolMethod("head-only", Method.EXPERT_TARGETED, null, true, false,
                (u, chosen) -> FIXED_HEAD_ONLY.apply(u).optScope(Scope.HEAD_ONLY)));
        methods.add(ours("head-only-ours", Scope.HEAD_ONLY, false));
        methods.add(ours("ours-experts", Scope.EXPERTS, false));
        methods.add(ours("ours-router", Scope.EXPERTS_AND_ROUTER, false));
        methods.add(ours("ours-head", Scope.EXPERTS_ROUTER_AND_HEAD, true));
        methods.add(ours("ours-all", Scope.ALL, false));
        Map<String, ProtocolMethod> byName = new LinkedHashMap<>();
        for (ProtocolMethod m : methods) {
            Preconditions.checkState(byName.put(m.name(), m) == null, "two protocol methods are named '%s'", m.name());
        }
        return byName;
    }

    /** The expert-targeted method with ours' settings, in one scope. */
    private static ProtocolMethod ours(String name, Scope scope, boolean onExact) {
        return new ProtocolMethod(name, Method.EXPERT_TARGETED, Method.EXPERT_TARGETED, true, onExact,
                (u, chosen) -> chosen.of(Method.EXPERT_TARGETED).apply(u.method(Method.EXPERT_TARGETED)).optScope(scope));
    }

    /** The learning rate the expert-targeted method runs with under the chosen settings, as the library resolves it. */
    private static float learningRate(ChosenSettings chosen) {
        return chosen.of(Method.EXPERT_TARGETED).apply(Unlearner.forClass(0).method(Method.EXPERT_TARGETED)).settings()
                .toJson().get("learningRate").getAsFloat();
    }

    /** @return every method, in the report's order */
    static List<ProtocolMethod> all() {
        return List.copyOf(BY_NAME.values());
    }

    /** @return every name, in the report's order */
    static List<String> names() {
        return List.copyOf(BY_NAME.keySet());
    }

    /**
     * @param names names of {@link #names()}, or {@value #ALL_NAME}
     * @return the methods, in the order given ({@value #ALL_NAME}: every method), each once
     * @throws IllegalArgumentException naming the first unknown name and the known ones
     */
    static List<ProtocolMethod> resolve(List<String> names) {
        Map<String, ProtocolMethod> out = new LinkedHashMap<>();
        for (String n : names) {
            if (n.equals(ALL_NAME)) {
                BY_NAME.forEach(out::putIfAbsent);
                continue;
            }
            ProtocolMethod m = BY_NAME.get(n);
            Preconditions.checkArgument(m != null, "unknown method '%s'; choose from %s or %s", n, names(), ALL_NAME);
            out.putIfAbsent(n, m);
        }
        return List.copyOf(out.values());
    }

    /**
     * The library methods whose grids {@code --tune} runs for some methods: each method's {@link
     * ProtocolMethod#tunedBy()}, once, in {@link Method} order.
     *
     * @param methods protocol methods
     * @param exactBase whether the tuning base model was trained by {@code ExactTraining} (only the
     *     methods that run on it are tuned there)
     * @return the library methods to tune
     */
    static List<Method> tunedMethods(List<ProtocolMethod> methods, boolean exactBase) {
        Set<Method> out = EnumSet.noneOf(Method.class);
        for (ProtocolMethod m : methods) {
            if (m.tuned() && m.runsOn(exactBase)) {
                out.add(m.tunedBy());
            }
        }
        return List.copyOf(out);
    }

    /**
     * @param methods protocol methods
     * @return the library methods whose grids {@code --tune} runs for them, whatever base models
     *     they run on, once, in {@link Method} order (choices made on one base model and used on
     *     every other)
     */
    static List<Method> tunedMethods(List<ProtocolMethod> methods) {
        Set<Method> out = EnumSet.noneOf(Method.class);
        out.addAll(tunedMethods(methods, false));
        out.addAll(tunedMethods(methods, true));
        return List.copyOf(out);
    }
}
