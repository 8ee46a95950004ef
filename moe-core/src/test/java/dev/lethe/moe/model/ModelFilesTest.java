package dev.lethe.moe.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeTestSupport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The saved-model files: checksum, versioned manifest, properties and expert masks. */
class ModelFilesTest {

    private static MoeResNet.Config tiny(long seed) {
        return MoeResNet.Config.builder().optWidths(4, 8, 8).optNumExperts(3).optTopK(1).optNumClasses(5)
                .optSeed(seed).build();
    }

    private static Model newModel(int engineSeed) {
        Engine.getInstance().setRandomSeed(engineSeed);
        return MoeResNet.newModel(tiny(0));
    }

    private static float[] outputs(Model model) {
        try (NDManager m = NDManager.newBaseManager()) {
            return model.getBlock()
                    .forward(new ParameterStore(m, false), new NDList(MoeTestSupport.randomInput(m, 3, 4, 3, 32, 32)), false)
                    .singletonOrThrow()
                    .toFloatArray();
        }
    }

    private static Path parameterFile(Path dir) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".params")).findFirst().orElseThrow();
        }
    }

    private static void editManifest(Path dir, java.util.function.Consumer<JsonObject> edit) throws IOException {
        Path file = dir.resolve(ModelFiles.MANIFEST_FILE);
        JsonObject json = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        edit.accept(json);
        Files.writeString(file, json.toString(), StandardCharsets.UTF_8);
    }

    @Test
    void load_parametersReplacedByRandomBytes_refusedNamingTheFileAndBothHashes(@TempDir Path dir) throws Exception {
        try (Model model = newModel(1)) {
            ModelFiles.save(model, dir, Map.of());
        }
        Path params = parameterFile(dir);
        String recorded = ModelFiles.readManifest(dir).sha256().orElseThrow();
        assertThat(recorded).isEqualTo(ModelFiles.sha256(params)).hasSize(64);
        byte[] random = new byte[(int) Files.size(params)];
        new Random(7).nextBytes(random);
        Files.write(params, random);
        String actual = ModelFiles.sha256(params);

        assertThatThrownBy(() -> ModelFiles.load(dir))
                .isInstanceOf(IOException.class)
                .hasMessageContaining(params.toString())
                .hasMessageContaining("recorded sha256 " + recorded)
                .hasMessageContaining("file sha256 " + actual)
                .hasMessageContaining("does not match the checksum");
        assertThatThrownBy(() -> ModelFiles.verify(dir)).hasMessageContaining(recorded).hasMessageContaining(actual);
    }

    @Test
    void load_parametersOfAnotherModel_refused(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        try (Model first = newModel(1); Model second = newModel(2)) {
            ModelFiles.save(first, a, Map.of());
            ModelFiles.save(second, b, Map.of());
        }
        // a valid DJL parameter file of the same architecture, but not the one the manifest records
        Files.copy(parameterFile(b), parameterFile(a), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        assertThatThrownBy(() -> ModelFiles.load(a)).hasMessageContaining("does not match the checksum");
        assertThat(ModelFiles.verify(b).sha256()).isPresent();
    }

    @Test
    void load_missingParameterFile_namesIt(@TempDir Path dir) throws Exception {
        try (Model model = newModel(1)) {
            ModelFiles.save(model, dir, Map.of());
        }
        Path params = parameterFile(dir);
        Files.delete(params);
        assertThatThrownBy(() -> ModelFiles.load(dir))
                .isInstanceOf(NoSuchFileException.class)
                .hasMessageContaining(params.toString())
                .hasMessageContaining("is missing");
    }

    @Test
    void saveLoad_restoresLethePropertiesAndExpertMasks_andRecordsVersionAndTime(@TempDir Path dir) throws Exception {
        float[] before;
        String layerName;
        String initialValues;
        Instant start = Instant.now().minusSeconds(1);
        try (Model model = newModel(3)) {
            model.setProperty("lethe.recipe", "{\"epochs\":3}");
            model.setProperty("lethe.forgottenClasses", "2,4");
            model.setProperty("other.key", "not saved in the manifest");
            initialValues = model.getProperty(dev.lethe.moe.InitialValues.MODEL_PROPERTY); // an untrained model's proof
            MoeResNet net = (MoeResNet) model.getBlock();
            layerName = net.moeLayerNames().get(1);
            net.moeLayers().get(1).maskExpert(2, true);
            before = outputs(model);
            ModelFiles.save(model, dir, Map.of("dataset", "tiny"));
        }
        ModelFiles.Manifest manifest = ModelFiles.readManifest(dir);
        assertThat(manifest.formatVersion()).isEqualTo(ModelFiles.FORMAT_VERSION).isEqualTo(2);
        assertThat(manifest.letheVersion()).contains(ModelFiles.libraryVersion());
        assertThat(Instant.parse(manifest.created().orElseThrow())).isBetween(start, Instant.now().plusSeconds(1));
        assertThat(manifest.properties())
                .containsExactlyInAnyOrderEntriesOf(Map.of("lethe.recipe", "{\"epochs\":3}", "lethe.forgottenClasses", "2,4",
                        dev.lethe.moe.InitialValues.MODEL_PROPERTY, initialValues));
        assertThat(manifest.expertMasks()).containsEntry(layerName, List.of(2)).hasSize(2);
        assertThat(manifest.metadata()).containsExactlyEntriesOf(Map.of("dataset", "tiny"));
        assertThat(manifest.config()).isEqualTo(tiny(0));

        try (Model loaded = ModelFiles.load(dir)) {
            assertThat(loaded.getProperty("lethe.recipe")).isEqualTo("{\"epochs\":3}");
            assertThat(loaded.getProperty("lethe.forgottenClasses")).isEqualTo("2,4");
            MoeBlock layer = ((MoeResNet) loaded.getBlock()).moeLayers().get(1);
            assertThat(layer.isExpertMasked(2)).isTrue();
            assertThat(layer.isExpertMasked(0)).isFalse();
            assertThat(((MoeResNet) loaded.getBlock()).moeLayers().get(0).isExpertMasked(2)).isFalse();
            assertThat(outputs(loaded)).containsExactly(before);
        }
    }

    @Test
    void save_intoADirectoryHoldingAModel_replacesIt(@TempDir Path dir) throws Exception {
        float[] second;
        try (Model a = newModel(1); Model b = newModel(2)) {
            ModelFiles.save(a, dir, Map.of("which", "a"));
            second = outputs(b);
            ModelFiles.save(b, dir, Map.of("which", "b"));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder("lethe-moe-resnet-0000.params", ModelFiles.MANIFEST_FILE);
        }
        try (Model loaded = ModelFiles.load(dir)) {
            assertThat(outputs(loaded)).containsExactly(second);
        }
        assertThat(ModelFiles.readMetadata(dir)).containsEntry("which", "b");
    }

    @Test
    void load_formatOneWithoutChecksum_loadsUnverified_andVerifyRefuses(@TempDir Path dir) throws Exception {
        float[] before;
        try (Model model = newModel(4)) {
            before = outputs(model);
            ModelFiles.save(model, dir, Map.of("seed", "4"));
        }
        Path file = dir.resolve(ModelFiles.MANIFEST_FILE);
        JsonObject json = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        JsonObject v1 = new JsonObject();
        v1.add("name", json.get("name"));
        v1.add("config", json.get("config"));
        v1.add("metadata", json.get("metadata"));
        Files.writeString(file, v1.toString(), StandardCharsets.UTF_8);

        ModelFiles.Manifest manifest = ModelFiles.readManifest(dir);
        assertThat(manifest.formatVersion()).isEqualTo(1);
        assertThat(manifest.sha256()).isEmpty();
        assertThat(manifest.metadata()).containsEntry("seed", "4");
        try (Model loaded = ModelFiles.load(dir)) {
            assertThat(outputs(loaded)).containsExactly(before);
        }
        assertThatThrownBy(() -> ModelFiles.verify(dir)).hasMessageContaining("format 1")
                .hasMessageContaining("no checksum");
    }

    @Test
    void load_newerFormat_refusedNamingBothVersions(@TempDir Path dir) throws Exception {
        try (Model model = newModel(1)) {
            ModelFiles.save(model, dir, Map.of());
        }
        editManifest(dir, json -> json.addProperty("formatVersion", 3));
        assertThatThrownBy(() -> ModelFiles.load(dir))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("is format 3")
                .hasMessageContaining("reads formats 1 to 2");
    }

    @Test
    void load_maskOfAnUnknownLayer_isACorruptManifest(@TempDir Path dir) throws Exception {
        try (Model model = newModel(1)) {
            ModelFiles.save(model, dir, Map.of());
        }
        editManifest(dir, json -> json.getAsJsonObject("expertMasks").add("no/such/layer", JsonParser.parseString("[0]")));
        assertThatThrownBy(() -> ModelFiles.load(dir)).isInstanceOf(IOException.class)
                .hasMessageContaining("no/such/layer");
    }
}
