package dev.lethe.examples.protocol;

import com.google.common.base.Preconditions;
import dev.lethe.eval.tuning.Candidate;
import dev.lethe.examples.cli.Converters;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.Unlearner;
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
 *   <li>Every {@link Method} other than the expert-targeted method and Retrain is a baseline under
 *       its command-line name ({@code fine-tune}, {@code gradient-ascent}, {@code random-labels},
 *       and whatever the library adds), with the library's defaults: a new {@code Method}
 *       constant appears here without a line of code.
 *   <li>The expert-targeted method ("ours") with the settings chosen on validation, once per
 *       scope ({@code ours-experts}, {@code ours-router}, {@code ours-head}, and {@code ours-all},
 *       the ablation of the targeting: the same loss on every parameter).
 *   <li>Variants that answer a question: {@code head-only} (the classification head alone, with
 *       the settings fixed before any CIFAR run), {@code head-only-ours} (the same with ours'
 *       settings: is tuning alone the gain?), {@code fine-tune-ours} (fine-tuning at ours' learning
 *       rate: is the lower rate alone the gain?).
 * </ul>
 *
 * <p>A new variant is one line in {@link #build()}.
 */
final class ProtocolMethods {

    /** The name of the Retrain oracle's records (it runs unless {@code --skip-retrain}). */
    static final String RETRAIN = "retrain";

    /** The value of {@code --methods} that selects every method. */
    static final String ALL_NAME = "all";

    /** The {@link Method}s that are not baselines: ours (configured per scope below) and the oracle. */
    private static final Set<Method> NOT_BASELINES = EnumSet.of(Method.EXPERT_TARGETED, Method.RETRAIN);

    private static final Map<String, ProtocolMethod> BY_NAME = build();

    private ProtocolMethods() {}

    private static Map<String, ProtocolMethod> build() {
        List<ProtocolMethod> methods = new ArrayList<>();
        for (Method m : Method.values()) {
            if (!NOT_BASELINES.contains(m)) {
                methods.add(new ProtocolMethod(Converters.cliName(m), false, (u, ours) -> u.method(m)));
            }
        }
        methods.add(new ProtocolMethod("fine-tune-ours", true,
                (u, ours) -> u.method(Method.FINE_TUNE).optLearningRate(learningRate(ours))));
        methods.add(new ProtocolMethod("head-only", false,
                (u, ours) -> OursGrid.baseline().apply(u).optScope(Scope.HEAD_ONLY)));
        methods.add(ours("head-only-ours", Scope.HEAD_ONLY));
        methods.add(ours("ours-experts", Scope.EXPERTS));
        methods.add(ours("ours-router", Scope.EXPERTS_AND_ROUTER));
        methods.add(ours("ours-head", Scope.EXPERTS_ROUTER_AND_HEAD));
        methods.add(ours("ours-all", Scope.ALL));
        Map<String, ProtocolMethod> byName = new LinkedHashMap<>();
        for (ProtocolMethod m : methods) {
            Preconditions.checkState(byName.put(m.name(), m) == null, "two protocol methods are named '%s'", m.name());
        }
        return byName;
    }

    /** The expert-targeted method with ours' settings, in one scope. */
    private static ProtocolMethod ours(String name, Scope scope) {
        return new ProtocolMethod(name, true, (u, ours) -> ours.apply(u).method(Method.EXPERT_TARGETED).optScope(scope));
    }

    /** The learning rate the expert-targeted method runs with under a candidate's settings, as the library resolves it. */
    private static float learningRate(Candidate ours) {
        return ours.apply(Unlearner.forClass(0).method(Method.EXPERT_TARGETED)).settings().toJson()
                .get("learningRate").getAsFloat();
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
     * @return the methods, in the order given ({@value #ALL_NAME}: every method)
     * @throws IllegalArgumentException naming the first unknown name and the known ones
     */
    static List<ProtocolMethod> resolve(List<String> names) {
        List<ProtocolMethod> out = new ArrayList<>();
        for (String n : names) {
            if (n.equals(ALL_NAME)) {
                out.addAll(BY_NAME.values());
                continue;
            }
            ProtocolMethod m = BY_NAME.get(n);
            Preconditions.checkArgument(m != null, "unknown method '%s'; choose from %s or %s", n, names(), ALL_NAME);
            out.add(m);
        }
        return List.copyOf(out);
    }
}
