package dev.lethe.moe;

import dev.lethe.moe.loss.MoeLosses;

import dev.lethe.moe.routing.ExpertAssignment;
import dev.lethe.moe.routing.Routing;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
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
import java.util.function.BiFunction;
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
        top.get(1).close();
        float[] gateValues = gates.toFloatArray();

        NDArray out =
                dispatch(
                        x,
                        experts,
                        gates,
                        numExperts,
                        dispatch,
                        (e, rows) -> runExpert(parameterStore, e, rows, training));

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
     * The MoE layer's dispatch as a function (as DJL's {@code Conv2d.conv2d} is the function of
     * {@code Conv2d}): runs the experts each image is routed to and sums their outputs weighted by
     * the gates,
     *
     * <pre>
     *   y_b = sum_s gates[b, s] * expert_{experts[b*k + s]}(x_b)      b &lt; B, s &lt; k
     * </pre>
     *
     * <p>{@link Dispatch#SPARSE} gathers the B·k (image, expert) rows sorted by expert with one
     * gather, splits them into one contiguous block per expert (views), runs each expert that got
     * rows on its block only, concatenates the outputs, puts them back in (image, slot) order with
     * one gather and combines the k slots of each image with one batched (1×k)·(k×D) product.
     * In the backward pass that is one zero-filled input-sized gradient (the gather's), not one
     * per expert. {@link Dispatch#DENSE} runs every expert on all B images and selects the routed
     * rows; both combine the same way, so their outputs are bit-identical whenever the experts'
     * outputs are (inference mode).
     *
     * <p>Computed intermediate arrays are closed as soon as they are used (autograd keeps what the
     * backward pass needs), so they do not wait for the batch's manager; the index arrays, made
     * from host data that the backward pass reads, stay in x's manager.
     *
     * @param x the input, (B, ...)
     * @param experts the expert of each (image, slot), length B·k, image-major: {@code
     *     experts[b*k + s]}, each in [0, numExperts); the k experts of an image need not differ
     * @param gates the weight of each (image, slot), (B, k)
     * @param numExperts E
     * @param mode SPARSE (each expert on its own images) or DENSE (every expert on every image)
     * @param expert {@code (e, rows) -> output}: expert e on rows (n, ...) of x, returning (n,
     *     ...out) with the same trailing shape for every expert; called once per expert that has
     *     rows (SPARSE) or once per expert (DENSE), in expert order
     * @return y, (B, ...out)
     * @throws IllegalArgumentException if the shapes or indices do not match
     */
    public static NDArray dispatch(
            NDArray x,
            long[] experts,
            NDArray gates,
            int numExperts,
            Dispatch mode,
            BiFunction<Integer, NDArray, NDArray> expert) {
        Preconditions.checkArgument(
                x.getShape().dimension() >= 1, "x must be (B, ...) but has shape %s", x.getShape());
        long batch = x.getShape().get(0);
        Preconditions.checkArgument(
                gates.getShape().dimension() == 2 && gates.getShape().get(0) == batch,
                "gates must be (B, k) with B = %s but has shape %s",
                batch,
                gates.getShape());
        int topK = Math.toIntExact(gates.getShape().get(1));
        Preconditions.checkArgument(
                experts.length == batch * topK,
                "experts has %s entries but B * k = %s * %s = %s",
                experts.length,
                batch,
                topK,
                batch * topK);
        for (int p = 0; p < experts.length; p++) {
            Preconditions.checkArgument(
                    experts[p] >= 0 && experts[p] < numExperts,
                    "experts[%s] = %s is not in [0, numExperts = %s)",
                    p,
                    experts[p],
                    numExperts);
        }
        Preconditions.checkNotNull(mode, "mode must not be null");
        Preconditions.checkNotNull(expert, "expert must not be null");
        NDArray routed =
                mode == Dispatch.SPARSE
                        ? sparseRows(x, experts, topK, numExperts, expert)
                        : denseRows(x, experts, topK, numExperts, expert);
        // (B, 1, k) x (B, k, D) -> (B, 1, D): the gate-weighted sum over the k slots in one op
        Shape rowShape = routed.getShape().slice(1);
        try (NDArray slots = routed.reshape(batch, topK, rowShape.size());
                NDArray weights = gates.reshape(batch, 1, topK);
                NDArray sum = weights.matMul(slots)) {
            routed.close();
            return sum.reshape(new Shape(batch).addAll(rowShape));
        }
    }

    /**
     * SPARSE: each expert on its own rows. Returns (B*k, ...out) in (image, slot) order.
     */
    private static NDArray sparseRows(
            NDArray x,
            long[] experts,
            int topK,
            int numExperts,
            BiFunction<Integer, NDArray, NDArray> expert) {
        NDManager manager = x.getManager();
        int positions = experts.length;
        int[] counts = new int[numExperts];
        for (long e : experts) {
            counts[(int) e]++;
        }
        long[] start = new long[numExperts + 1];
        for (int e = 0; e < numExperts; e++) {
            start[e + 1] = start[e] + counts[e];
        }
        // a stable sort of the positions by expert: row r of the sorted order holds position
        // order[r]; inverse[p] is the sorted row of position p; the image of position p is p / k
        long[] next = Arrays.copyOf(start, numExperts);
        long[] inverse = new long[positions];
        long[] imageOfRow = new long[positions];
        for (int p = 0; p < positions; p++) {
            int row = Math.toIntExact(next[(int) experts[p]]++);
            inverse[p] = row;
            imageOfRow[row] = p / topK;
        }
        NDList outputs = new NDList(numExperts);
        // index arrays made from host data alias Java memory that autograd reads in the
        // backward pass: they stay open until the batch's manager closes
        NDArray images = manager.create(imageOfRow);
        try (NDArray rows = gatherRows(x, images)) {
            NDList blocks = rows.split(Arrays.copyOfRange(start, 1, numExperts), 0);
            for (int e = 0; e < numExperts; e++) {
                NDArray block = blocks.get(e);
                if (counts[e] > 0) {
                    NDArray out = run(expert, e, block);
                    outputs.add(out);
                    release(block, out);
                } else {
                    block.close();
                }
            }
        }
        NDArray sorted = outputs.size() == 1 ? outputs.get(0) : NDArrays.concat(outputs, 0);
        if (outputs.size() > 1) {
            for (NDArray out : outputs) {
                release(out, x);
            }
        }
        NDArray routed = gatherRows(sorted, manager.create(inverse));
        release(sorted, x);
        return routed;
    }

    /**
     * DENSE: every expert on every row, then the routed rows. Returns (B*k, ...out) in (image,
     * slot) order.
     */
    private static NDArray denseRows(
            NDArray x,
            long[] experts,
            int topK,
            int numExperts,
            BiFunction<Integer, NDArray, NDArray> expert) {
        NDManager manager = x.getManager();
        long batch = x.getShape().get(0);
        NDList all = new NDList(numExperts);
        for (int e = 0; e < numExperts; e++) {
            all.add(run(expert, e, x));
        }
        // (E*B, ...) with row e*B + b
        NDArray stacked = all.size() == 1 ? all.get(0) : NDArrays.concat(all, 0);
        if (all.size() > 1) {
            for (NDArray out : all) {
                release(out, x);
            }
        }
        long[] rows = new long[experts.length];
        for (int p = 0; p < experts.length; p++) {
            rows[p] = experts[p] * batch + p / topK;
        }
        NDArray routed = gatherRows(stacked, manager.create(rows));
        release(stacked, x);
        return routed;
    }

    /**
     * Rows {@code source[index[i]]} of a (N, ...) array: (n, ...). An embedding lookup of the rows
     * flattened to (N, D): libtorch's {@code index_select} forward (a copy per row) and, backward,
     * one zero-filled (N, D) gradient with the rows added in; faster both ways than advanced
     * indexing ({@code get(NDIndex "{}")}), whose backward is an element-wise scatter.
     */
    private static NDArray gatherRows(NDArray source, NDArray index) {
        Shape shape = source.getShape();
        try (NDArray flat = source.reshape(shape.get(0), shape.size() / shape.get(0));
                NDArray picked =
                        flat.getNDArrayInternal()
                                .embedding(index, flat, SparseFormat.DENSE)
                                .singletonOrThrow()) {
            return picked.reshape(new Shape(index.getShape().get(0)).addAll(shape.slice(1)));
        }
    }

    private static NDArray run(BiFunction<Integer, NDArray, NDArray> expert, int e, NDArray rows) {
        NDArray out = expert.apply(e, rows);
        Preconditions.checkState(out != null, "expert %s returned null", e);
        return out;
    }

    /**
     * Closes an intermediate array early (autograd holds its own reference to whatever the
     * backward pass needs), unless it is the array to keep (an expert may return its input).
     */
    private static void release(NDArray array, NDArray keep) {
        if (array != keep) {
            array.close();
        }
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
        // the detached run of expert e is a virtual expert E + e of the dispatch
        long[] virtual = new long[batch];
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
            virtual[b] = chosen[b] + (detached[b] ? numExperts : 0);
        }
        ParameterStore detachedStore = new DetachedParameterStore(parameterStore, manager);
        NDArray gates = manager.ones(new Shape(batch, 1));
        NDArray out =
                dispatch(
                        x,
                        virtual,
                        gates,
                        2 * numExperts,
                        Dispatch.SPARSE,
                        (v, rows) -> v < numExperts
                                ? runExpert(parameterStore, v, rows, true)
                                : experts.get(v - numExperts).forward(detachedStore, new NDList(rows), false).singletonOrThrow());
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
                        gates,
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
     * Makes every parameter of a block trainable or not, never touching the {@linkplain
     * MoeBlocks#isFixed fixed} ones (BatchNorm running statistics, which must not require
     * gradients, and constants).
     *
     * @param block the block
     * @param trainable true to train
     */
    static void setTrainable(Block block, boolean trainable) {
        for (Pair<String, Parameter> pair : block.getParameters()) {
            Parameter p = pair.getValue();
            if (MoeBlocks.isFixed(p)) {
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
