package dev.lethe.moe.loss;

import dev.lethe.moe.ScalarOps;
import dev.lethe.moe.routing.Routing;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.training.loss.Loss;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.List;
import java.util.Map;

/**
 * A task loss plus the weighted router losses of every {@link MoeBlock} in a model, usable as the
 * loss of DJL's {@code Trainer}:
 *
 * <pre>
 *   L = task + balance * mean_l LB_l + zLoss * mean_l Z_l + mutualInformation * mean_l MI_l
 *            + routerSupervision * mean_l' RS_l'
 * </pre>
 *
 * <p>over the MoE layers l (RS over the layers l' with class routing, {@link
 * MoeLosses#routerSupervision}), from the routing of the forward pass that produced the predictions
 * (see {@link MoeLosses} for each term). The unweighted values of the last evaluation are readable
 * with {@link #lastValues()}.
 *
 * <pre>{@code
 * Loss loss = MoeTrainingLoss.builder(Loss.softmaxCrossEntropyLoss(), model.getBlock())
 *         .optBalance(1e-2f).optZLoss(1e-3f).optMutualInformation(0.5f, 0.5f).build();
 * }</pre>
 */
public final class MoeTrainingLoss extends Loss {

    private final Loss task;
    private final List<MoeBlock> layers;
    private final float balance;
    private final float zLoss;
    private final float mutualInformation;
    private final float temperature;
    private final float routerSupervision;
    private volatile Map<String, Float> lastValues = ImmutableMap.of();

    private MoeTrainingLoss(Builder builder) {
        super("MoeTrainingLoss");
        task = builder.task;
        layers = ImmutableList.copyOf(MoeBlocks.find(builder.model).values());
        balance = builder.balance;
        zLoss = builder.zLoss;
        mutualInformation = builder.mutualInformation;
        temperature = builder.temperature;
        routerSupervision = builder.routerSupervision;
        Preconditions.checkArgument(
                !layers.isEmpty(), "the model has no MoeBlock; use the task loss alone");
    }

    /**
     * @param task the task loss, e.g. {@code Loss.softmaxCrossEntropyLoss()}
     * @param model the block whose MoE layers are regularised
     * @return a new builder
     */
    public static Builder builder(Loss task, Block model) {
        return new Builder(task, model);
    }

    /** @return the weight of the load-balancing loss */
    public float getBalance() {
        return balance;
    }

    /** @return the weight of the router z-loss */
    public float getZLoss() {
        return zLoss;
    }

    /** @return the weight of the mutual-information loss (0 = off) */
    public float getMutualInformation() {
        return mutualInformation;
    }

    /** @return the weight of the router supervision of class-routed layers (0 = off) */
    public float getRouterSupervision() {
        return routerSupervision;
    }

    /**
     * The unweighted values of the last {@link #evaluate}: {@code task}, {@code balance}, {@code
     * zLoss}, {@code mutualInformation} and {@code routerSupervision} when enabled (each averaged
     * over MoE layers), and {@code total}.
     *
     * @return an immutable map, empty before the first evaluation
     */
    public Map<String, Float> lastValues() {
        return lastValues;
    }

