package dev.lethe.moe;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;

/**
 * A view of a {@link ParameterStore} whose values carry no gradient: a block run with it computes
 * with the current parameter values, passes gradient to its input, and gives none to its
 * parameters. The detached copies belong to the batch's manager and are freed with it.
 */
final class DetachedParameterStore extends ParameterStore {

    private final ParameterStore delegate;
    private final NDManager batchManager;

    DetachedParameterStore(ParameterStore delegate, NDManager batchManager) {
        super(batchManager, false);
        this.delegate = delegate;
        this.batchManager = batchManager;
    }

    @Override
    public NDArray getValue(Parameter parameter, Device device, boolean training) {
        NDArray value = delegate.getValue(parameter, device, training);
        if (value == null) {
            return null;
        }
        NDArray detached = value.stopGradient();
        detached.attach(batchManager);
        return detached;
    }
}
