package dev.lethe.examples.protocol;

import com.google.common.base.Preconditions;
import com.google.common.hash.Hashing;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;

/**
 * The protocol's records, one JSON file per evaluated run in a folder, keyed by what made the run
 * ({@link #key}): a rerun with the same configuration reads the record instead of running again.
 * The models themselves are in the command line's {@link dev.lethe.examples.cli.ModelCache}.
 * Files are written to a temporary name and renamed, so an interrupted run leaves no half record.
 */
final class RunCache {

    private static final Gson PRETTY = new GsonBuilder().setPrettyPrinting().serializeSpecialFloatingPointValues().create();

    private final Path folder;

    /** @param folder where the records go (created when the first is stored) */
    RunCache(Path folder) {
        this.folder = Preconditions.checkNotNull(folder, "folder must not be null");
    }

    /**
     * A record's key: the kind, then the first 12 hex digits of the SHA-256 of every part's text.
     *
     * @param kind what the record is, e.g. {@code "run"}, {@code "retrain"}, {@code "tune"}
     * @param parts what made it (configurations as JSON or text, class, seed, …)
     * @return e.g. {@code "run-3f9a0c1d2e4b"}
     */
    static String key(String kind, Object... parts) {
        StringBuilder sb = new StringBuilder(kind);
        for (Object p : parts) {
            sb.append('|').append(p);
        }
        return kind + "-" + Hashing.sha256().hashString(sb, StandardCharsets.UTF_8).toString().substring(0, 12);
    }

    /**
     * @param key a key from {@link #key}
     * @return the record stored under it, if any
     * @throws IOException if it cannot be read
     */
    Optional<JsonObject> get(String key) throws IOException {
        Path p = folder.resolve(key + ".json");
        return Files.isRegularFile(p)
                ? Optional.of(JsonParser.parseString(Files.readString(p, StandardCharsets.UTF_8)).getAsJsonObject())
                : Optional.empty();
    }

    /**
     * Stores a record, replacing the one under the same key.
     *
     * @param key a key from {@link #key}
     * @param record the record
     * @throws IOException if it cannot be written
     */
    void put(String key, JsonObject record) throws IOException {
        Files.createDirectories(folder);
        write(folder.resolve(key + ".json"), PRETTY.toJson(record));
    }

    /**
     * Writes a text file atomically: to {@code <file>.tmp}, then renamed over the file.
     *
     * @param target the file
     * @param text its content (UTF-8)
     * @throws IOException if writing fails
     */
    static void write(Path target, String text) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
