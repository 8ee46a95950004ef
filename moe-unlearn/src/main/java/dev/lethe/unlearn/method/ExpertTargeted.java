package dev.lethe.unlearn.method;

import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.profile.ActivationProfile;
import dev.lethe.unlearn.profile.ActivationProfiler;
import dev.lethe.unlearn.profile.ExpertSelection;
import dev.lethe.unlearn.profile.RetainSampler;
import dev.lethe.unlearn.train.BatchComposer;
import java.io.IOException;
import java.util.Arrays;

/**
 * Ours ({@link dev.lethe.unlearn.Method#EXPERT_TARGETED}): retrain only the experts the class is
 * routed to.
 *
 * <ol>
 *   <li>{@link #prepare}: profile the routing of the class's training images and of {@code
 *       profileRetainSample} retain images ({@link ActivationProfiler}); select, per MoE layer, the
 *       experts that carry the class (the settings' selector, default {@code coverage(0.9)}); with
 *       {@code retainFocus > 0}, draw retain images by their classes' exposure to the selection
 *       ({@link RetainSampler#byExposure}).
 *   <li>Train the selected experts within the scope (default {@link #DEFAULT_SCOPE}: experts, their
 *       routers and the head, the scope of the README's numbers) with the settings' forgetting loss
 *       (default {@link #defaultLoss()}), on steps of forget images mixed with as many retain
 *       images, with Adam at {@value #DEFAULT_LEARNING_RATE}, in inference mode (BatchNorm
 *       statistics and routing noise off).
 * </ol>
 *
 * <p>Defaults chosen on CIFAR-10's validation split (docs/RESULTS.md). Suppresses: the class can
 * come back by relearning ({@link dev.lethe.unlearn.Removal#SUPPRESS}).
 */
public final class ExpertTargeted extends EditingMethod {

    /** The default scope: {@link Scope#EXPERTS_ROUTER_AND_HEAD}. */
    public static final Scope DEFAULT_SCOPE = Scope.EXPERTS_ROUTER_AND_HEAD;
    /** The default learning rate. */
    public static final float DEFAULT_LEARNING_RATE = 3e-4f;

    /** @return the default loss: contrastive, with distillation (weight 1, T = 2) */
    public static ForgettingLoss defaultLoss() {
        return ForgettingLoss.contrastive().withDistillation(1f, 2f);
    }

    @Override
    public Scope scope(UnlearningSettings settings) {
        return settings.scope().orElse(DEFAULT_SCOPE);
    }

    @Override
    public float defaultLearningRate() {
        return DEFAULT_LEARNING_RATE;
    }

    @Override
    public ForgettingLoss loss(UnlearningSettings settings) {
        return settings.loss().orElseGet(ExpertTargeted::defaultLoss);
    }

    @Override
    public boolean trainingMode() {
        return false;
    }

    @Override
    public BatchComposer composer() {
        return BatchComposer.FORGET_AND_RETAIN;
    }

    /** Profiles the routing, selects the experts and sets up the focused retain sampling. */
    @Override
    public void prepare(UnlearningContext context) throws IOException {
        if (scope(context.settings()).usesExperts()) {
            selectExperts(context);
        }
    }

    /**
     * Step 1 of the class description, shared with {@link ResetRetrain}: profiles the routing,
     * records the selection in the context and, with {@code retainFocus > 0}, sets its retain
     * sampler.
     */
    static void selectExperts(UnlearningContext context) throws IOException {
        UnlearningSettings s = context.settings();
        int[] forget = context.forgetIndices();
        int[] sample = RetainSampler.uniform(context.retainIndices()).draw(s.profileRetainSample(), context.random());
        int[] profiled = Arrays.copyOf(forget, forget.length + sample.length);
        System.arraycopy(sample, 0, profiled, forget.length, sample.length);
        context.report("profiling the routing of %d images", profiled.length);
        ActivationProfile profile = ActivationProfiler.profile(context.workingModel(), context.data(), profiled, 256);
        ExpertSelection selection = s.selector().select(profile, context.forgetClass(), context.net());
        context.select(selection);
        context.report("%s", selection.toTable().trim());
        if (s.retainFocus() > 0) {
            RetainSampler sampler =
                    RetainSampler.byExposure(
                            context.data(),
                            context.retainIndices(),
                            RetainSampler.exposure(profile, selection),
                            s.retainFocus());
            context.useRetainSampler(sampler);
            context.report("retain classes drawn with probabilities %s", sampler);
        }
    }
}
