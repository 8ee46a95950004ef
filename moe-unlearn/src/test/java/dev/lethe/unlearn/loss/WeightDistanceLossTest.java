package dev.lethe.unlearn.loss;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import java.util.List;
import org.junit.jupiter.api.Test;

class WeightDistanceLossTest {

    private static Parameter parameter(NDManager m, float... values) {
        Parameter p = Parameter.builder().setName("w").setType(Parameter.Type.WEIGHT).build();
        p.setArray(m.create(values));
        return p;
    }

    @Test
    void evaluate_isTheHingeOnTheRelativeDistance_andPushesAlongTheEdit() {
        try (NDManager m = NDManager.newBaseManager()) {
            Parameter original = parameter(m, 3f, 4f); // norm 5
            Parameter edited = parameter(m, 3f, 4.5f); // moved 0.5: d = 0.1
            edited.getArray().setRequiresGradient(true);
            WeightDistanceLoss loss = new WeightDistanceLoss(2f, 0.3f, List.of(edited), List.of(original));
            assertThat(loss.distance()).isCloseTo(0.1, offset(1e-6));
            NDList predictions = new NDList(m.zeros(new ai.djl.ndarray.types.Shape(1)));
            float value;
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                NDArray l = loss.evaluate(new NDList(), predictions);
                value = l.getFloat();
                gc.backward(l);
            }
            // weight * N * (target - d) = 2 * 2 * 0.2
            assertThat(value).isCloseTo(0.8f, offset(1e-5f));
            // gradient -weight * N * (θ - θ0) / (||θ - θ0|| ||θ0||) = -4 * (0, 1) / 5
            assertThat(edited.getArray().getGradient().toFloatArray()).containsExactly(new float[] {0f, -0.8f}, offset(1e-5f));
            // beyond the target: 0
            edited.getArray().set(new float[] {3f, 6f});
            assertThat(loss.evaluate(new NDList(), predictions).getFloat()).isZero();
        }
    }

    @Test
    void constructor_checksItsArguments() {
        try (NDManager m = NDManager.newBaseManager()) {
            Parameter a = parameter(m, 1f, 2f);
            Parameter b = parameter(m, 1f, 2f, 3f);
            assertThatThrownBy(() -> new WeightDistanceLoss(1f, 0.1f, List.of(a), List.of(b)))
                    .hasMessage("weight 'w' has shape (2) but its original (3)");
            assertThatThrownBy(() -> new WeightDistanceLoss(1f, 0f, List.of(a), List.of(a)))
                    .hasMessage("target distance (0.0) must be finite and > 0");
            assertThatThrownBy(() -> new WeightDistanceLoss(1f, 0.1f, List.of(a), List.of(parameter(m, 0f, 0f))))
                    .hasMessage("the original weights are all zero: no relative distance");
        }
    }
}
