package dev.lethe.moe;

import static dev.lethe.moe.MoeTestSupport.randomInput;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.GradientCollector;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import dev.lethe.moe.routing.ExpertAssignment;
import dev.lethe.moe.routing.Routing;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class MoeBlockClassRoutingTest {

    private NDManager manager;

    @BeforeEach
    void setUp() {
        Engine.getInstance().setRandomSeed(99);
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void tearDown() {
        manager.close();
    }

    /** Two experts with BatchNorm; a zero router ties, so the router sends every image to expert 0. */
    private MoeBlock block() {
        MoeBlock moe = MoeBlock.builder()
                .setNumExperts(2)
                .setExpertFactory(ConvExperts.residual(4))
                .optTopK(1)
                .optSeed(3)
                .build();
        moe.initialize(manager, DataType.FLOAT32, new Shape(4, 4, 6, 6));
        return moe;
    }

    @Test
    void classRouting_misroutedImages_giveTheirExpertNoGradientAndNoStatistics() throws Exception {
        MoeBlock full = block();
        MoeBlock reference = block();
        MoeBlockTest.copyParameters(full, reference);
        for (Pair<String, Parameter> p : reference.getParameters()) {
            if (p.getValue().requiresGradient()) {
                p.getValue().getArray().setRequiresGradient(true);
            }
        }
        full.setClassRouting(ExpertAssignment.onePerClass(2), 0f);
        reference.setClassRouting(ExpertAssignment.onePerClass(2), 0f);

        NDArray x = randomInput(manager, 5, 4, 4, 6, 6);
        NDArray w = randomInput(manager, 6, 4, 4, 6, 6);
        x.setRequiresGradient(true);
        Routing routing;
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray y = full.forward(new ParameterStore(manager, false), new NDList(x), new NDList(manager.create(new float[] {0, 1, 0, 1})), null)
                    .singletonOrThrow();
            routing = full.lastRouting().orElseThrow();
            gc.backward(y.mul(w).sum());
        }
        // the router ties and picks expert 0: the class-1 images ran through it detached
        for (int b = 0; b < 4; b++) {
            assertThat(routing.expertIndex(b, 0)).isZero();
            assertThat(routing.isDetached(b, 0)).as("image %s", b).isEqualTo(b % 2 == 1);
        }
        assertThat(routing.isClassRouted()).isTrue();
        // the gradient still reaches the misrouted images' input through the detached expert
        NDArray inputGradient = x.getGradient();
        assertThat(inputGradient.get(1).abs().max().getFloat()).isGreaterThan(0f);

        // the same two class-0 images alone: expert 0 gets the same gradient and statistics
        NDArray own = x.stopGradient().get(new NDIndex("{}", manager.create(new long[] {0, 2})));
        NDArray ownW = w.get(new NDIndex("{}", manager.create(new long[] {0, 2})));
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray y = reference.forward(new ParameterStore(manager, false), new NDList(own), new NDList(manager.create(new float[] {0, 0})), null)
                    .singletonOrThrow();
            gc.backward(y.mul(ownW).sum());
        }
        Map<String, float[]> a = gradientsAndStatistics(full.expert(0));
        Map<String, float[]> b = gradientsAndStatistics(reference.expert(0));
        assertThat(a).hasSameSizeAs(b).isNotEmpty();
        for (Map.Entry<String, float[]> e : a.entrySet()) {
            assertThat(e.getValue()).as(e.getKey()).containsExactly(b.get(e.getKey()));
        }
        // expert 1 received no image at all
        assertThat(MoeBlockTest.maxAbsGradient(full.expert(1))).isZero();
    }

    @Test
    void classRouting_fullTeacherForcing_sendsEachImageToItsClassExpert() {
        MoeBlock moe = block();
        moe.setClassRouting(ExpertAssignment.onePerClass(2), 1f);
        NDArray x = randomInput(manager, 5, 4, 4, 6, 6);
        try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
            NDArray y = moe.forward(new ParameterStore(manager, false), new NDList(x), new NDList(manager.create(new float[] {0, 1, 1, 0})), null)
                    .singletonOrThrow();
            gc.backward(y.sum());
        }
        Routing routing = moe.lastRouting().orElseThrow();
        assertThat(routing.expertCounts()).containsExactly(2, 2);
        for (int b = 0; b < 4; b++) {
            assertThat(routing.isDetached(b, 0)).isFalse();
        }
        assertThat(MoeBlockTest.maxAbsGradient(moe.expert(1))).isGreaterThan(0f);
        // without labels (inference, or a pass without them) the router decides: all to expert 0
        moe.forward(new ParameterStore(manager, false), new NDList(x), false);
        assertThat(moe.lastRouting().orElseThrow().expertCounts()).containsExactly(4, 0);
    }

    @Test
    void classRouting_sameBatch_routesTheSameWay() {
        MoeBlock moe = block();
        moe.setClassRouting(ExpertAssignment.onePerClass(2), 0.5f);
        NDArray x = randomInput(manager, 5, 4, 4, 6, 6);
        NDList labels = new NDList(manager.create(new float[] {1, 1, 1, 1}));
        List<long[]> seen = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            moe.forward(new ParameterStore(manager, false), new NDList(x), labels, null);
            Routing r = moe.lastRouting().orElseThrow();
            long[] experts = new long[4];
            for (int b = 0; b < 4; b++) {
                experts[b] = r.expertIndex(b, 0);
            }
            seen.add(experts);
        }
        assertThat(seen.get(1)).containsExactly(seen.get(0));
        assertThat(seen.get(2)).containsExactly(seen.get(0));
    }

    @Test
    void setClassRouting_invalid_namesTheRule() {
        MoeBlock top2 = MoeBlock.builder().setNumExperts(3).setExpertFactory(ConvExperts.residual(4)).build();
        assertThatThrownBy(() -> top2.setClassRouting(ExpertAssignment.onePerClass(3), 0.5f))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("class routing sends each image to one expert: topK (2) must be 1");
        MoeBlock moe = block();
        assertThatThrownBy(() -> moe.setClassRouting(ExpertAssignment.onePerClass(3), 0.5f))
                .hasMessage("the assignment is for 3 experts but the layer has 2");
        assertThatThrownBy(() -> moe.setClassRouting(ExpertAssignment.onePerClass(2), 1.5f))
                .hasMessage("teacherForcing (1.5) must be in [0, 1]");
        moe.setClassRouting(ExpertAssignment.onePerClass(2), 1f);
        NDArray x = randomInput(manager, 5, 4, 4, 6, 6);
        assertThatThrownBy(() -> moe.forward(new ParameterStore(manager, false), new NDList(x),
                new NDList(manager.create(new float[] {0, 1, 2, 0})), null))
                .hasMessage("label 2 of image 2 has no expert: the class routing assigns 2 classes");
    }

    @Test
    void assignment_groupsAndLookups() {
        ExpertAssignment groups = ExpertAssignment.contiguous(10, 5);
        assertThat(groups.toArray()).containsExactly(0, 0, 1, 1, 2, 2, 3, 3, 4, 4);
        assertThat(groups.classesOf(3)).containsExactly(6, 7);
        assertThat(ExpertAssignment.of(4, 1, 0, 1).classesOf(1)).containsExactly(0, 2);
        assertThat(ExpertAssignment.of(4, 1, 0, 1).classesOf(3)).isEmpty();
        assertThatThrownBy(() -> ExpertAssignment.of(2, 0, 2))
                .hasMessage("the expert of class 1 (2) must be in [0, numExperts (2))");
    }

    private static Map<String, float[]> gradientsAndStatistics(Block block) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Pair<String, Parameter> p : block.getParameters()) {
            Parameter parameter = p.getValue();
            boolean stat = parameter.getType() == Parameter.Type.RUNNING_MEAN || parameter.getType() == Parameter.Type.RUNNING_VAR;
            out.put(p.getKey(), stat ? parameter.getArray().toFloatArray() : parameter.getArray().getGradient().toFloatArray());
        }
        return out;
    }
}
