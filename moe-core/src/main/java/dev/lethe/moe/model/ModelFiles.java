package dev.lethe.moe.model;

import ai.djl.MalformedModelException;
import ai.djl.Model;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableMap;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParseException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The files of a saved {@link MoeResNet}: DJL's parameter file and {@code lethe-model.json} (the
 * configuration and string metadata). Reached through {@link MoeResNet#save} and {@link
 * MoeResNet#load}.
 */
final class ModelFiles {

    static final String CONFIG_FILE = "lethe-model.json";
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    private ModelFiles() {}

    /**
     * Saves a model built with {@link MoeResNet#newModel}: DJL's parameter file plus the
     * configuration as JSON ({@code lethe-model.json}) in the directory.
     *
     * @param model the model; its block must be a {@link MoeResNet}
     * @param directory the directory, created if needed
     * @param metadata extra string properties recorded next to the configuration (may be empty)
     * @throws IOException if writing fails
     */
    static void save(Model model, Path directory, Map<String, String> metadata)
            throws IOException {
        Preconditions.checkArgument(
                model.getBlock() instanceof MoeResNet,
                "the model's block is a %s, not a MoeResNet",
                model.getBlock() == null ? "null" : model.getBlock().getClass().getSimpleName());
        MoeResNet net = (MoeResNet) model.getBlock();
        Files.createDirectories(directory);
        model.save(directory, model.getName());
        Saved saved = new Saved();
        saved.name = model.getName();
        saved.config = net.config();
        saved.metadata = metadata == null ? ImmutableMap.of() : ImmutableMap.copyOf(metadata);
        Path tmp = directory.resolve(CONFIG_FILE + ".tmp");
        Files.writeString(tmp, GSON.toJson(saved), StandardCharsets.UTF_8);
        Files.move(tmp, directory.resolve(CONFIG_FILE), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * Loads a model saved with {@link #save(Model, Path, Map)}; the outputs are bit-identical to
     * the saved model's.
     *
     * @param directory the directory
     * @return the model; the caller closes it
     * @throws IOException if the directory, the configuration or the parameters are missing or
     *     corrupt (the message names the file)
     */
    static Model load(Path directory) throws IOException {
        Path configFile = directory.resolve(CONFIG_FILE);
        if (!Files.isRegularFile(configFile)) {
            throw new NoSuchFileException(
                    configFile.toString(),
                    null,
                    "not a Lethe model directory: " + CONFIG_FILE + " is missing");
        }
        Saved saved;
        try {
            saved = GSON.fromJson(Files.readString(configFile, StandardCharsets.UTF_8), Saved.class);
            Preconditions.checkArgument(saved != null && saved.config != null, "no config");
            saved.config.validate();
        } catch (JsonParseException | IllegalArgumentException e) {
            throw new IOException("corrupt model configuration " + configFile + ": " + e.getMessage(), e);
        }
        Model model = MoeResNet.newModel(saved.config);
        try {
            model.load(directory, saved.name);
        } catch (MalformedModelException | IOException | RuntimeException e) {
            model.close();
            throw new IOException(
                    "cannot load the parameters of " + saved.name + " from " + directory + ": " + e.getMessage(), e);
        }
        return model;
    }

    /**
     * Reads the metadata saved with a model.
     *
     * @param directory the model directory
     * @return the metadata map
     * @throws IOException if the configuration file is missing or unreadable
     */
    static Map<String, String> readMetadata(Path directory) throws IOException {
        Saved saved =
                GSON.fromJson(
                        Files.readString(directory.resolve(CONFIG_FILE), StandardCharsets.UTF_8),
                        Saved.class);
        return saved.metadata == null ? ImmutableMap.of() : ImmutableMap.copyOf(saved.metadata);
    }

    /** What is written to {@code lethe-model.json}. */
    private static final class Saved {
        String name;
        MoeResNet.Config config;
        Map<String, String> metadata;
    }
}
