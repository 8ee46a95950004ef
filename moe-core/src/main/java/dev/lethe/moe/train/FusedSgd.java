package dev.lethe.moe.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.ParameterTracker;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableSet;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Stochastic gradient descent with momentum (heavy ball or Nesterov), decoupled or coupled weight
 * decay, element-wise gradient clipping, and per-group learning-rate multipliers, weight decays
 * and clips, in few native operations per parameter.
 *
 * <p>For a parameter {@code w} with gradient {@code g} in a group with learning-rate multiplier
 * {@code m}, weight decay {@code λ} and clip {@code c}, at the parameter's update count {@code t}:
 *
 * <pre>
 *   η  = m · lr(t)                    lr from the learning-rate tracker
 *   g ← clamp(g, −c, c)               if c &gt; 0 (both signs)
 *   g ← g + λ·w                       coupled decay only (L2 regularisation, as DJL's Sgd)
 *   v ← μ·v + g                       v starts at 0; no dampening
 *   d  = g + μ·v  (Nesterov)  or  v  (heavy ball);  d = g when μ = 0
 *   w ← w − η·λ·w − η·d               decoupled decay: the decay never enters the momentum
 * </pre>
 *
 * <p>With coupled decay this is {@code torch.optim.SGD(lr, momentum=μ, nesterov=…,
 * weight_decay=λ)}; with decoupled decay (the default) the decay is the SGDW of Loshchilov &amp;
 * Hutter ("Decoupled Weight Decay Regularization", ICLR 2019) scaled by the current rate, as in
 * {@code torch.optim.AdamW}: {@code w ← (1 − η·λ)·w − η·d}. Nesterov momentum is Sutskever et
 * al.'s formulation (ICML 2013) as PyTorch writes it.
 *
 * <p>Cost, counted with libtorch's profiler: DJL's {@code Sgd} runs 7 libtorch operations per
 * parameter and step in its native update (a copy of the gradient, decay, rate, momentum, update,
 * zeroing the gradient), whatever the settings. This class works in place on the weight, the
 * momentum and the gradient with 0-dimensional scalars cached per group and device: 5 operations
 * per parameter for heavy ball (momentum 2, update 2, zeroing the gradient 1), +2 for Nesterov,
 * +1 for decoupled decay, +2 for coupled decay, +2 for clipping. DJL's trainer adds one copy of
 * each gradient before any optimizer sees it (so 6 against 8 per parameter for the same
 * heavy-ball update; PyTorch's SGD runs 3). It reads the gradient it is given and never writes it.
 *
 * <p>Groups: parameters listed in a {@link Group} use its multiplier, decay and clip; every other
 * parameter uses multiplier 1 and the builder's decay and clip. Typical use:
 *
 * <pre>{@code
 * Optimizer sgd = FusedSgd.builder()
 *         .setLearningRateTracker(schedule)
 *         .optMomentum(0.9f).optNesterov(true)
 *         .optWeightDecays(5e-4f)                        // decoupled, every parameter...
 *         .optGroup(FusedSgd.group("routers", routerParameters).withWeightDecay(0f))   // ...but these
 *         .optGroup(FusedSgd.group("bn-biases", biases).withLearningRateMultiplier(64f))
 *         .build();
 * }</pre>
 *
 * <p>Not thread-safe for the same parameter; the trainer updates parameters one at a time.
 *
 * <p>Its state (a momentum buffer the size of each parameter and a few scalar constants) lives in
 * the parameters' manager, as DJL's optimizers' does: {@link #close()} it when training ends, or it
 * stays until the model is closed ({@link MoeTraining} closes the optimizers it makes).
 */
public final class FusedSgd extends Optimizer implements AutoCloseable {

    private final ParameterTracker learningRateTracker;
    private final float momentum;
    private final boolean nesterov;
    private final boolean decoupled;
    private final List<Group> groups;
    private final Map<String, Integer> groupOfParameter;
    private final Settings[] settings;
    private final Map<String, Map<Device, NDArray>> momentumStates = new ConcurrentHashMap<>();
    private final Map<Device, Scalars[]> scalars = new ConcurrentHashMap<>();

    private FusedSgd(Builder builder) {
        super(builder);
        learningRateTracker = builder.learningRateTracker;
        momentum = builder.momentum;
        nesterov = builder.nesterov;
        decoupled = builder.decoupled;
        groups = ImmutableList.copyOf(builder.groups);
        Map<String, Integer> index = new HashMap<>();
        settings = new Settings[groups.size() + 1];
        float clip = builder.clipGradValue();
        settings[0] = new Settings("default", 1f, getWeightDecay(), clip);
        for (int i = 0; i < groups.size(); i++) {
            Group g = groups.get(i);
            settings[i + 1] =
                    new Settings(
                            g.name,
                            g.learningRateMultiplier,
                            g.weightDecay != null ? g.weightDecay : getWeightDecay(),
                            g.clipGrad != null ? g.clipGrad : clip);
            for (String id : g.parameterIds) {
                Integer previous = index.put(id, i + 1);
                Preconditions.checkArgument(
                        previous == null,
                        "parameter %s is in two groups: %s and %s",
                        id,
                        previous == null ? "" : settings[previous].name,
                        g.name);
            }
        }
        groupOfParameter = Map.copyOf(index);
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts a parameter group: a set of parameters with their own learning-rate multiplier,
     * weight decay or clip (by default those of the optimizer: multiplier 1).
     *
     * @param name a name for messages, e.g. "routers"
     * @param parameters the parameters of the group
     * @return the group
     */
    public static Group group(String name, Iterable<Parameter> parameters) {
        Preconditions.checkNotNull(name, "name must not be null");
        Preconditions.checkNotNull(parameters, "parameters must not be null");
        ImmutableSet.Builder<String> ids = ImmutableSet.builder();
        for (Parameter p : parameters) {
            ids.add(Preconditions.checkNotNull(p, "group %s has a null parameter", name).getId());
        }
        return new Group(name, ids.build(), 1f, null, null);
    }

    /** @return the momentum μ */
    public float getMomentum() {
        return momentum;
    }

    /** @return whether the momentum is Nesterov's */
    public boolean isNesterov() {
        return nesterov;
    }

    /** @return whether weight decay is decoupled from the gradient (default) or added to it */
    public boolean isDecoupled() {
        return decoupled;
    }

    /** @return the parameter groups, in the order they were added */
    public List<Group> getGroups() {
        return groups;
    }

    /** {@inheritDoc} */
    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        Settings s = settings[groupOfParameter.getOrDefault(parameterId, 0)];
        float lr = learningRateTracker.getNewValue(parameterId, updateCount(parameterId));
        float eta = lr * s.learningRateMultiplier;
        Scalars k = scalars(weight, groupOfParameter.getOrDefault(parameterId, 0), s, eta);
        List<NDArray> temporaries = new ArrayList<>(4);
        try {
            NDArray d = grad;
            if (rescaleGrad != 1f) {
                d = keep(temporaries, d.mul(rescaleGrad));
            }
            if (s.clip > 0f) {
                d = keep(temporaries, keep(temporaries, d.maximum(k.minusClip)).minimum(k.clip));
            }
            if (!decoupled && s.weightDecay > 0f) {
                NDArray decay = keep(temporaries, weight.mul(k.weightDecay));
                d = d == grad ? keep(temporaries, d.add(decay)) : d.addi(decay);
            }
            if (momentum > 0f) {
                NDArray v =
                        withDefaultState(
                                momentumStates, parameterId, weight.getDevice(),
                                id -> weight.zerosLike());
                v.muli(k.momentum).addi(d);
                if (nesterov) {
                    // d + μ·v, in a temporary so that the gradient we were given stays intact
                    d = keep(temporaries, v.mul(k.momentum)).addi(d);
                } else {
                    d = v;
                }
            }
            if (decoupled && s.weightDecay > 0f) {
                weight.muli(k.decayFactor);
            }
            weight.subi(keep(temporaries, d.mul(k.eta)));
        } finally {
            for (NDArray t : temporaries) {
                t.close();
            }
        }
        zeroGradient(weight);
    }

    private static NDArray keep(List<NDArray> temporaries, NDArray array) {
        temporaries.add(array);
        return array;
    }

    /**
     * Zeroes the gradient the next backward pass accumulates into, as DJL's Sgd does: {@code g -
     * g}, one in-place op (+0 for every finite value; a NaN stays NaN, as the weight it reached).
     */
    private static void zeroGradient(NDArray weight) {
        if (!weight.hasGradient()) {
            return;
        }
        try (NDArray g = weight.getGradient()) {
            g.subi(g);
        }
    }

    /**
     * Frees the momentum buffers and constants, which live in the parameters' manager. A later
     * update starts again from zero momentum.
     */
    @Override
    public void close() {
        momentumStates.values().forEach(perDevice -> perDevice.values().forEach(NDArray::close));
        momentumStates.clear();
        for (Scalars[] perGroup : scalars.values()) {
            for (Scalars k : perGroup) {
                if (k != null) {
                    k.close();
                }
            }
        }
        scalars.clear();
    }

    private Scalars scalars(NDArray weight, int group, Settings s, float eta) {
        Scalars[] perGroup =
                scalars.computeIfAbsent(weight.getDevice(), d -> new Scalars[settings.length]);
        Scalars k = perGroup[group];
        if (k == null) {
            k = new Scalars(weight.getManager(), momentum, s);
            perGroup[group] = k;
        }
        k.setEta(eta, s.weightDecay);
        return k;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("FusedSgd(momentum=").append(momentum);
        b.append(", nesterov=").append(nesterov);
        b.append(decoupled ? ", decoupled" : ", coupled").append(" weightDecay=");
        b.append(settings[0].weightDecay).append(", clip=").append(settings[0].clip);
        for (int i = 1; i < settings.length; i++) {
            Settings s = settings[i];
            b.append(", group ").append(s.name).append(" (").append(groups.get(i - 1).size());
            b.append(" parameters: lr×").append(s.learningRateMultiplier);
            b.append(", weightDecay=").append(s.weightDecay).append(", clip=").append(s.clip);
            b.append(')');
        }
        return b.append(')').toString();
    }

    /** The resolved settings of one group (index 0: the parameters of no group). */
    private static final class Settings {
        final String name;
        final float learningRateMultiplier;
        final float weightDecay;
        final float clip;

        Settings(String name, float learningRateMultiplier, float weightDecay, float clip) {
            this.name = name;
            this.learningRateMultiplier = learningRateMultiplier;
            this.weightDecay = weightDecay;
            this.clip = clip;
        }
    }

    /**
     * The 0-dimensional constants of one group on one device, created once in the parameters'
     * manager; the rate-dependent ones are replaced (and the old ones closed) when the rate
     * changes.
     */
    private static final class Scalars {
        final NDManager manager;
        final NDArray momentum;
        final NDArray clip;
        final NDArray minusClip;
        final NDArray weightDecay;
        float currentEta = Float.NaN;
        NDArray eta;
        NDArray decayFactor;

        Scalars(NDManager manager, float momentum, Settings s) {
            this.manager = manager;
            this.momentum = manager.create(momentum);
            this.clip = manager.create(s.clip);
            this.minusClip = manager.create(-s.clip);
            this.weightDecay = manager.create(s.weightDecay);
        }

        void setEta(float value, float decay) {
            if (Float.compare(value, currentEta) == 0) {
                return;
            }
            if (eta != null) {
                eta.close();
                decayFactor.close();
            }
            eta = manager.create(value);
            decayFactor = manager.create(1f - value * decay);
            currentEta = value;
        }

        void close() {
            momentum.close();
            clip.close();
            minusClip.close();
            weightDecay.close();
            if (eta != null) {
                eta.close();
                decayFactor.close();
            }
        }
    }

    /**
     * A set of parameters with their own learning-rate multiplier, weight decay or gradient clip.
     * Immutable; the {@code with…} methods return modified copies. Create with {@link
     * FusedSgd#group(String, Iterable)}.
     */
    public static final class Group {
        private final String name;
        private final Set<String> parameterIds;
        private final float learningRateMultiplier;
        private final Float weightDecay;
        private final Float clipGrad;

        private Group(
                String name,
                Set<String> parameterIds,
                float learningRateMultiplier,
                Float weightDecay,
                Float clipGrad) {
            this.name = name;
            this.parameterIds = parameterIds;
            this.learningRateMultiplier = learningRateMultiplier;
            this.weightDecay = weightDecay;
            this.clipGrad = clipGrad;
        }

        /**
         * @param multiplier the factor on the tracker's learning rate for this group, finite and
         *     &gt;= 0 (default 1)
         * @return a copy with that multiplier
         */
        public Group withLearningRateMultiplier(float multiplier) {
            checkSetting("learning-rate multiplier", multiplier);
            return new Group(name, parameterIds, multiplier, weightDecay, clipGrad);
        }

        /**
         * @param decay the weight decay λ of this group, finite and &gt;= 0 (default: the
         *     optimizer's)
         * @return a copy with that decay
         */
        public Group withWeightDecay(float decay) {
            checkSetting("weight decay", decay);
            return new Group(name, parameterIds, learningRateMultiplier, decay, clipGrad);
        }

        /**
         * @param clip the element-wise gradient clip of this group, &gt;= 0; 0 = none (default: the
         *     optimizer's)
         * @return a copy with that clip
         */
        public Group withClipGrad(float clip) {
            checkSetting("gradient clip", clip);
            return new Group(name, parameterIds, learningRateMultiplier, weightDecay, clip);
        }

        private void checkSetting(String setting, float value) {
            Preconditions.checkArgument(
                    value >= 0f && Float.isFinite(value),
                    "%s of group %s (%s) must be finite and >= 0",
                    setting,
                    name,
                    value);
        }

        /** @return the group's name */
        public String name() {
            return name;
        }

        /** @return how many parameters the group holds */
        public int size() {
            return parameterIds.size();
        }

        /** @return the group's learning-rate multiplier */
        public float learningRateMultiplier() {
            return learningRateMultiplier;
        }

        @Override
        public String toString() {
            return "Group(" + name + ", " + parameterIds.size() + " parameters, lr×"
                    + learningRateMultiplier + ", weightDecay="
                    + (weightDecay == null ? "default" : weightDecay) + ", clip="
                    + (clipGrad == null ? "default" : clipGrad) + ")";
        }
    }

    /**
     * Builds a {@link FusedSgd}. Required: the learning-rate tracker. Inherited from DJL's {@code
     * OptimizerBuilder}: {@code optWeightDecays} (λ of every parameter outside a group, default 0),
     * {@code optClipGrad} (element-wise clip, default none; 0 or less = none), {@code
     * setRescaleGrad} (factor on the gradient, default 1). Everything is validated in {@link
     * #build()}.
     */
    public static final class Builder extends OptimizerBuilder<Builder> {

        private ParameterTracker learningRateTracker;
        private float momentum = 0.9f;
        private boolean nesterov;
        private boolean decoupled = true;
        private final List<Group> groups = new ArrayList<>();
        private float weightDecay;
        private float clipGrad = -1f;
        private float rescale = 1f;

        Builder() {}

        @Override
        protected Builder self() {
            return this;
        }

        /**
         * Sets the learning-rate tracker (required).
         *
         * @param tracker e.g. {@code Tracker.fixed(0.1f)} or a warm-up/cosine tracker
         * @return this builder
         */
        public Builder setLearningRateTracker(ParameterTracker tracker) {
            this.learningRateTracker = tracker;
            return this;
        }

        /**
         * Sets the momentum μ. Default 0.9.
         *
         * @param momentum μ in [0, 1)
         * @return this builder
         */
        public Builder optMomentum(float momentum) {
            this.momentum = momentum;
            return this;
        }

        /**
         * Uses Nesterov momentum instead of heavy ball. Default false. Needs momentum &gt; 0.
         *
         * @param nesterov true for Nesterov
         * @return this builder
         */
        public Builder optNesterov(boolean nesterov) {
            this.nesterov = nesterov;
            return this;
        }

        /**
         * Chooses decoupled weight decay ({@code w ← (1 − η·λ)·w}, outside the momentum; the
         * default) or coupled ({@code g ← g + λ·w}, L2 regularisation through the momentum, as
         * DJL's and PyTorch's SGD).
         *
         * @param decoupled true for decoupled
         * @return this builder
         */
        public Builder optDecoupledWeightDecay(boolean decoupled) {
            this.decoupled = decoupled;
            return this;
        }

        /**
         * Adds a parameter group. A parameter may be in one group only.
         *
         * @param group the group, from {@link FusedSgd#group(String, Iterable)}
         * @return this builder
         */
        public Builder optGroup(Group group) {
            groups.add(Preconditions.checkNotNull(group, "group must not be null"));
            return this;
        }

        /** {@inheritDoc} */
        @Override
        public Builder optWeightDecays(float weightDecays) {
            this.weightDecay = weightDecays;
            return super.optWeightDecays(weightDecays);
        }

        /** {@inheritDoc} */
        @Override
        public Builder optClipGrad(float clipGrad) {
            this.clipGrad = clipGrad;
            return super.optClipGrad(clipGrad);
        }

        /** {@inheritDoc} */
        @Override
        public Builder setRescaleGrad(float rescaleGrad) {
            this.rescale = rescaleGrad;
            return super.setRescaleGrad(rescaleGrad);
        }

        float clipGradValue() {
            return clipGrad > 0f ? clipGrad : 0f;
        }

        /**
         * Builds the optimizer.
         *
         * @return the optimizer
         * @throws IllegalArgumentException if a setting is out of range, the tracker is missing,
         *     Nesterov has no momentum or a parameter is in two groups
         */
        public FusedSgd build() {
            Preconditions.checkArgument(
                    learningRateTracker != null,
                    "learningRateTracker must be set (setLearningRateTracker) before build()");
            Preconditions.checkArgument(
                    momentum >= 0f && momentum < 1f, "momentum (%s) must be in [0, 1)", momentum);
            Preconditions.checkArgument(
                    !nesterov || momentum > 0f,
                    "Nesterov momentum needs momentum > 0, but momentum is %s",
                    momentum);
            Preconditions.checkArgument(
                    weightDecay >= 0f && Float.isFinite(weightDecay),
                    "weightDecays (%s) must be finite and >= 0",
                    weightDecay);
            Preconditions.checkArgument(
                    !Float.isNaN(clipGrad) && clipGrad != Float.POSITIVE_INFINITY,
                    "clipGrad (%s) must be finite (0 or less: no clip)",
                    clipGrad);
            Preconditions.checkArgument(
                    rescale > 0f && Float.isFinite(rescale),
                    "rescaleGrad (%s) must be finite and > 0",
                    rescale);
            return new FusedSgd(this);
        }
    }
}
