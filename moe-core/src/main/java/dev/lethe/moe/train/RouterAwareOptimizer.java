package dev.lethe.moe.train;

import ai.djl.ndarray.NDArray;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableSet;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import java.util.Set;

/**
 * An optimizer that sends router parameters to one optimizer and every other parameter to another,
 * so that, for instance, the router is trained without weight decay while the experts keep it (a
 * router under weight decay and noise stays below the noise and collapses at inference; see
 * docs/moe.md).
 *
 * <p>Router parameters are those of the {@link MoeBlock#router()} of every MoE layer of the model,
 * recognised by their parameter ids when the optimizer is built.
 *
 * <pre>{@code
 * Tracker lr = Tracker.cosine()...;
 * Optimizer opt = RouterAwareOptimizer.of(model.getBlock(),
 *         Optimizer.sgd().setLearningRateTracker(lr).optMomentum(0.9f).optWeightDecays(5e-4f).build(),
 *         Optimizer.sgd().setLearningRateTracker(lr).optMomentum(0.9f).build());
 * }</pre>
 */
public final class RouterAwareOptimizer extends Optimizer {

    private final Optimizer others;
    private final Optimizer routers;
    private final Set<String> routerIds;

    private RouterAwareOptimizer(Optimizer others, Optimizer routers, Set<String> routerIds) {
        super(new NoOpBuilder());
        this.others = others;
        this.routers = routers;
        this.routerIds = routerIds;
    }

    /**
     * @param model the model whose MoE routers get the router optimizer
     * @param others the optimizer of every non-router parameter
     * @param routers the optimizer of router parameters (usually the same kind, without weight
     *     decay)
     * @return the combined optimizer
     */
    public static RouterAwareOptimizer of(Block model, Optimizer others, Optimizer routers) {
        Preconditions.checkNotNull(model, "model must not be null");
        Preconditions.checkNotNull(others, "others must not be null");
        Preconditions.checkNotNull(routers, "routers must not be null");
        Preconditions.checkArgument(
                others != routers, "others and routers must be two optimizer instances");
        ImmutableSet.Builder<String> ids = ImmutableSet.builder();
        for (MoeBlock layer : MoeBlocks.find(model).values()) {
            for (Pair<String, Parameter> p : layer.router().getParameters()) {
                ids.add(p.getValue().getId());
            }
        }
        return new RouterAwareOptimizer(others, routers, ids.build());
    }

    /** @return how many parameters are routed to the router optimizer */
    public int routerParameterCount() {
        return routerIds.size();
    }

    @Override
    public void update(String parameterId, NDArray weight, NDArray grad) {
        if (routerIds.contains(parameterId)) {
            routers.update(parameterId, weight, grad);
        } else {
            others.update(parameterId, weight, grad);
        }
    }

    private static final class NoOpBuilder extends OptimizerBuilder<NoOpBuilder> {
        @Override
        protected NoOpBuilder self() {
            return this;
        }
    }
}
