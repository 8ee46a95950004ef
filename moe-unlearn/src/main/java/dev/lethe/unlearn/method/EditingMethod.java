package dev.lethe.unlearn.method;

import ai.djl.Model;
import ai.djl.nn.Block;
import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.unlearn.Removal;
import dev.lethe.unlearn.Scope;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.loss.ForgettingLoss;
import dev.lethe.unlearn.loss.UnlearningLoss;
import dev.lethe.unlearn.train.BatchComposer;
import dev.lethe.unlearn.train.BatchPlan;
import dev.lethe.unlearn.train.ForgettingLoop;
import dev.lethe.unlearn.train.ParameterSelection;
import dev.lethe.unlearn.train.Phase;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A method that edits the trained model by gradient steps: it prepares the working model, chooses
 * what trains, and runs its {@link Phase}s through the {@link ForgettingLoop}. Each part of a
 * method is a hook with the default every method so far shares; a method overrides the parts that
 * make it what it is:
 *
 * <ul>
 *   <li>{@link #prepare}: work on the model before training (profile and select experts; reset or
 *       re-initialise parameters; re-estimate BatchNorm statistics). Default: nothing.
 *   <li>{@link #trainable}: which parameters train, possibly element-masked ({@link
 *       ParameterSelection#withMask}). Default: the {@link #scope} with the selected experts.
 *   <li>{@link #composer()}: the forget/retain mix of a step; {@link #plan}: the steps of the
 *       default phase (default {@code epochs} passes over the forget images).
 *   <li>{@link #loss} and {@link #objective}: the loss; default the forgetting loss plus the router
 *       anchor of the settings, as one {@link UnlearningLoss}.
 *   <li>{@link #defaultLearningRate()}, {@link #trainingMode()}.
 *   <li>{@link #phases}: the run's phases; default one phase over the forget images built from the
 *       hooks above. Multi-phase methods (SCRUB's max/min steps, reset then retrain) override it.
 * </ul>
 *
 * <p>{@link #run} is fixed: prepare, build the phases, run the loop, report.
 */
public abstract class EditingMethod implements UnlearningMethod {

    /** For subclasses. */
    protected EditingMethod() {}

    /** @return {@link Removal#SUPPRESS} unless overridden */
    @Override
    public Removal removal() {
        return Removal.SUPPRESS;
    }

    /** @return {@link Scope#ALL} unless overridden (the baselines) */
    @Override
    public Scope scope(UnlearningSettings settings) {
        return Scope.ALL;
    }

    /** @return the learning rate when the settings set none */
    public abstract float defaultLearningRate();

    /**
     * @param settings the run's settings
     * @return the forgetting loss (not yet set for the class)
     */
    public abstract ForgettingLoss loss(UnlearningSettings settings);

    /**
     * @return whether the network trains in training mode (BatchNorm statistics update, routing
     *     noise on); false runs it in inference mode with gradients, so that frozen parts stay
     *     bit-identical including their statistics
     */
    public abstract boolean trainingMode();

    /** @return how a step's batch is made */
    public abstract BatchComposer composer();

    /**
     * @param settings the run's settings
     * @return the learning rate that takes effect
     */
    public final float learningRate(UnlearningSettings settings) {
        return settings.learningRate().orElse(defaultLearningRate());
    }

    /**
     * Hook: prepares the working model and the run before the phases are built. Default: nothing.
     *
     * @param context the run
     * @throws IOException if data cannot be read
     */
    public void prepare(UnlearningContext context) throws IOException {}

    /**
     * Hook: what trains. Default: {@link Scope#ALL}, or the head and/or the experts of {@link
     * UnlearningContext#selection()} (and their layers' routers) as the scope says.
     *
     * @param context the run, prepared
     * @return the selection
     * @throws IOException if the working model cannot be made
     */
    public ParameterSelection trainable(UnlearningContext context) throws IOException {
        Scope scope = scope(context.settings());
        EmbeddingClassifier net = context.net();
        String description = "scope " + scope;
        if (scope == Scope.ALL) {
            return ParameterSelection.all(net, description);
        }
        List<Block> parts = new ArrayList<>();
        if (scope.includesHead()) {
            parts.add(net.classifier());
        }
        if (context.selection().isPresent()) {
            Map<String, MoeBlock> layers = MoeBlocks.find(net);
            for (Map.Entry<String, List<Integer>> e : context.selection().get().experts().entrySet()) {
                MoeBlock layer = layers.get(e.getKey());
                for (int expert : e.getValue()) {
                    parts.add(layer.expert(expert));
                }
                if (scope.includesRouter() && !e.getValue().isEmpty()) {
                    parts.add(layer.router());
                }
            }
        }
        return ParameterSelection.of(net, description, parts);
    }

    /**
     * Hook: the loss of the default phase.
     *
     * @param context the run
     * @return the method's forgetting loss for the class, plus the settings' router anchor
     */
    public UnlearningLoss objective(UnlearningContext context) {
        UnlearningSettings s = context.settings();
        return UnlearningLoss.of(loss(s).forClass(context.forgetClass())).withRouterAnchor(s.routerAnchor());
    }

    /**
     * Hook: the steps of the default phase. Default: {@code epochs} passes over the forget images
     * in steps of {@code batchSize} forget images, mixed by the {@link #composer()} with {@code
     * retainRatio} retain images per forget image.
     *
     * @param context the run, prepared
     * @return the plan
     */
    public BatchPlan plan(UnlearningContext context) {
        UnlearningSettings s = context.settings();
        return BatchPlan.overForgetImages(
                context.forgetIndices(), context.retainSampler(), s.epochs(), s.batchSize(), s.retainRatio(), composer());
    }

    /**
     * Hook: the phases. Default: one phase of the {@link #plan}, training {@link #trainable} with
     * {@link #objective} and Adam at {@link #learningRate}, in the {@link #trainingMode()}.
     *
     * @param context the run, prepared
     * @return the phases, in order
     * @throws IOException if the working model cannot be made
     */
    public List<Phase> phases(UnlearningContext context) throws IOException {
        UnlearningSettings s = context.settings();
        UnlearningLoss objective = objective(context);
        return List.of(
                Phase.builder()
                        .optName(s.method().name())
                        .setTrainable(trainable(context))
                        .setLoss(objective, objective.needsTeacher())
                        .setLearningRate(learningRate(s))
                        .optTrainingMode(trainingMode())
                        .setPlan(plan(context))
                        .build());
    }

    /** Adds {@code scope}, {@code loss} and {@code learningRate}. */
    @Override
    public void describe(UnlearningSettings settings, JsonObject out) {
        out.addProperty("scope", scope(settings).name());
        out.addProperty("loss", loss(settings).describe());
        out.addProperty("learningRate", learningRate(settings));
    }

    /**
     * Prepares, builds the phases and runs them on the working model.
     *
     * @param context the run
     * @return the working model and what was done
     * @throws IOException if data cannot be read
     */
    @Override
    public final UnlearningOutcome run(UnlearningContext context) throws IOException {
        Preconditions.checkState(
                context.retainIndices().length > 0 || !composer().usesRetain(),
                "the training data has no retain image (every class is forgotten)");
        Model working = context.workingModel();
        prepare(context);
        List<Phase> phases = phases(context);
        boolean teacher = phases.stream().anyMatch(Phase::needsTeacher);
        ForgettingLoop.Result result =
                ForgettingLoop.builder(working, context.data())
                        .optTeacher(teacher ? context.teacher() : null)
                        .optListeners(context.settings().listeners())
                        .optProgress(line -> context.report("%s", line))
                        .build()
                        .run(phases, context.random());
        String summary =
                String.format(
                        Locale.ROOT,
                        "forgot class %d (%s) with %s",
                        context.forgetClass(),
                        context.forgetClassName(),
                        context.settings().method());
        return UnlearningOutcome.builder(working, summary, scope(context.settings()))
                .optSelection(context.selection().orElse(null))
                .optTraining(result)
                .build();
    }
}
