package dev.lethe.examples;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.Map;

/** The example programs' arguments: {@code --name value} pairs, with defaults. */
final class ExampleArgs {

    /** The real CIFAR-10 archive, relative to the repository root. */
    static final String DEFAULT_DATA = "../shared/data/cifar-10-binary.tar.gz";

    private final Map<String, String> values = new HashMap<>();

    ExampleArgs(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("expected --name value pairs, got '" + args[i] + "'");
            }
            values.put(args[i].substring(2), args[++i]);
        }
        // every program that touches DJL runs offline (docs/djl.md rule 1)
        System.setProperty("ai.djl.offline", "true");
    }

    String get(String name, String fallback) {
        return values.getOrDefault(name, fallback);
    }

    int getInt(String name, int fallback) {
        return Integer.parseInt(get(name, String.valueOf(fallback)));
    }

    Path getPath(String name, String fallback) {
        return Paths.get(get(name, fallback));
    }
}
