package dev.lethe.unlearn;

import dev.lethe.unlearn.method.ExactDeletion;
import dev.lethe.unlearn.method.ExpertTargeted;
import dev.lethe.unlearn.method.FineTune;
import dev.lethe.unlearn.method.GradientAscent;
import dev.lethe.unlearn.method.RandomLabels;
import dev.lethe.unlearn.method.ResetRetrain;
import dev.lethe.unlearn.method.Retrain;
import dev.lethe.unlearn.method.SalUn;
import dev.lethe.unlearn.method.Scrub;
import dev.lethe.unlearn.method.TrunkEdit;
import dev.lethe.unlearn.method.UnlearningMethod;

/**
 * The unlearning methods, by name: ours and the standard baselines, all behind the same API and
 * metrics. Each constant names one strategy class in {@code dev.lethe.unlearn.method}, which holds
 * everything about the method (what it trains, its loss, defaults, budget and batches); adding a
 * method is adding such a class and one constant here. Why an enum selects them: see {@link
 * UnlearningMethod}. Each result says which kind of removal its method did ({@link Removal}).
 */
public enum Method {
    /**
     * Ours: profile the class's routing, select its experts, retrain only them (within the {@link
     * Scope}) with a forgetting loss: the fast "suppress" option ({@link Removal#SUPPRESS}; the
     * class comes back after a few fine-tuning steps, docs/RESULTS.md). See {@link ExpertTargeted}.
     */
    EXPERT_TARGETED(new ExpertTargeted()),
    /**
     * The oracle: the same architecture trained from scratch on the retain set only, with the
     * recipe the model was trained with. See {@link Retrain}.
     */
    RETRAIN(new Retrain()),
    /**
     * Fine-tune every parameter on retain images only, {@code epochs} passes over the retain set
     * (Warnecke et al.; Jia et al. 2023 "FT"). See {@link FineTune}.
     */
    FINE_TUNE(new FineTune()),
    /**
     * Gradient ascent on the forget images, stopped image by image at chance (Thudi et al. 2022;
     * "GA"). See {@link GradientAscent}.
     */
    GRADIENT_ASCENT(new GradientAscent()),
    /** Train forget images towards random other labels, with retain images ("RL"). */
    RANDOM_LABELS(new RandomLabels()),
    /**
     * Exact deletion for a model trained by {@code ExactTraining}: reset the class's experts and
     * retrain the routers and head without it, so that the model is bit for bit one trained without
     * the class; refuses, naming the tensors, where the provenance ledger does not allow it. See
     * {@link ExactDeletion}.
     */
    EXACT(new ExactDeletion()),
    /**
     * SalUn (Fan et al., ICLR 2024): random labels trained on the most salient half of the weights
     * only. See {@link SalUn}.
     */
    SALUN(new SalUn()),
    /**
     * SCRUB (Kurmanji et al., NeurIPS 2023): the original model as teacher, alternating steps away
     * from it on forget images and toward it on retain images. See {@link Scrub}.
     */
    SCRUB(new Scrub()),
    /**
     * Re-initialise the class's experts and its head row, re-estimate their BatchNorm statistics,
     * retrain them on retain images with distillation (EU-k at the experts; {@link Removal#ERASE}).
     * The default. See {@link ResetRetrain}.
     */
    RESET_RETRAIN(new ResetRetrain()),
    /**
     * Train every parameter so that the forget images' features collapse onto the retained
     * classes' (and, optionally, the weights move away from the original), with distillation on
     * retain images ({@link Removal#ERASE}). See {@link TrunkEdit}.
     */
    TRUNK_EDIT(new TrunkEdit());

    private final UnlearningMethod strategy;

    Method(UnlearningMethod strategy) {
        this.strategy = strategy;
    }

    /** @return the method's implementation */
    public UnlearningMethod strategy() {
        return strategy;
    }
}
