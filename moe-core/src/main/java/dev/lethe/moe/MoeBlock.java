package dev.lethe.moe;

import dev.lethe.moe.loss.MoeLosses;

import dev.lethe.moe.routing.ExpertAssignment;
import dev.lethe.moe.routing.Routing;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import ai.djl.util.PairList;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * A Mixture-of-Experts layer for convolutional networks: a router sends each image to its top-k
 * experts, and only those experts compute on it.
 *
 * <p>Input (B, C, H, W); output the experts' output shape, e.g. (B, C', H', W'). For each image b:
 *
 * <pre>
 *   logits_b = router(gap(x_b))                      (E)   see {@link MoeRouter}
 *   p_b      = softmax(logits_b + noise_b)           (E)   noise in training only
 *   (e_b1..e_bk, v_b1..v_bk) = topK(p_b)
 *   g_bs     = v_bs / sum_s v_bs                           gates renormalised over the k
 *   y_b      = sum_s g_bs * expert_{e_bs}(x_b)
 * </pre>
 *
 * <p>This is noisy top-k gating (Shazeer et al., ICLR 2017) with the noise made relative to the
 * spread of the logits: {@code noise ~ N(0, (noiseRatio * std(logits) + noiseFloor)^2)}, drawn from
 * a seeded generator of the block's own, so training routing stays close to inference routing and
 * runs are reproducible. Inference routing is deterministic.
 *
 * <p>Routing is observable without changing the output: {@link #lastRouting()} and {@link
 * #addRoutingListener(Consumer)} expose, for each forward pass, the experts and gates of every
 * image (see {@link Routing}); {@link MoeLosses} turns them into balancing losses.
 *
 * <p>Controls for unlearning: {@link #freezeExpert(int, boolean)}, {@link #freezeRouter(boolean)},
 * {@link #maskExpert(int, boolean)}, {@link #expert(int)}. A frozen expert runs in inference mode,
 * so its BatchNorm running statistics do not move either: it stays bit-identical through training.
 *
 * <p>Class routing ({@link #setClassRouting}): when a training forward pass is given the labels
 * (DJL's {@code Trainer.forward(data, labels)}), images are routed by their class to the experts
 * an {@link ExpertAssignment} gives them, and an expert never receives gradient or statistics from
 * an image of a class it does not own (see {@link #setClassRouting}).
 *
 * <p>Build with {@link #builder()}.
 */
public final class MoeBlock extends AbstractBlock {

    private static final byte VERSION = 1;
    private static final float MASKED_LOGIT = -1e9f;

    private final int numExperts;
    private final int topK;
    private final Dispatch dispatch;
    private final float noiseRatio;
    private final float noiseFloor;
    private final long seed;
    private final MoeRouter router;
    private final List<Block> experts;
    private final boolean[] masked;
    private final AtomicLong noiseStep = new AtomicLong();
    private final Map<Device, Routing> lastRouting = new ConcurrentHashMap<>();
    private final List<Consumer<Routing>> listeners = new CopyOnWriteArrayList<>();
    private volatile ClassRouting classRouting;

    private MoeBlock(Builder builder) {
        super(VERSION);
        numExperts = builder.numExperts;
        topK = builder.topK;
        dispatch = builder.dispatch;
        noiseRatio = builder.noiseRatio;
        noiseFloor = builder.noiseFloor;
        seed = builder.seed;
        masked = new boolean[numExperts];
        router =
                addChildBlock(
                        "router",
                        new MoeRouter(
                                numExperts,
                                builder.routerInitStd,
                                builder.routerScale,
                                builder.cosineRouter,
                                builder.detachRouterInput));
        List<Block> list = new ArrayList<>(numExperts);
        for (int i = 0; i < numExperts; i++) {
            Block expert = builder.expertFactory.create(i);
            Preconditions.checkArgument(
                    expert != null, "expertFactory returned null for expert %s", i);
            for (Block previous : list) {
                Preconditions.checkArgument(
                        previous != expert,
                        "expertFactory returned the same Block instance for expert %s; each expert"
                                + " needs its own block",
                        i);
            }
            list.add(addChildBlock("expert" + i, expert));
        }
        experts = ImmutableList.copyOf(list);
        if (builder.assignment != null) {
            setClassRouting(builder.assignment, builder.teacherForcing);
        }
    }

    /** @return a new builder */
    public static Builder builder() {
        return new Builder();
    }

    /** @return E, the number of experts */
    public int getNumExperts() {
        return numExperts;
    }

    /** @return k, the number of experts each image is routed to */
    public int getTopK() {
        return topK;
    }

    /** @return the dispatch mode */
    public Dispatch getDispatch() {
        return dispatch;
    }

    /** @return the relative noise std used in training (0 = no relative noise) */
    public float getNoiseRatio() {
        return noiseRatio;
    }

    /** @return the absolute noise std floor used in training */
    public float getNoiseFloor() {
        return noiseFloor;
    }

    /** @return the seed of the routing noise */
    public long getSeed() {
        return seed;
    }

    /** @return the router block */
    public MoeRouter router() {
        return router;
    }

    /**
     * @param index the expert index in [0, E)
     * @return the expert block
     */
    public Block expert(int index) {
        checkExpertIndex(index);
        return experts.get(index);
    }

    /** @return the experts, in index order */
    public List<Block> experts() {
        return experts;
    }

    /**
     * Freezes or unfreezes one expert. A frozen expert gets no gradient, is skipped by the
     * optimizer, and runs in inference mode (BatchNorm uses and keeps its running statistics), so
     * it stays bit-identical through any number of training steps. Unfreezing never makes BatchNorm
     * running statistics trainable.
     *
     * @param index the expert index in [0, E)
     * @param frozen true to freeze
     */
    public void freezeExpert(int index, boolean frozen) {
        checkExpertIndex(index);
        setTrainable(experts.get(index), !frozen);
    }

    /**
     * @param index the expert index in [0, E)
     * @return whether the expert is frozen (none of its trainable parameters requires a gradient)
     */
    public boolean isExpertFrozen(int index) {
        checkExpertIndex(index);
        return isFrozen(experts.get(index));
    }

    /**
     * Freezes or unfreezes the router (its weight, bias and logit scale).
     *
     * @param frozen true to freeze
     */
    public void freezeRouter(boolean frozen) {
        setTrainable(router, !frozen);
    }

    /** @return whether the router is frozen */
    public boolean isRouterFrozen() {
        return isFrozen(router);
    }

    /**
     * Masks an expert: its logit is set to -1e9 before the softmax, so it is never selected (and
     * gets probability 0). At least k experts must stay unmasked.
     *
     * @param index the expert index in [0, E)
     * @param mask true to mask, false to unmask
     * @throws IllegalArgumentException if masking would leave fewer than k selectable experts
     */
    public void maskExpert(int index, boolean mask) {
        checkExpertIndex(index);
        if (mask && !masked[index]) {
            int open = 0;
            for (boolean m : masked) {
                open += m ? 0 : 1;
            }
            Preconditions.checkArgument(
                    open - 1 >= topK,
                    "masking expert %s would leave %s selectable experts, fewer than topK (%s)",
                    index,
                    open - 1,
                    topK);
        }
        masked[index] = mask;
    }

    /**
     * @param index the expert index in [0, E)
     * @return whether the expert is masked
     */
    public boolean isExpertMasked(int index) {
        checkExpertIndex(index);
        return masked[index];
    }

    /**
     * Routes training images by their class: an image of class c goes to {@code
     * assignment.expertOf(c)} (teacher forcing) with probability {@code teacherForcing}, otherwise
     * to the router's top-1 choice. Applies only to training forward passes that are given the
     * labels ({@code forward(parameterStore, data, labels, params)}, which DJL's {@code
     * Trainer.forward(data, labels)} calls); without labels, and at inference, the router decides
     * as usual. Needs top-1 routing.
     *
     * <p>Isolation: when the router sends an image to an expert its class does not own, that expert
     * runs <em>detached</em> for the image: its parameters' gradient is stopped and it computes in
     * inference mode (BatchNorm uses and keeps its running statistics). The gradient still flows
     * through it to the layer's input, so the layers around learn to live with the router's
     * mistakes, but an expert's parameters and statistics only ever learn from the classes that
     * own it. Which positions ran detached is in the {@link Routing} ({@link Routing#isDetached}).
     * No routing noise is added, and the choice of forced images is drawn from a generator seeded
     * by the block's seed and the batch's labels alone: the same batch routes the same way, with no
     * state carried from one pass to the next.
     *
     * <p>The router is not trained by this routing (the gate of a top-1 route is 1); train it to
     * predict the assignment with a cross-entropy on its logits ({@code
     * MoeTrainingLoss.Builder#optRouterSupervision}).
     *
     * @param assignment the expert of each class; its E must be this layer's
     * @param teacherForcing the probability, in [0, 1], that a training image is routed by its
     *     class rather than by the router
     * @throws IllegalArgumentException if topK is not 1, E differs, or teacherForcing is outside
     *     [0, 1]
     */
    public void setClassRouting(ExpertAssignment assignment, float teacherForcing) {
        Preconditions.checkNotNull(assignment, "assignment must not be null");
        Preconditions.checkArgument(
                topK == 1, "class routing sends each image to one expert: topK (%s) must be 1", topK);
        Preconditions.checkArgument(
                assignment.numExperts() == numExperts,
                "the assignment is for %s experts but the layer has %s",
                assignment.numExperts(),
                numExperts);
        Preconditions.checkArgument(
                teacherForcing >= 0f && teacherForcing <= 1f,
                "teacherForcing (%s) must be in [0, 1]",
                teacherForcing);
        classRouting = new ClassRouting(assignment, teacherForcing);
    }

    /** Turns class routing off: training routes by the router again. */
    public void clearClassRouting() {
        classRouting = null;
    }

    /** @return the class routing's assignment, if class routing is on */
    public Optional<ExpertAssignment> classRouting() {
        ClassRouting cr = classRouting;
        return cr == null ? Optional.empty() : Optional.of(cr.assignment);
    }

    /** @return the teacher-forcing probability of class routing (0 when it is off) */
    public float getTeacherForcing() {
        ClassRouting cr = classRouting;
        return cr == null ? 0f : cr.teacherForcing;
    }

    /**
     * The routing of the most recent forward pass on any device (the only one on a single device).
     * Its NDArray views are only valid while that batch's manager is open.
     *
     * @return the last routing, empty before the first forward pass
     */
    public Optional<Routing> lastRouting() {
        if (lastRouting.size() == 1) {
            return Optional.of(lastRouting.values().iterator().next());
        }
        return lastRouting.values().stream().findFirst();
    }

    /**
     * @param device the device of the batch
     * @return the routing of the most recent forward pass on that device
     */
    public Optional<Routing> lastRouting(Device device) {
        return Optional.ofNullable(lastRouting.get(device));
    }

    /**
     * Registers a listener called with the {@link Routing} of every forward pass, in the thread
     * that runs it. Close the returned handle to unregister.
     *
     * @param listener the listener
     * @return a handle whose {@code close()} removes the listener
     */
    public AutoCloseable addRoutingListener(Consumer<Routing> listener) {
        Preconditions.checkNotNull(listener, "listener must not be null");
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    @Override
    protected void initializeChildBlocks(
            NDManager manager, DataType dataType, Shape... inputShapes) {
        router.initialize(manager, dataType, inputShapes[0]);
        Shape expected = null;
        for (int i = 0; i < numExperts; i++) {
            Block expert = experts.get(i);
            expert.initialize(manager, dataType, inputShapes[0]);
            Shape out = expert.getOutputShapes(new Shape[] {inputShapes[0]})[0];
            if (expected == null) {
                expected = out;
            } else {
                Preconditions.checkState(
                        expected.equals(out),
                        "expert %s maps %s to %s but expert 0 maps it to %s; all experts must have"
                                + " the same output shape",
                        i,
                        inputShapes[0],
                        out,
                        expected);
            }
        }
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return experts.get(0).getOutputShapes(inputShapes);
    }

    /** A training pass given the labels: class routing when it is on, else the usual routing. */
    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            NDList labels,
            PairList<String, Object> params) {
        ClassRouting cr = classRouting;
        if (cr == null || labels == null || labels.isEmpty()) {
            return forwardInternal(parameterStore, inputs, true, params);
        }
        return forwardByClass(parameterStore, inputs.singletonOrThrow(), labels.head(), cr);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore parameterStore,
            NDList inputs,
            boolean training,
            PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        Preconditions.checkArgument(
                x.getShape().dimension() >= 2,
                "MoeBlock input must be (B, C, ...) but has shape %s",
                x.getShape());
        NDManager manager = x.getManager();
        int batch = Math.toIntExact(x.getShape().get(0));

        NDArray logits = router.forward(parameterStore, new NDList(x), training).singletonOrThrow();
        NDArray selectLogits = logits;
        if (anyMasked()) {
            float[] mask = new float[numExperts];
            for (int e = 0; e < numExperts; e++) {
                mask[e] = masked[e] ? MASKED_LOGIT : 0f;
            }
            selectLogits = selectLogits.add(manager.create(mask));
        }
        if (training && (noiseRatio > 0f || noiseFloor > 0f)) {
            selectLogits = selectLogits.add(noise(manager, logits, batch));
        }
        NDArray probabilities = selectLogits.softmax(1);
        NDList top = probabilities.topK(topK, 1, true, true);
        NDArray values = top.get(0);
        NDArray gates = values.div(values.sum(new int[] {1}, true));
        long[] experts = top.get(1).toLongArray();
        float[] gateValues = gates.toFloatArray();

        NDArray flatGates = gates.reshape(-1);
        NDArray routed =
                dispatch == Dispatch.SPARSE
                        ? sparse(parameterStore, x, experts, training)
                        : dense(parameterStore, x, experts, training);
        Shape rowShape = routed.getShape().slice(1);
        long[] gateShape = new long[rowShape.dimension() + 1];
        Arrays.fill(gateShape, 1L);
        gateShape[0] = -1;
        NDArray weighted = routed.mul(flatGates.reshape(new Shape(gateShape)));
        NDArray out = weighted.reshape(new Shape(batch, topK).addAll(rowShape)).sum(new int[] {1});

        Routing routing =
                new Routing(
                        numExperts,
                        topK,
                        training,
                        experts,
                        gateValues,
                        logits,
                        probabilities,
                        gates);
        lastRouting.put(x.getDevice(), routing);
        for (Consumer<Routing> listener : listeners) {
            listener.accept(routing);
        }
        return new NDList(out);
    }

    /**
     * Runs each expert on its own images only. Returns (B*k, ...) rows in position order.
     */
    private NDArray sparse(
            ParameterStore parameterStore, NDArray x, long[] experts, boolean training) {
        NDManager manager = x.getManager();
        int positions = experts.length;
        int[] counts = new int[numExperts];
        for (long e : experts) {
            counts[(int) e]++;
        }
        int[] start = new int[numExperts];
        for (int e = 1; e < numExperts; e++) {
            start[e] = start[e - 1] + counts[e - 1];
        }
        // order[r] = position at sorted row r; inverse[p] = sorted row of position p (stable sort)
        int[] next = start.clone();
        long[] inverse = new long[positions];
        long[] imageOfRow = new long[positions];
        for (int p = 0; p < positions; p++) {
            int row = next[(int) experts[p]]++;
            inverse[p] = row;
            imageOfRow[row] = p / topK;
        }
        NDList parts = new NDList();
        for (int e = 0; e < numExperts; e++) {
            if (counts[e] == 0) {
                continue;
            }
            long[] images = Arrays.copyOfRange(imageOfRow, start[e], start[e] + counts[e]);
            NDArray rows = x.get(new NDIndex("{}", manager.create(images)));
            parts.add(runExpert(parameterStore, e, rows, training));
        }
        NDArray sorted = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0);
        return sorted.get(new NDIndex("{}", manager.create(inverse)));
    }

    /**
     * Runs every expert on every image, then selects the routed rows. Returns (B*k, ...) rows in
     * position order, computed with the same arithmetic as {@link #sparse}.
     */
    private NDArray dense(
            ParameterStore parameterStore, NDArray x, long[] experts, boolean training) {
        NDManager manager = x.getManager();
        long batch = x.getShape().get(0);
        NDList all = new NDList(numExperts);
        for (int e = 0; e < numExperts; e++) {
            all.add(runExpert(parameterStore, e, x, training));
        }
        // (E*B, ...) with row e*B + b
        NDArray stacked = NDArrays.concat(all, 0);
        long[] rows = new long[experts.length];
        for (int p = 0; p < experts.length; p++) {
            rows[p] = experts[p] * batch + p / topK;
        }
        return stacked.get(new NDIndex("{}", manager.create(rows)));
    }

    /**
     * The class-routed training pass (see {@link #setClassRouting}): top-1, no noise; each expert
     * runs once on the images it owns (training mode unless frozen) and once, detached and in
     * inference mode, on the images the router sent it from other classes.
     */
    private NDList forwardByClass(ParameterStore parameterStore, NDArray x, NDArray labels, ClassRouting cr) {
        NDManager manager = x.getManager();
        int batch = Math.toIntExact(x.getShape().get(0));
        long[] y = labels.toType(DataType.INT64, false).toLongArray();
        Preconditions.checkArgument(
                y.length == batch, "labels has %s elements but the batch has %s images", y.length, batch);
        NDArray logits = router.forward(parameterStore, new NDList(x), true).singletonOrThrow();
        NDArray selectLogits = logits;
        if (anyMasked()) {
            float[] mask = new float[numExperts];
            for (int e = 0; e < numExperts; e++) {
                mask[e] = masked[e] ? MASKED_LOGIT : 0f;
            }
            selectLogits = selectLogits.add(manager.create(mask));
        }
        NDArray probabilities = selectLogits.softmax(1);
        long[] choice = probabilities.argMax(1).toLongArray();
        SplittableRandom random =
                new SplittableRandom(seed * 0x9E3779B97F4A7C15L + Arrays.hashCode(y));
        long[] chosen = new long[batch];
        boolean[] detached = new boolean[batch];
        int[] counts = new int[2 * numExperts];
        for (int b = 0; b < batch; b++) {
            Preconditions.checkArgument(
                    y[b] >= 0 && y[b] < cr.assignment.numClasses(),
                    "label %s of image %s has no expert: the class routing assigns %s classes",
                    y[b],
                    b,
                    cr.assignment.numClasses());
            int own = cr.assignment.expertOf((int) y[b]);
            boolean forced = cr.teacherForcing >= 1f || random.nextDouble() < cr.teacherForcing;
            chosen[b] = forced ? own : choice[b];
            detached[b] = chosen[b] != own;
            counts[2 * (int) chosen[b] + (detached[b] ? 1 : 0)]++;
        }
        // rows grouped by (expert, detached), stable within a group
        int[] start = new int[counts.length];
        for (int g = 1; g < counts.length; g++) {
            start[g] = start[g - 1] + counts[g - 1];
        }
        int[] next = start.clone();
        long[] inverse = new long[batch];
        long[] imageOfRow = new long[batch];
        for (int b = 0; b < batch; b++) {
            int row = next[2 * (int) chosen[b] + (detached[b] ? 1 : 0)]++;
            inverse[b] = row;
            imageOfRow[row] = b;
        }
        ParameterStore detachedStore = new DetachedParameterStore(parameterStore, manager);
        NDList parts = new NDList();
        for (int g = 0; g < counts.length; g++) {
            if (counts[g] == 0) {
                continue;
            }
            int e = g / 2;
            NDArray rows = x.get(new NDIndex("{}", manager.create(Arrays.copyOfRange(imageOfRow, start[g], start[g] + counts[g]))));
            if (g % 2 == 0) {
                parts.add(runExpert(parameterStore, e, rows, true));
            } else {
                parts.add(experts.get(e).forward(detachedStore, new NDList(rows), false).singletonOrThrow());
            }
        }
        NDArray sorted = parts.size() == 1 ? parts.get(0) : NDArrays.concat(parts, 0);
        NDArray out = sorted.get(new NDIndex("{}", manager.create(inverse)));
        float[] gateValues = new float[batch];
        Arrays.fill(gateValues, 1f);
        Routing routing =
                new Routing(
                        numExperts,
                        1,
                        true,
                        chosen,
                        gateValues,
                        logits,
                        probabilities,
                        manager.ones(new Shape(batch, 1)),
                        detached);
        lastRouting.put(x.getDevice(), routing);
        for (Consumer<Routing> listener : listeners) {
            listener.accept(routing);
        }
        return new NDList(out);
    }

    private NDArray runExpert(ParameterStore store, int e, NDArray rows, boolean training) {
        Block expert = experts.get(e);
        boolean expertTraining = training && !isFrozen(expert);
        return expert.forward(store, new NDList(rows), expertTraining).singletonOrThrow();
    }

    private NDArray noise(NDManager manager, NDArray logits, int batch) {
        float[] host = logits.toFloatArray();
        double mean = 0;
        for (float v : host) {
            mean += v;
        }
        mean /= host.length;
        double var = 0;
        for (float v : host) {
            var += (v - mean) * (v - mean);
        }
        double std = Math.sqrt(var / host.length);
        double sigma = noiseRatio * std + noiseFloor;
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + noiseStep.getAndIncrement());
        float[] noise = new float[host.length];
        for (int i = 0; i < noise.length; i++) {
            noise[i] = (float) (random.nextGaussian() * sigma);
        }
        return manager.create(noise, new Shape(batch, numExperts));
    }

    private boolean anyMasked() {
        for (boolean m : masked) {
            if (m) {
                return true;
            }
        }
        return false;
    }

    private void checkExpertIndex(int index) {
        Preconditions.checkElementIndex(index, numExperts, "expert index");
    }

    /**
     * Makes every parameter of a block trainable or not, never touching BatchNorm running
     * statistics (which must not require gradients).
     *
     * @param block the block
     * @param trainable true to train
     */
    static void setTrainable(Block block, boolean trainable) {
        for (Pair<String, Parameter> pair : block.getParameters()) {
            Parameter p = pair.getValue();
            if (isStatistic(p)) {
                continue;
            }
            p.freeze(!trainable);
        }
    }

    static boolean isFrozen(Block block) {
        boolean any = false;
        for (Pair<String, Parameter> pair : block.getParameters()) {
            Parameter p = pair.getValue();
            if (isStatistic(p)) {
                continue;
            }
            any = true;
            if (p.requiresGradient()) {
                return false;
            }
        }
        return any;
    }

    static boolean isStatistic(Parameter p) {
        return p.getType() == Parameter.Type.RUNNING_MEAN
                || p.getType() == Parameter.Type.RUNNING_VAR;
    }

    @Override
    public String toString() {
        return "MoeBlock(experts="
                + numExperts
                + ", topK="
                + topK
                + ", dispatch="
                + dispatch
                + ", noise="
                + noiseRatio
                + "*std+"
                + noiseFloor
                + ")";
    }

    /** The class routing in force: an assignment and a teacher-forcing probability. */
    private static final class ClassRouting {
        final ExpertAssignment assignment;
        final float teacherForcing;

        ClassRouting(ExpertAssignment assignment, float teacherForcing) {
            this.assignment = assignment;
            this.teacherForcing = teacherForcing;
        }
    }

    /** Builds a {@link MoeBlock}. Required: numExperts and an expert factory. */
    public static final class Builder {

        private int numExperts = -1;
        private ExpertFactory expertFactory;
        private int topK = 2;
        private Dispatch dispatch = Dispatch.SPARSE;
        private float noiseRatio = 0.5f;
        private float noiseFloor = 1e-3f;
        private float routerInitStd;
        private float routerScale = 1f;
        private boolean cosineRouter;
        private boolean detachRouterInput = true;
        private long seed;
        private ExpertAssignment assignment;
        private float teacherForcing;

        Builder() {}

        /**
         * Sets the number of experts E (required).
         *
         * @param numExperts E, &gt;= 1
         * @return this builder
         */
        public Builder setNumExperts(int numExperts) {
            Preconditions.checkArgument(
                    numExperts >= 1, "numExperts (%s) must be >= 1", numExperts);
            this.numExperts = numExperts;
            return this;
        }

        /**
         * Sets the factory that builds each expert (required).
         *
         * @param expertFactory the factory, e.g. {@link ConvExperts#residual(int)}
         * @return this builder
         */
        public Builder setExpertFactory(ExpertFactory expertFactory) {
            this.expertFactory =
                    Preconditions.checkNotNull(expertFactory, "expertFactory must not be null");
            return this;
        }

        /**
         * Sets k, the number of experts each image goes to. Default 2.
         *
         * @param topK k, 1 &lt;= k &lt;= numExperts
         * @return this builder
         */
        public Builder optTopK(int topK) {
            Preconditions.checkArgument(topK >= 1, "topK (%s) must be >= 1", topK);
            this.topK = topK;
            return this;
        }

        /**
         * Sets the dispatch mode. Default {@link Dispatch#SPARSE}.
         *
         * @param dispatch the mode
         * @return this builder
         */
        public Builder optDispatch(Dispatch dispatch) {
            this.dispatch = Preconditions.checkNotNull(dispatch, "dispatch must not be null");
            return this;
        }

        /**
         * Sets the training noise on the router logits: std = {@code ratio * std(logits) + floor},
         * where std(logits) is taken over the whole (B, E) logit matrix of the batch. Defaults 0.5
         * and 1e-3; (0, 0) turns noise off. The floor breaks the ties of a zero-initialised router.
         *
         * @param ratio relative std, &gt;= 0
         * @param floor absolute std floor, &gt;= 0
         * @return this builder
         */
        public Builder optNoise(float ratio, float floor) {
            Preconditions.checkArgument(
                    ratio >= 0f && Float.isFinite(ratio),
                    "noise ratio (%s) must be finite and >= 0",
                    ratio);
            Preconditions.checkArgument(
                    floor >= 0f && Float.isFinite(floor),
                    "noise floor (%s) must be finite and >= 0",
                    floor);
            this.noiseRatio = ratio;
            this.noiseFloor = floor;
            return this;
        }

        /**
         * Sets the std of the router weight initialisation. Default 0 (all experts tied at step
         * 0; a Xavier-initialised router collapses onto the same experts, see docs/moe.md).
         *
         * @param std the std, &gt;= 0
         * @return this builder
         */
        public Builder optRouterInitStd(float std) {
            Preconditions.checkArgument(
                    std >= 0f && Float.isFinite(std),
                    "routerInitStd (%s) must be finite and >= 0",
                    std);
            this.routerInitStd = std;
            return this;
        }

        /**
         * Sets the initial value of the learnable logit scale. Default 1.
         *
         * @param scale the initial scale, &gt; 0
         * @return this builder
         */
        public Builder optRouterScale(float scale) {
            Preconditions.checkArgument(
                    scale > 0f && Float.isFinite(scale),
                    "routerScale (%s) must be finite and > 0",
                    scale);
            this.routerScale = scale;
            return this;
        }

        /**
         * Chooses the router form: plain linear (default) or cosine (bounded logits, see {@link
         * MoeRouter}; it separates classes whose pooled features point in nearly the same
         * direction only once its scale has grown large, so it is slower to carry the class).
         *
         * @param cosine true for {@code s * cos(gap(x), w_e) + b_e}, false for {@code s * (W gap(x)
         *     + b)}
         * @return this builder
         */
        public Builder optCosineRouter(boolean cosine) {
            this.cosineRouter = cosine;
            return this;
        }

        /**
         * Whether the router reads its input with the gradient stopped (default true), so that
         * routing losses and gates train the router, not the backbone below it (see {@link
         * MoeRouter}).
         *
         * @param detach true to stop routing gradients at the router input
         * @return this builder
         */
        public Builder optDetachRouterInput(boolean detach) {
            this.detachRouterInput = detach;
            return this;
        }

        /**
         * Sets the seed of the routing noise. Default 0.
         *
         * @param seed the seed
         * @return this builder
         */
        public Builder optSeed(long seed) {
            this.seed = seed;
            return this;
        }

        /**
         * Turns on class routing from the start (see {@link MoeBlock#setClassRouting}). Default
         * off.
         *
         * @param assignment the expert of each class
         * @param teacherForcing the probability that a training image is routed by its class, in
         *     [0, 1]
         * @return this builder
         */
        public Builder optClassRouting(ExpertAssignment assignment, float teacherForcing) {
            this.assignment = Preconditions.checkNotNull(assignment, "assignment must not be null");
            this.teacherForcing = teacherForcing;
            return this;
        }

        /**
         * Builds the block.
         *
         * @return a new, uninitialised block
         * @throws IllegalArgumentException if a required setting is missing or topK &gt;
         *     numExperts
         */
        public MoeBlock build() {
            Preconditions.checkArgument(
                    numExperts >= 1, "numExperts must be set (setNumExperts) before build()");
            Preconditions.checkArgument(
                    expertFactory != null,
                    "expertFactory must be set (setExpertFactory) before build()");
            Preconditions.checkArgument(
                    topK <= numExperts,
                    "topK (%s) must be <= numExperts (%s)",
                    topK,
                    numExperts);
            return new MoeBlock(this);
        }
    }
}
