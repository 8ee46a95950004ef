package dev.lethe.unlearn.method;

import ai.djl.Model;
import ai.djl.nn.Parameter;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import dev.lethe.moe.model.EmbeddingClassifier;
import dev.lethe.unlearn.Models;
import dev.lethe.unlearn.UnlearningSettings;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.profile.ExpertSelection;
import dev.lethe.unlearn.profile.RetainSampler;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * One unlearning run as a method sees it: the request (settings, class, data, forget and retain
 * sets), the caller's model, the working model the method edits, the run's random generator, and
 * what the method has found so far (the expert selection, the retain sampler). Built by {@link
 * dev.lethe.unlearn.Unlearner} for each run and closed after it; not shared between threads.
 *
 * <p>Ownership: {@link #original()} is the caller's model; a method must not change it. {@link
 * #workingModel()} is made on first use: a copy of the original ({@link Models#copy}), or, with
 * {@code inPlace}, the original itself after a copy of it has been taken to restore it from if the
 * run fails ({@link #rollback()}). {@link #teacher()} holds the original's values for losses that
 * read them (the original itself, or that copy).
 */
public final class UnlearningContext implements AutoCloseable {

    private final UnlearningSettings settings;
    private final Model original;
    private final LabeledData data;
    private final int forgetClass;
    private final List<Integer> forgottenClasses;
    private final int[] forgetIndices;
    private final int[] retainIndices;
    private final SplittableRandom random;
    private Model working;
    private Model snapshot;
    private Map<Parameter, Boolean> trainableBefore;
    private ExpertSelection selection;
    private RetainSampler retainSampler;

    private UnlearningContext(
            UnlearningSettings settings, Model original, LabeledData data, int forgetClass, List<Integer> forgottenBefore) {
        this.settings = settings;
        this.original = original;
        this.data = data;
        this.forgetClass = forgetClass;
        List<Integer> all = new ArrayList<>(forgottenBefore);
        all.add(forgetClass);
        this.forgottenClasses = ImmutableList.copyOf(all);
        this.forgetIndices = data.indicesOf(forgetClass);
        this.retainIndices = data.indicesExcept(new HashSet<>(all));
        this.random = new SplittableRandom(settings.seed());
        this.retainSampler = RetainSampler.uniform(retainIndices);
    }

    /**
     * @param settings the run's settings
     * @param original the caller's model
     * @param data the training data
     * @param forgetClass the class to forget
     * @param forgottenBefore classes the model had already forgotten (excluded from the retain set)
     * @return the context; close it after the run
     */
    public static UnlearningContext of(
            UnlearningSettings settings, Model original, LabeledData data, int forgetClass, List<Integer> forgottenBefore) {
        Preconditions.checkNotNull(settings, "settings must not be null");
        Preconditions.checkNotNull(original, "original must not be null");
        Preconditions.checkNotNull(data, "data must not be null");
        Preconditions.checkElementIndex(forgetClass, data.numClasses(), "forgetClass");
        return new UnlearningContext(settings, original, data, forgetClass, forgottenBefore);
    }

    /** @return the settings */
    public UnlearningSettings settings() {
        return settings;
    }

    /** @return the caller's model (never to be changed by a method) */
    public Model original() {
        return original;
    }

    /** @return the training data */
    public LabeledData data() {
        return data;
    }

    /** @return the class to forget */
    public int forgetClass() {
        return forgetClass;
    }

    /** @return its name */
    public String forgetClassName() {
        return data.classNames().get(forgetClass);
    }

    /** @return every class the model will have forgotten after this run, this one last */
    public List<Integer> forgottenClasses() {
        return forgottenClasses;
    }

    /** @return the items of the forget set (a copy), ascending */
    public int[] forgetIndices() {
        return forgetIndices.clone();
    }

    /** @return the items of the retain set (a copy), ascending: no item of a forgotten class */
    public int[] retainIndices() {
        return retainIndices.clone();
    }

    /** @return the run's random generator, seeded with the settings' seed: draw from it in a fixed order */
    public SplittableRandom random() {
        return random;
    }

    /** @return the factory of the model's architecture, or null (MoeResNet) */
    public Supplier<ai.djl.nn.Block> modelFactory() {
        return settings.modelFactory().orElse(null);
    }

    /**
     * @return the model the method edits (made on first call, see the class description)
     * @throws IOException if the model cannot be copied
     */
    public Model workingModel() throws IOException {
        if (working == null) {
            if (settings.inPlace()) {
                trainableBefore = Models.trainableFlags(original);
                snapshot = Models.copy(original, modelFactory());
                working = original;
            } else {
                working = Models.copy(original, modelFactory());
            }
        }
        return working;
    }

    /**
     * @return the working model's block
     * @throws IOException if the model cannot be copied
     */
    public EmbeddingClassifier net() throws IOException {
        return (EmbeddingClassifier) workingModel().getBlock();
    }

    /**
     * @return a model with the original's values, for losses that read them (distillation, router
     *     anchor): the original itself, or the copy taken before editing in place
     * @throws IOException if the model cannot be copied
     */
    public Model teacher() throws IOException {
        if (!settings.inPlace()) {
            return original;
        }
        workingModel();
        return snapshot;
    }

    /**
     * @return a model with the original's values as they were before the run, without making
     *     anything: the copy taken before editing in place, if one was taken, else the original
     *     (unchanged, since nothing edited it)
     */
    public Model originalValues() {
        return snapshot != null ? snapshot : original;
    }

    /** @return the experts selected for the class, if the method selected some */
    public Optional<ExpertSelection> selection() {
        return Optional.ofNullable(selection);
    }

    /**
     * Records the experts the method selected (reported in the result).
     *
     * @param selection the selection
     */
    public void select(ExpertSelection selection) {
        this.selection = Preconditions.checkNotNull(selection, "selection must not be null");
    }

    /** @return how retain images are drawn; default uniform over the retain set */
    public RetainSampler retainSampler() {
        return retainSampler;
    }

    /**
     * @param sampler how retain images are to be drawn
     */
    public void useRetainSampler(RetainSampler sampler) {
        this.retainSampler = Preconditions.checkNotNull(sampler, "sampler must not be null");
    }

    /**
     * Sends a progress line to the settings' progress receiver, if any.
     *
     * @param format a {@link String#format} pattern (root locale)
     * @param args its arguments
     */
    public void report(String format, Object... args) {
        settings.progress().ifPresent(p -> p.accept(String.format(Locale.ROOT, format, args)));
    }

    /**
     * Undoes the run after a failure: puts the original back as it was (in place: its parameters'
     * values, expert masks, properties and which parameters are frozen, {@link Models#restore}) or
     * closes the working copy. Called by the unlearner.
     */
    public void rollback() {
        if (working == null) {
            return;
        }
        if (working == original) {
            Models.restore(snapshot, original, trainableBefore);
        } else {
            working.close();
        }
        working = null;
    }

    /** Closes what the run made and does not return (the copy taken before editing in place). */
    @Override
    public void close() {
        if (snapshot != null) {
            snapshot.close();
            snapshot = null;
        }
    }
}
