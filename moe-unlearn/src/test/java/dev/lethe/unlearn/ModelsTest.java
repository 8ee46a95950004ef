package dev.lethe.unlearn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.core.Linear;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.model.MoeResNet;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ModelsTest {

    private Model source;

    @BeforeEach
    void setUp() {
        Engine.getInstance().setRandomSeed(11);
        source = MoeResNet.newModel(MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(4).optTopK(2).optNumClasses(4).build());
        // BatchNorm statistics that differ from their initial values, a property and a masked expert
        for (Pair<String, Parameter> p : source.getBlock().getParameters()) {
            if (p.getValue().getType() == Parameter.Type.RUNNING_MEAN) {
                NDArray a = p.getValue().getArray();
                a.set(a.getManager().randomNormal(a.getShape()).toFloatArray());
            }
        }
        source.setProperty("lethe.recipe", "{\"epochs\":3}");
        ((MoeResNet) source.getBlock()).moeLayers().get(0).maskExpert(1, true);
    }

    @AfterEach
    void tearDown() {
        source.close();
    }

    @Test
    void copy_holdsEveryValueStatisticPropertyAndMask_andIsIndependent() throws Exception {
        Map<String, float[]> original = UnlearnerTest.values(source);
        float[] out;
        try (Model copy = Models.copy(source)) {
            Map<String, float[]> copied = UnlearnerTest.values(copy);
            assertThat(copied.keySet()).isEqualTo(original.keySet());
            copied.forEach((k, v) -> assertThat(v).as(k).containsExactly(original.get(k)));
            assertThat(copy.getProperty("lethe.recipe")).isEqualTo("{\"epochs\":3}");
            MoeBlock layer = ((MoeResNet) copy.getBlock()).moeLayers().get(0);
            assertThat(layer.isExpertMasked(1)).isTrue();
            assertThat(layer.isExpertMasked(0)).isFalse();
            out = forward(copy);
            assertThat(out).containsExactly(forward(source));
        }
        // closing the copy leaves the source whole
        assertThat(forward(source)).containsExactly(out);
    }

    @Test
    void fresh_sameArchitecture_newValues_noProperties() {
        try (Model fresh = Models.fresh(source, null)) {
            Map<String, float[]> a = UnlearnerTest.values(source);
            Map<String, float[]> b = UnlearnerTest.values(fresh);
            assertThat(b.keySet()).isEqualTo(a.keySet());
            b.forEach((k, v) -> assertThat(v).as(k).hasSameSizeAs(a.get(k)));
            long differ = a.keySet().stream().filter(k -> !java.util.Arrays.equals(a.get(k), b.get(k))).count();
            assertThat(differ).isPositive();
            assertThat(fresh.getProperty("lethe.recipe")).isNull();
        }
    }

    @Test
    void copyParameters_restoresValues_andMakesEverythingTrainable() throws Exception {
        Map<String, float[]> original = UnlearnerTest.values(source);
        try (Model copy = Models.copy(source)) {
            for (Pair<String, Parameter> p : source.getBlock().getParameters()) {
                p.getValue().freeze(p.getValue().getType() != Parameter.Type.RUNNING_MEAN && p.getValue().getType() != Parameter.Type.RUNNING_VAR);
                NDArray a = p.getValue().getArray();
                a.set(a.getManager().zeros(a.getShape()).toFloatArray());
            }
            Models.copyParameters(copy, source);
        }
        UnlearnerTest.values(source).forEach((k, v) -> assertThat(v).as(k).containsExactly(original.get(k)));
        for (Pair<String, Parameter> p : source.getBlock().getParameters()) {
            if (p.getValue().getType() == Parameter.Type.WEIGHT) {
                assertThat(p.getValue().requiresGradient()).as(p.getKey()).isTrue();
            }
        }
    }

    @Test
    void copy_otherArchitecture_needsAFactory() throws Exception {
        try (Model other = Model.newInstance("other")) {
            SequentialBlock block = new SequentialBlock().add(Linear.builder().setUnits(3).build());
            other.setBlock(block);
            block.initialize(other.getNDManager(), DataType.FLOAT32, new Shape(1, 5));
            assertThatThrownBy(() -> Models.copy(other))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessage("cannot copy a SequentialBlock: pass a factory that builds this architecture (optModelFactory)");
            try (Model copy = Models.copy(other, () -> new SequentialBlock().add(Linear.builder().setUnits(3).build()))) {
                UnlearnerTest.values(copy).forEach((k, v) -> assertThat(v).containsExactly(UnlearnerTest.values(other).get(k)));
            }
        }
    }

    private static float[] forward(Model m) {
        try (NDManager scope = NDManager.newBaseManager()) {
            Engine.getInstance().setRandomSeed(1);
            NDArray x = scope.ones(new Shape(2, 3, 32, 32)).mul(0.5f);
            return m.getBlock().forward(new ParameterStore(scope, false), new ai.djl.ndarray.NDList(x), false).head().toFloatArray();
        }
    }
}
