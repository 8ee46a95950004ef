package dev.lethe.examples.cli;

import static com.google.common.base.Preconditions.checkNotNull;

import ai.djl.Model;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Unlearner;
import dev.lethe.unlearn.UnlearningResult;
import dev.lethe.eval.UnlearningEvaluation;
import dev.lethe.eval.UnlearningEvaluator;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Optional;

/**
 * One measured forgetting run, as {@code lethe forget} and {@code lethe demo} do it, through the
 * library's evaluator: evaluate the model, unlearn, evaluate the new model (with the forgotten
 * class's routing shift from the original), and evaluate a Retrain reference when there is one.
 */
public final class ForgetRun {

    private ForgetRun() {}

    /**
     * Runs and measures one forgetting request. Every method, the Retrain oracle included, works on
     * the un-augmented training split ({@link CifarSplits#labeledTrain()}): a recipe augments itself.
     *
     * @param original the trained model (not modified)
     * @param splits its data
     * @param forgetClass the class to forget
     * @param unlearner the configured request (method, scope, epochs, learning rate, seed); {@code
     *     from} and {@code using} are applied here
     * @param seed the request's seed, for the report
     * @param retainSample RA on a sample of this many retain images ({@link UnlearningEvaluator#ALL}
     *     for all)
     * @param miaTrainPerSide the MIA's SVM sample per side ({@link UnlearningEvaluator#ALL} for the
     *     protocol's |test|)
     * @param retrain a model retrained without the class, or null
     * @param log receives progress lines
     * @return the report; {@code report.result().model()} is the new model, which the caller saves
     *     and closes. When the class was already forgotten, the result's status says so, its model
     *     (a copy the library made) is closed here, and nothing was measured after (before = after).
     * @throws IOException if data cannot be read
     */
    public static ForgetReport run(
            TrainedModel original,
            CifarSplits splits,
            int forgetClass,
            Unlearner unlearner,
            long seed,
            int retainSample,
            int miaTrainPerSide,
            TrainedModel retrain,
            PrintStream log)
            throws IOException {
        checkNotNull(original, "original must not be null");
        checkNotNull(unlearner, "unlearner must not be null");
        UnlearningEvaluator evaluator = splits.evaluator(retainSample, miaTrainPerSide);
        String className = splits.classNames().get(forgetClass);

        log.printf(Locale.ROOT, "evaluating the original model for class %d (%s)...%n", forgetClass, className);
        UnlearningEvaluation before = evaluator.evaluate(original.model(), forgetClass);
        log.printf(Locale.ROOT, "  done in %.1f s%n", before.seconds());

        log.printf(Locale.ROOT, "forgetting class %d (%s)...%n", forgetClass, className);
        UnlearningResult result =
                unlearner.from(original.model()).using(splits.labeledTrain()).optProgress(s -> log.println("  " + s))
                        .retrain();
        ForgetReport.Builder report = ForgetReport.builder()
                .setData(splits.datasetName(), splits.classNames())
                .setResult(result, seed)
                .optEvaluationSample(retainSample, miaTrainPerSide);
        if (result.status() != UnlearningResult.Status.DONE) {
            result.model().close(); // the library's copy of the original: nothing was changed, nothing is saved
            return report.setEvaluations(before, before).addNote(result.message()).build();
        }
        Model forgotten = result.model();
        try {
            log.println("evaluating the new model...");
            UnlearningEvaluation after = evaluator.evaluate(forgotten, forgetClass, original.model());
            log.printf(Locale.ROOT, "  done in %.1f s%n", after.seconds());
            report.setEvaluations(before, after);
            if (retrain != null) {
                log.println("evaluating the Retrain reference...");
                UnlearningEvaluation r = evaluator.evaluate(retrain.model(), forgetClass);
                report.optRetrain(r, retrainSeconds(retrain),
                        retrain.directory().map(Object::toString).orElse(null));
            }
        } catch (IOException | RuntimeException e) {
            forgotten.close();
            throw e;
        }
        if (retainSample != UnlearningEvaluator.ALL || miaTrainPerSide != UnlearningEvaluator.ALL) {
            report.addNote(String.format(Locale.ROOT,
                    "Sampled evaluation for speed: RA on %s retain images, the MIA's SVM trained on %s members"
                            + " + %s non-members (the full protocol uses all of D_r and |test| per side).",
                    retainSample == UnlearningEvaluator.ALL ? "all" : String.valueOf(retainSample),
                    miaTrainPerSide == UnlearningEvaluator.ALL ? "all" : String.valueOf(miaTrainPerSide),
                    miaTrainPerSide == UnlearningEvaluator.ALL ? "all" : String.valueOf(miaTrainPerSide)));
        }
        if (splits.limit() > 0) {
            report.addNote("Only the first " + splits.limit() + " training images were used: a quick run,"
                    + " not the protocol.");
        }
        result.selection().filter(s -> !s.isClassSpecific())
                .ifPresent(s -> report.addNote(notClassSpecific(s.meanCollateral(), original.recipe())));
        return report.build();
    }

    /**
     * What a selection that is not class-specific means for this model, from the recipe it records:
     * a plain model can be retrained with class-aware routing; a model trained with it already
     * needs more than that.
     *
     * @param meanCollateral the selection's mean collateral, 0–1
     * @param recipe the model's recipe, if it records one
     * @return one paragraph
     */
    static String notClassSpecific(double meanCollateral, Optional<TrainingRecipe> recipe) {
        String fact = String.format(Locale.ROOT,
                "Not class-specific: the selected experts also carry %.0f%% of the other classes' gate mass, so"
                        + " routing does not follow this class and retraining them edits the shared trunk.",
                100 * meanCollateral);
        if (recipe.isEmpty()) {
            return fact + " The model records no training recipe; class-aware routing"
                    + " (TrainingRecipe.forgetReady(), `lethe train --recipe forget-ready`) makes routing follow the"
                    + " classes.";
        }
        TrainingRecipe r = recipe.get();
        if (r.mutualInformation() > 0) {
            return fact + String.format(Locale.ROOT,
                    " The model was trained with class-aware routing (%s recipe, mutual-information weight %s,"
                            + " %d epochs), and routing still does not carry the class: a longer training or a larger"
                            + " mutual-information weight may; the evaluation after forgetting says how much was"
                            + " removed all the same.",
                    r.name(), r.mutualInformation(), r.epochs());
        }
        return fact + " The model was trained with the plain recipe; training it with class-aware routing"
                + " (TrainingRecipe.forgetReady(), `lethe train --recipe forget-ready`) makes routing follow the"
                + " classes.";
    }

    /**
     * The Retrain reference's cost: the unlearning time recorded by {@code lethe forget --method
     * retrain}, else the recorded training time.
     *
     * @param retrain the reference model
     * @return seconds, NaN if unknown
     */
    static double retrainSeconds(TrainedModel retrain) {
        boolean byForget = retrain.metadata(SavedModels.METHOD).map(m -> m.equals(Method.RETRAIN.name())).orElse(false);
        String v = byForget
                ? retrain.metadata(SavedModels.UNLEARN_SECONDS).orElse(null)
                : retrain.metadata(SavedModels.TRAIN_SECONDS).orElse(null);
        try {
            return v == null ? Double.NaN : Double.parseDouble(v);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }
}
