package dev.lethe.cifar;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.common.hash.Hashing;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The download logic on local file:// URLs only: no network in tests. */
class CifarDownloadTest {
    @TempDir Path dir;

    private Path source(int size) throws IOException {
        byte[] bytes = new byte[size];
        new Random(1).nextBytes(bytes);
        return Files.write(dir.resolve("source.tar.gz"), bytes);
    }

    @SuppressWarnings("deprecation") // md5 is what the official site publishes
    private static String md5(Path file) throws IOException {
        return Hashing.md5().hashBytes(Files.readAllBytes(file)).toString();
    }

    private static long filesIn(Path folder) throws IOException {
        try (Stream<Path> files = Files.list(folder)) {
            return files.count();
        }
    }

    @Test
    void fetch_rightMd5_renamesIntoPlaceAndShowsProgress() throws IOException {
        Path source = source(300_000);
        Path cache = dir.resolve("cache");
        Path target = cache.resolve("cifar-10-binary.tar.gz");
        ByteArrayOutputStream progress = new ByteArrayOutputStream();

        Path got = CifarDownload.fetch(source.toUri(), target, md5(source), new PrintStream(progress, true,
                StandardCharsets.UTF_8));

        assertThat(got).isEqualTo(target);
        assertThat(Files.readAllBytes(target)).isEqualTo(Files.readAllBytes(source));
        assertThat(filesIn(cache)).as("no temporary file is left").isEqualTo(1);
        assertThat(progress.toString(StandardCharsets.UTF_8)).contains("100%").contains("0.3/0.3 MB");
    }

    @Test
    void fetch_wrongMd5_throwsAndLeavesNothing() throws IOException {
        Path source = source(1000);
        Path cache = dir.resolve("cache");
        Path target = cache.resolve("cifar-10-binary.tar.gz");

        assertThatThrownBy(() -> CifarDownload.fetch(source.toUri(), target, "0".repeat(32),
                        new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8)))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("has md5 " + md5(source) + ", expected 00000000");
        assertThat(target).doesNotExist();
        assertThat(filesIn(cache)).isZero();
    }

    @Test
    void fetch_targetPresent_isKeptWithoutReading() throws IOException {
        Path target = Files.write(dir.resolve("cifar-10-binary.tar.gz"), new byte[] {1, 2, 3});

        Path got = CifarDownload.fetch(dir.resolve("absent").toUri(), target, "x", System.err);

        assertThat(got).isEqualTo(target);
        assertThat(Files.readAllBytes(target)).containsExactly(1, 2, 3);
    }

    @Test
    void fetch_missingSource_throwsAndLeavesNothing() throws IOException {
        Path cache = Files.createDirectories(dir.resolve("cache"));

        assertThatThrownBy(() -> CifarDownload.fetch(dir.resolve("absent").toUri(), cache.resolve("a.tar.gz"),
                        "x", System.err))
                .isInstanceOf(IOException.class);
        assertThat(filesIn(cache)).isZero();
    }
}