    @Override
    public NDArray evaluate(NDList labels, NDList predictions) {
        NDArray total = task.evaluate(labels, predictions);
        float taskValue = total.getFloat();
        NDArray lb = null;
        NDArray z = null;
        NDArray mi = null;
        NDArray rs = null;
        int supervised = 0;
        for (MoeBlock layer : layers) {
            Routing routing =
                    layer.lastRouting(predictions.head().getDevice())
                            .orElseThrow(
                                    () ->
                                            new IllegalStateException(
                                                    "an MoeBlock has not run a forward pass on "
                                                            + predictions.head().getDevice()
                                                            + "; evaluate the loss on the"
                                                            + " predictions of this model"));
            lb = accumulate(lb, MoeLosses.loadBalancing(routing));
            z = accumulate(z, MoeLosses.zLoss(routing));
            if (mutualInformation > 0f) {
                mi = accumulate(mi, MoeLosses.mutualInformation(routing, labels.head(), temperature));
            }
            if (routerSupervision > 0f && layer.classRouting().isPresent()) {
                rs = accumulate(rs, MoeLosses.routerSupervision(routing, labels.head(), layer.classRouting().get()));
                supervised++;
            }
        }
        Preconditions.checkState(
                routerSupervision == 0f || supervised > 0,
                "routerSupervision (%s) needs class routing on the MoE layers (MoeBlock.setClassRouting);"
                        + " none has it",
                routerSupervision);
        int n = layers.size();
        lb = ScalarOps.div(lb, n);
        z = ScalarOps.div(z, n);
        ImmutableMap.Builder<String, Float> values = ImmutableMap.builder();
        values.put("task", taskValue);
        values.put("balance", lb.getFloat());
        values.put("zLoss", z.getFloat());
        // a term of weight 0 stays out of the graph: its value is reported, it sends no gradient
        if (balance > 0f) {
            total = total.add(ScalarOps.mul(lb, balance));
        }
        if (zLoss > 0f) {
            total = total.add(ScalarOps.mul(z, zLoss));
        }
        if (mi != null) {
            mi = ScalarOps.div(mi, n);
            values.put("mutualInformation", mi.getFloat());
            total = total.add(ScalarOps.mul(mi, mutualInformation));
        }
        if (rs != null) {
            rs = ScalarOps.div(rs, supervised);
            values.put("routerSupervision", rs.getFloat());
            total = total.add(ScalarOps.mul(rs, routerSupervision));
        }
        values.put("total", total.getFloat());
        lastValues = values.build();
        return total;
    }

    private static NDArray accumulate(NDArray sum, NDArray term) {
        return sum == null ? term : sum.add(term);
    }

    /** Builds a {@link MoeTrainingLoss}. */
    public static final class Builder {
        private final Loss task;
        private final Block model;
        private float balance = 1e-2f;
        private float zLoss = 1e-3f;
        private float mutualInformation;
        private float temperature = 0.5f;
        private float routerSupervision;

        Builder(Loss task, Block model) {
            this.task = Preconditions.checkNotNull(task, "task loss must not be null");
            this.model = Preconditions.checkNotNull(model, "model must not be null");
        }

        /**
         * @param weight weight of the load-balancing loss, &gt;= 0; default 1e-2
         * @return this builder
         */
        public Builder optBalance(float weight) {
            this.balance = checkWeight("balance", weight);
            return this;
        }

        /**
         * @param weight weight of the router z-loss, &gt;= 0; default 1e-3
         * @return this builder
         */
        public Builder optZLoss(float weight) {
            this.zLoss = checkWeight("zLoss", weight);
            return this;
        }

        /**
         * Turns on class-aware routing.
         *
         * @param weight weight of the mutual-information loss, &gt;= 0; default 0 (off); 0.5
         *     recommended
         * @param temperature softmax temperature of the sharpened router probabilities, &gt; 0;
         *     default 0.5
         * @return this builder
         */
        public Builder optMutualInformation(float weight, float temperature) {
            this.mutualInformation = checkWeight("mutualInformation", weight);
            Preconditions.checkArgument(
                    temperature > 0f && Float.isFinite(temperature),
                    "temperature (%s) must be finite and > 0",
                    temperature);
            this.temperature = temperature;
            return this;
        }

        /**
         * Trains the routers of class-routed layers to predict the expert of each image's class
         * ({@link MoeLosses#routerSupervision}).
         *
         * @param weight weight of the router supervision, &gt;= 0; default 0 (off); 1 recommended
         *     with class routing
         * @return this builder
         */
        public Builder optRouterSupervision(float weight) {
            this.routerSupervision = checkWeight("routerSupervision", weight);
            return this;
        }

        /** @return the loss */
        public MoeTrainingLoss build() {
            return new MoeTrainingLoss(this);
        }

        private static float checkWeight(String name, float weight) {
            Preconditions.checkArgument(
                    weight >= 0f && Float.isFinite(weight),
                    "%s weight (%s) must be finite and >= 0",
                    name,
                    weight);
            return weight;
        }
    }
}
