package dev.lethe.examples;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/**
 * Writes a tiny CIFAR-10 in the official binary layout (folder {@code cifar-10-batches-bin} with
 * {@code data_batch_1..5.bin}, {@code test_batch.bin}, {@code batches.meta.txt}; records of 1 label
 * byte + 3,072 pixel bytes), so tests never need the real data. Image i has label i mod 10 and a
 * red-channel brightness that grows with the label, so the classes are learnable.
 */
public final class SyntheticCifar {

    /** The real CIFAR-10 class names, in id order. */
    public static final String[] CLASSES = {
        "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"
    };

    private SyntheticCifar() {}

    /**
     * @param root a folder; the data goes to {@code root/cifar-10-batches-bin}
     * @param recordsPerFile images per batch file (6 files: 5 train, 1 test)
     * @return {@code root}, which {@code CifarData.load} accepts
     * @throws IOException if writing fails
     */
    public static Path write(Path root, int recordsPerFile) throws IOException {
        Path dir = Files.createDirectories(root.resolve("cifar-10-batches-bin"));
        Random random = new Random(42);
        for (int f = 1; f <= 6; f++) {
            byte[] bytes = new byte[recordsPerFile * 3073];
            for (int i = 0; i < recordsPerFile; i++) {
                int label = (i + f) % 10;
                int base = i * 3073;
                bytes[base] = (byte) label;
                for (int p = 0; p < 3072; p++) {
                    int v = p < 1024 ? 20 * label + random.nextInt(40) : random.nextInt(256);
                    bytes[base + 1 + p] = (byte) v;
                }
            }
            String name = f <= 5 ? "data_batch_" + f + ".bin" : "test_batch.bin";
            Files.write(dir.resolve(name), bytes);
        }
        Files.writeString(dir.resolve("batches.meta.txt"), String.join("\n", CLASSES) + "\n\n",
                StandardCharsets.US_ASCII);
        return root;
    }

    /**
     * Writes the same data as {@link #write} as the official {@code cifar-10-binary.tar.gz}.
     *
     * @param archive the archive file to write
     * @param recordsPerFile images per batch file
     * @return {@code archive}
     * @throws IOException if writing fails
     */
    public static Path writeArchive(Path archive, int recordsPerFile) throws IOException {
        Path folder = write(Files.createTempDirectory("synthetic-cifar"), recordsPerFile).resolve("cifar-10-batches-bin");
        try (OutputStream file = Files.newOutputStream(archive);
                GzipCompressorOutputStream gzip = new GzipCompressorOutputStream(file);
                TarArchiveOutputStream tar = new TarArchiveOutputStream(gzip);
                Stream<Path> members = Files.list(folder)) {
            for (Path member : (Iterable<Path>) members.sorted()::iterator) {
                byte[] bytes = Files.readAllBytes(member);
                TarArchiveEntry entry = new TarArchiveEntry("cifar-10-batches-bin/" + member.getFileName());
                entry.setSize(bytes.length);
                tar.putArchiveEntry(entry);
                tar.write(bytes);
                tar.closeArchiveEntry();
            }
        }
        return archive;
    }
}
