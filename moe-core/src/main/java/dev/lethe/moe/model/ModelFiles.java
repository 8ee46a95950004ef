package dev.lethe.moe.model;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.hash.Hashing;
import com.google.common.io.MoreFiles;
import com.google.common.io.RecursiveDeleteOption;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The files of a saved {@link MoeResNet}: DJL's parameter file and the manifest {@value
 * #MANIFEST_FILE}. {@link MoeResNet#save} and {@link MoeResNet#load} delegate here.
 *
 * <p>The manifest (format {@value #FORMAT_VERSION}) records:
 *
 * <pre>{@code
 * {
 *   "formatVersion": 2,
 *   "name": "lethe-moe-resnet",                       // DJL's model name, the parameter file's prefix
 *   "letheVersion": "0.1.0-SNAPSHOT",                 // the library that wrote the files
 *   "created": "2025-01-31T12:00:00Z",                // when (UTC, seconds)
 *   "config": { ... },                                // MoeResNet.Config
 *   "parameters": { "file": "lethe-moe-resnet-0000.params", "sha256": "9f86d0…" },
 *   "properties": { "lethe.recipe": "{...}", "lethe.forgottenClasses": "3" },
 *   "expertMasks": { "01features/06MoeBlock": [1, 5] },  // masked experts per MoE layer
 *   "metadata": { "dataset": "CIFAR-10", ... }        // the caller's strings, kept as given
 * }
 * }</pre>
 *
 * <p>What is restored on {@link #load}: the parameters (after their SHA-256 is checked against
 * the manifest: a changed, truncated or replaced parameter file is refused, and the message names
 * the file and both hashes), every model property whose key starts with {@value
 * #PROPERTY_PREFIX} (the recipe a model was trained with, the classes it has forgotten, ...), and
 * the expert masks of every {@link MoeBlock}.
 *
 * <p>Older files: a manifest without {@code formatVersion} is format 1 (written before the
 * checksum existed). It is loaded, with a warning logged, because its parameters cannot be checked;
 * save the model again to add the checksum. {@link Manifest#sha256()} is empty for such a model,
 * so a caller that must not accept unverified parameters can refuse it. A manifest of a newer format
 * than this library reads is refused.
 */
public final class ModelFiles {

    /** The manifest file of a model directory. */
    public static final String MANIFEST_FILE = "lethe-model.json";
    /** The manifest format this library writes (and the newest it reads). */
    public static final int FORMAT_VERSION = 2;
    /** Model properties with keys starting with this prefix are saved in the manifest and restored. */
    public static final String PROPERTY_PREFIX = "lethe.";

    private static final Logger LOGGER = LoggerFactory.getLogger(ModelFiles.class);
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
    private static final Pattern PARAMETER_FILE = Pattern.compile("(.+)-(\\d{4})\\.params");
    private static final String FIXED_EPOCH = "0000";

    private ModelFiles() {}

    /**
     * Saves a model built with {@link MoeResNet#newModel}: DJL's parameter file ({@code
     * <name>-0000.params}) plus the manifest. Saving into a directory that already holds a model
     * replaces it (the parameter file first, then the manifest, each by an atomic rename; a crash
     * in between leaves a manifest whose checksum no longer matches, which {@link #load} refuses).
     *
     * @param model the model; its block must be a {@link MoeResNet}
     * @param directory the directory, created if needed
     * @param metadata extra string properties recorded as given (may be null or empty)
     * @throws IOException if writing fails
     * @throws IllegalArgumentException if the model's block is not a {@link MoeResNet}
     */
    public static void save(Model model, Path directory, Map<String, String> metadata) throws IOException {
        Preconditions.checkNotNull(model, "model must not be null");
        Preconditions.checkNotNull(directory, "directory must not be null");
        Preconditions.checkArgument(
                model.getBlock() instanceof MoeResNet,
                "the model's block is a %s, not a MoeResNet",
                model.getBlock() == null ? "null" : model.getBlock().getClass().getSimpleName());
        MoeResNet net = (MoeResNet) model.getBlock();
        Files.createDirectories(directory);
        String name = model.getName();
        Path parameterFile = directory.resolve(name + "-" + FIXED_EPOCH + ".params");
        Path staging = Files.createTempDirectory(directory, ".saving-");
        try {
            model.save(staging, name);
            Path written;
            try (Stream<Path> files = Files.list(staging)) {
                written = files.filter(p -> p.getFileName().toString().endsWith(".params"))
                        .findFirst()
                        .orElseThrow(() -> new IOException("DJL wrote no parameter file into " + staging));
            }
            Files.move(written, parameterFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            MoreFiles.deleteRecursively(staging, RecursiveDeleteOption.ALLOW_INSECURE);
        }

        Manifest m = new Manifest();
        m.formatVersion = FORMAT_VERSION;
        m.name = name;
        m.letheVersion = libraryVersion();
        m.created = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        m.config = net.config();
        m.parameters = new ParameterFile();
        m.parameters.file = parameterFile.getFileName().toString();
        m.parameters.sha256 = sha256(parameterFile);
        m.properties = new LinkedHashMap<>();
        model.getProperties().entrySet().stream()
                .filter(e -> e.getKey().startsWith(PROPERTY_PREFIX))
                .sorted(Map.Entry.comparingByKey())
                .forEach(e -> m.properties.put(e.getKey(), e.getValue()));
        m.expertMasks = new LinkedHashMap<>();
        for (Map.Entry<String, MoeBlock> layer : MoeBlocks.find(net).entrySet()) {
            List<Integer> masked = new ArrayList<>();
            for (int i = 0; i < layer.getValue().getNumExperts(); i++) {
                if (layer.getValue().isExpertMasked(i)) {
                    masked.add(i);
                }
            }
            m.expertMasks.put(layer.getKey(), masked);
        }
        m.metadata = metadata == null ? new LinkedHashMap<>() : new LinkedHashMap<>(metadata);
        Path tmp = directory.resolve(MANIFEST_FILE + ".tmp");
        Files.writeString(tmp, GSON.toJson(m), StandardCharsets.UTF_8);
        Files.move(tmp, directory.resolve(MANIFEST_FILE), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * Loads a model saved with {@link #save}: checks the parameter file against the manifest's
     * SHA-256, loads the parameters (the outputs are bit-identical to the saved model's), and
     * restores the {@value #PROPERTY_PREFIX} properties and the expert masks.
     *
     * @param directory the directory
     * @return the model; the caller closes it
     * @throws NoSuchFileException if the directory holds no manifest
     * @throws IOException if the manifest is corrupt or of a newer format, the parameter file is
     *     missing, does not match its checksum (the message names the file and both hashes) or
     *     cannot be read
     */
    public static Model load(Path directory) throws IOException {
        Manifest m = readManifest(directory);
        Map<String, Object> options = new LinkedHashMap<>();
        if (m.formatVersion >= 2) {
            checkParameters(directory, m);
            Matcher matcher = PARAMETER_FILE.matcher(m.parameters.file);
            Preconditions.checkState(matcher.matches(), "checked by readManifest");
            options.put("epoch", Integer.parseInt(matcher.group(2)));
        } else {
            LOGGER.warn(
                    "{} in {} is format 1 and records no checksum of the parameters: they are loaded"
                            + " unverified. Save the model again to record one.",
                    MANIFEST_FILE,
                    directory);
        }
        Model model = MoeResNet.newModel(m.config);
        try {
            model.load(directory, m.name, options);
            for (Map.Entry<String, String> p : m.properties().entrySet()) {
                model.setProperty(p.getKey(), p.getValue());
            }
            restoreMasks(model, m, directory);
        } catch (MalformedModelException | IOException | RuntimeException e) {
            model.close();
            throw new IOException(
                    "cannot load the parameters of " + m.name + " from " + directory + ": " + e.getMessage(), e);
        }
        return model;
    }

    /**
     * Checks a saved model's parameter file against the checksum in its manifest, without loading
     * it.
     *
     * @param directory the model directory
     * @return the manifest, whose {@link Manifest#sha256()} the file matches
     * @throws IOException if the manifest is missing or corrupt, records no checksum (format 1), or
     *     the parameter file is missing or does not match (the message names the file and both
     *     hashes)
     */
    public static Manifest verify(Path directory) throws IOException {
        Manifest m = readManifest(directory);
        if (m.formatVersion < 2) {
            throw new IOException(MANIFEST_FILE + " in " + directory
                    + " is format 1 and records no checksum of the parameters: nothing to verify against"
                    + " (save the model again to record one)");
        }
        checkParameters(directory, m);
        return m;
    }

    /**
     * Reads the metadata saved with a model.
     *
     * @param directory the model directory
     * @return the metadata map, in file order
     * @throws IOException if the manifest is missing or unreadable
     */
    public static Map<String, String> readMetadata(Path directory) throws IOException {
        return readManifest(directory).metadata();
    }

    /**
     * Reads and checks the manifest of a model directory (not the parameters).
     *
     * @param directory the model directory
     * @return the manifest
     * @throws NoSuchFileException if there is no manifest; the message says so
     * @throws IOException if it is corrupt or of a newer format than {@value #FORMAT_VERSION}
     */
    public static Manifest readManifest(Path directory) throws IOException {
        Preconditions.checkNotNull(directory, "directory must not be null");
        Path file = directory.resolve(MANIFEST_FILE);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(
                    file.toString(), null, "not a Lethe model directory: " + MANIFEST_FILE + " is missing");
        }
        Manifest m;
        try {
            m = GSON.fromJson(Files.readString(file, StandardCharsets.UTF_8), Manifest.class);
            Preconditions.checkArgument(m != null && m.config != null, "no config");
            if (m.formatVersion == 0) {
                m.formatVersion = 1; // written before the field existed
            }
            Preconditions.checkArgument(m.name != null && !m.name.isBlank(), "no model name");
            m.config.validate();
            if (m.formatVersion >= 2 && m.formatVersion <= FORMAT_VERSION) {
                Preconditions.checkArgument(
                        m.parameters != null && m.parameters.file != null && m.parameters.sha256 != null,
                        "format %s needs \"parameters\": {\"file\", \"sha256\"}",
                        m.formatVersion);
                Preconditions.checkArgument(
                        PARAMETER_FILE.matcher(m.parameters.file).matches()
                                && !m.parameters.file.contains("/") && !m.parameters.file.contains("\\"),
                        "parameters.file '%s' is not a parameter file name like NAME-0000.params",
                        m.parameters.file);
            }
        } catch (JsonParseException | IllegalArgumentException | IllegalStateException e) {
            throw new IOException("corrupt model configuration " + file + ": " + e.getMessage(), e);
        }
        if (m.formatVersion > FORMAT_VERSION) {
            throw new IOException(String.format(
                    Locale.ROOT,
                    "%s is format %d, written by a newer Lethe (%s); this one (%s) reads formats 1 to %d",
                    file, m.formatVersion, m.letheVersion, libraryVersion(), FORMAT_VERSION));
        }
        return m;
    }

    /**
     * The version of this library, from the Maven metadata of the moe-core jar, or {@code
     * "development"} when it runs from compiled classes (e.g. inside the build).
     *
     * @return the version, e.g. {@code "0.1.0-SNAPSHOT"}
     */
    public static String libraryVersion() {
        try (InputStream in =
                ModelFiles.class.getResourceAsStream("/META-INF/maven/dev.lethe/moe-core/pom.properties")) {
            if (in != null) {
                Properties p = new Properties();
                p.load(in);
                return p.getProperty("version", "development");
            }
        } catch (IOException e) {
            // fall through: the version is informative only
        }
        String manifestVersion = ModelFiles.class.getPackage().getImplementationVersion();
        return manifestVersion != null ? manifestVersion : "development";
    }

    /**
     * The SHA-256 of a file, as 64 lower-case hex digits.
     *
     * @param file the file
     * @return its hash
     * @throws IOException if it cannot be read
     */
    public static String sha256(Path file) throws IOException {
        return MoreFiles.asByteSource(file).hash(Hashing.sha256()).toString();
    }

    private static void checkParameters(Path directory, Manifest m) throws IOException {
        Path file = directory.resolve(m.parameters.file);
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null,
                    "the parameter file named in " + MANIFEST_FILE + " is missing");
        }
        String actual = sha256(file);
        if (!actual.equalsIgnoreCase(m.parameters.sha256)) {
            throw new IOException(String.format(
                    Locale.ROOT,
                    "cannot load the parameters of %s from %s: the parameter file %s does not match the checksum"
                            + " recorded in %s (recorded sha256 %s, file sha256 %s): it was changed or replaced"
                            + " after the model was saved",
                    m.name, directory, file, MANIFEST_FILE, m.parameters.sha256, actual));
        }
    }

    private static void restoreMasks(Model model, Manifest m, Path directory) {
        Map<String, MoeBlock> layers = MoeBlocks.find(model.getBlock());
        for (Map.Entry<String, List<Integer>> e : m.expertMasks().entrySet()) {
            MoeBlock layer = layers.get(e.getKey());
            Preconditions.checkArgument(
                    layer != null,
                    "%s in %s masks experts of MoE layer '%s', which the model does not have (layers %s)",
                    MANIFEST_FILE, directory, e.getKey(), layers.keySet());
            for (int i = 0; i < layer.getNumExperts(); i++) {
                layer.maskExpert(i, false);
            }
            for (int i : e.getValue()) {
                layer.maskExpert(i, true);
            }
        }
    }

    /**
     * The manifest of a saved model ({@value #MANIFEST_FILE}), as read by {@link #readManifest}.
     * Immutable to callers.
     */
    public static final class Manifest {
        private int formatVersion;
        private String name;
        private String letheVersion;
        private String created;
        private MoeResNet.Config config;
        private ParameterFile parameters;
        private Map<String, String> properties;
        private Map<String, List<Integer>> expertMasks;
        private Map<String, String> metadata;

        private Manifest() {}

        /** @return the format: 1 for files without a {@code formatVersion} (no checksum), else 2 */
        public int formatVersion() {
            return formatVersion;
        }

        /** @return DJL's model name, the prefix of the parameter file */
        public String name() {
            return name;
        }

        /** @return the Lethe version that wrote the files; empty for format 1 */
        public Optional<String> letheVersion() {
            return Optional.ofNullable(letheVersion);
        }

        /** @return when the files were written (ISO-8601, UTC); empty for format 1 */
        public Optional<String> created() {
            return Optional.ofNullable(created);
        }

        /** @return the architecture */
        public MoeResNet.Config config() {
            return config;
        }

        /** @return the parameter file's name inside the directory; empty for format 1 */
        public Optional<String> parameterFile() {
            return parameters == null ? Optional.empty() : Optional.ofNullable(parameters.file);
        }

        /** @return the recorded SHA-256 of the parameter file (64 hex digits); empty for format 1 */
        public Optional<String> sha256() {
            return parameters == null ? Optional.empty() : Optional.ofNullable(parameters.sha256);
        }

        /** @return the saved {@value ModelFiles#PROPERTY_PREFIX} model properties */
        public Map<String, String> properties() {
            return properties == null ? ImmutableMap.of() : ImmutableMap.copyOf(properties);
        }

        /** @return the masked experts of each MoE layer, by the layer's path (see {@link MoeBlocks#find}) */
        public Map<String, List<Integer>> expertMasks() {
            if (expertMasks == null) {
                return ImmutableMap.of();
            }
            ImmutableMap.Builder<String, List<Integer>> b = ImmutableMap.builder();
            expertMasks.forEach((k, v) -> b.put(k, v == null ? ImmutableList.of() : ImmutableList.copyOf(v)));
            return b.build();
        }

        /** @return the caller's metadata */
        public Map<String, String> metadata() {
            return metadata == null ? ImmutableMap.of() : ImmutableMap.copyOf(metadata);
        }
    }

    /** The manifest's record of the parameter file. */
    private static final class ParameterFile {
        String file;
        String sha256;
    }
}
