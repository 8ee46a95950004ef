package dev.lethe.moe.model;

import dev.lethe.moe.MoeTestSupport;

import dev.lethe.moe.MoeBlocks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MoeResNetTest {

    static MoeResNet.Config tiny() {
        return MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(3).optTopK(2).optNumClasses(5).build();
    }

    @Test
    void forward_shapesAndLayers() {
        try (Model model = MoeResNet.newModel(tiny())) {
            MoeResNet net = (MoeResNet) model.getBlock();
            assertThat(net.moeLayers()).hasSize(2);
            assertThat(net.moeLayerNames()).allMatch(n -> n.startsWith("01features/"));
            assertThat(net.embeddingSize()).isEqualTo(8);
            try (NDManager m = model.getNDManager().newSubManager()) {
                NDArray x = MoeTestSupport.randomInput(m, 1, 6, 3, 32, 32);
                NDArray y = net.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow();
                assertThat(y.getShape()).isEqualTo(new Shape(6, 5));
                NDArray e = net.features().forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow();
                assertThat(e.getShape()).isEqualTo(new Shape(6, 8));
            }
        }
    }

    @Test
    void builder_buildsTheBlockOfItsConfiguration() {
        MoeResNet net = MoeResNet.builder().optWidths(4, 8, 8).optNumExperts(3).optNumClasses(5).build();
        assertThat(net.config()).isEqualTo(tiny().toBuilder().optTopK(2).build());
        assertThat(net.isInitialized()).isFalse();
        assertThat(net.config().toBuilder().optNumClasses(7).build().numClasses()).isEqualTo(7);
    }

    @Test
    void fastStyle_shapesAndFlops() {
        MoeResNet.Config config = MoeResNet.Config.builder().optStyle(MoeResNet.Style.FAST)
                .optWidths(8, 16, 16).optNumExperts(3).optTopK(1).optNumClasses(5).optLogitScale(0.125f).build();
        try (Model model = MoeResNet.newModel(config)) {
            MoeResNet net = (MoeResNet) model.getBlock();
            assertThat(net.moeLayers()).hasSize(2);
            try (NDManager m = model.getNDManager().newSubManager()) {
                NDArray x = MoeTestSupport.randomInput(m, 1, 4, 3, 32, 32);
                NDArray e = net.features().forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow();
                assertThat(e.getShape()).isEqualTo(new Shape(4, 16));
                NDArray y = net.forward(new ParameterStore(m, false), new NDList(x), false).singletonOrThrow();
                assertThat(y.getShape()).isEqualTo(new Shape(4, 5));
            }
        }
        // stem 31²·12·24; stage s: side²·9·in·w + (side/2)²·9·w² (k = 1); head 16·5
        long macs = 31L * 31 * 12 * 24 + (31L * 31 * 9 * 24 * 8 + 15L * 15 * 9 * 64)
                + (15L * 15 * 9 * 8 * 16 + 7L * 7 * 9 * 256) + (7L * 7 * 9 * 256 + 3L * 3 * 9 * 256) + 16 * 5;
        assertThat(config.flopsPerImage()).isEqualTo(2 * macs);
    }

    @Test
    void fastStyle_batchNormScalesStayFrozen_whateverIsUnfrozen(@TempDir Path dir) throws Exception {
        MoeResNet.Config config = MoeResNet.Config.builder().optFastLayout().optWidths(8, 16, 16).optNumExperts(3)
                .optNumClasses(5).build();
        try (Model model = MoeResNet.newModel(config)) {
            MoeResNet net = (MoeResNet) model.getBlock();
            MoeBlocks.setTrainable(net, true);
            net.moeLayers().forEach(moe -> moe.freezeExpert(0, false));
            long scales = net.getParameters().stream().filter(p -> p.getValue().getName().equals("gamma")).count();
            assertThat(scales).isPositive();
            net.getParameters().forEach(p -> {
                if (p.getValue().getName().equals("gamma")) {
                    assertThat(p.getValue().requiresGradient()).as(p.getKey()).isFalse();
                    assertThat(MoeBlocks.isFixed(p.getValue())).as(p.getKey()).isTrue();
                } else if (p.getValue().getType() == ai.djl.nn.Parameter.Type.WEIGHT && !MoeBlocks.isFixed(p.getValue())) {
                    assertThat(p.getValue().requiresGradient()).as(p.getKey()).isTrue();
                }
            });
            // a model loaded from disk is built by the same code: its scales are fixed too
            MoeResNet.save(model, dir.resolve("m"), Map.of());
            try (Model loaded = MoeResNet.load(dir.resolve("m"))) {
                MoeBlocks.setTrainable(loaded.getBlock(), true);
                loaded.getBlock().getParameters().stream().filter(p -> p.getValue().getName().equals("gamma"))
                        .forEach(p -> assertThat(p.getValue().requiresGradient()).as(p.getKey()).isFalse());
            }
        }
    }

    @Test
    void flopsPerImage_defaultConfig_matchesJavadoc() {
        long flops = MoeResNet.Config.builder().build().flopsPerImage();
        assertThat(flops).isBetween(200_000_000L, 220_000_000L);
        long small = MoeResNet.Config.builder().optWidths(16, 32, 64).build().flopsPerImage();
        assertThat(small).isBetween(50_000_000L, 56_000_000L);
        try (Model model = MoeResNet.newModel(MoeResNet.Config.builder().build())) {
            assertThat(MoeBlocks.countParameters(model.getBlock())).isBetween(2_900_000L, 3_200_000L);
        }
    }

    @Test
    void saveLoad_roundTrip_identicalOutputs(@TempDir Path dir) throws Exception {
        Engine.getInstance().setRandomSeed(5);
        float[] before;
        try (Model model = MoeResNet.newModel(tiny());
                NDManager m = NDManager.newBaseManager()) {
            NDArray x = MoeTestSupport.randomInput(m, 2, 4, 3, 32, 32);
            before = model.getBlock().forward(new ParameterStore(m, false), new NDList(x), false)
                    .singletonOrThrow().toFloatArray();
            MoeResNet.save(model, dir, Map.of("seed", "5"));
        }
        try (Model loaded = MoeResNet.load(dir);
                NDManager m = NDManager.newBaseManager()) {
            NDArray x = MoeTestSupport.randomInput(m, 2, 4, 3, 32, 32);
            float[] after = loaded.getBlock().forward(new ParameterStore(m, false), new NDList(x), false)
                    .singletonOrThrow().toFloatArray();
            assertThat(after).containsExactly(before);
            assertThat(((MoeResNet) loaded.getBlock()).config()).isEqualTo(tiny());
        }
        assertThat(MoeResNet.readMetadata(dir)).containsEntry("seed", "5");
    }

    @Test
    void load_missingOrCorruptDirectory_clearError(@TempDir Path dir) throws Exception {
        assertThatThrownBy(() -> MoeResNet.load(dir.resolve("nope")))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("lethe-model.json is missing");
        try (Model model = MoeResNet.newModel(tiny())) {
            MoeResNet.save(model, dir, Map.of());
        }
        try (var files = Files.list(dir)) {
            Path params = files.filter(p -> p.toString().endsWith(".params")).findFirst().orElseThrow();
            byte[] bytes = Files.readAllBytes(params);
            Files.write(params, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        }
        assertThatThrownBy(() -> MoeResNet.load(dir))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("cannot load the parameters");
        Files.writeString(dir.resolve("lethe-model.json"), "{ not json");
        assertThatThrownBy(() -> MoeResNet.load(dir))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("corrupt model configuration");
    }
}
