package dev.lethe.cifar;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorOutputStream;

/**
 * Small CIFAR data sets in the official binary layout, made by the tests themselves. Image {@code i}
 * of a part (train or test) has label {@code i % 10} (CIFAR-10) or fine label {@code i % 100} and
 * coarse label {@code (i % 100) / 5} (CIFAR-100), and pixel bytes that encode {@code i} (see {@link
 * #pixel}).
 */
final class SyntheticCifar {
    static final List<String> CIFAR10_NAMES = List.of(
            "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck");

    private SyntheticCifar() {}

    /** Pixel byte {@code k} (0..3071) of image {@code i} of a part; test images are offset by 7. */
    static int pixel(int i, int k, boolean test) {
        if (k == 0) {
            return i & 0xff;
        }
        if (k == 1) {
            return (i >> 8) & 0xff;
        }
        return (i * 31 + k * 7 + (test ? 7 : 0)) & 0xff;
    }

    /** Recovers the image number from the first two bytes of a decoded image scaled by 255. */
    static int imageNumber(float[] image, int offset) {
        return Math.round(image[offset] * 255) + 256 * Math.round(image[offset + 1] * 255);
    }

    static int fineLabel(CifarVariant variant, int i) {
        return variant == CifarVariant.CIFAR10 ? i % 10 : i % 100;
    }

    static int coarseLabel(int i) {
        return (i % 100) / 5;
    }

    static int label(CifarVariant variant, LabelMode mode, int i) {
        return mode == LabelMode.COARSE ? coarseLabel(i) : fineLabel(variant, i);
    }

    /** {@code count} records of a part, images {@code first .. first + count - 1}. */
    static byte[] records(CifarVariant variant, int first, int count, boolean test) {
        int recordBytes = variant.recordBytes();
        byte[] out = new byte[count * recordBytes];
        for (int r = 0; r < count; r++) {
            int i = first + r;
            int at = r * recordBytes;
            if (variant == CifarVariant.CIFAR100) {
                out[at++] = (byte) coarseLabel(i);
            }
            out[at++] = (byte) fineLabel(variant, i);
            for (int k = 0; k < CifarVariant.IMAGE_BYTES; k++) {
                out[at + k] = (byte) pixel(i, k, test);
            }
        }
        return out;
    }

    static List<String> fineNames(CifarVariant variant) {
        if (variant == CifarVariant.CIFAR10) {
            return CIFAR10_NAMES;
        }
        List<String> names = new ArrayList<>();
        for (int c = 0; c < 100; c++) {
            names.add(String.format("fine%02d", c));
        }
        return names;
    }

    static List<String> coarseNames() {
        List<String> names = new ArrayList<>();
        for (int c = 0; c < 20; c++) {
            names.add(String.format("coarse%02d", c));
        }
        return names;
    }

    static byte[] text(List<String> lines) {
        return (String.join("\n", lines) + "\n\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The files of a data set, by name inside the data folder: {@code trainCount} training images
     * spread evenly over the train files, and {@code testCount} test images.
     */
    static Map<String, byte[]> files(CifarVariant variant, int trainCount, int testCount) {
        Map<String, byte[]> files = new LinkedHashMap<>();
        List<String> trainFiles = variant.trainFiles();
        int per = trainCount / trainFiles.size();
        for (int f = 0; f < trainFiles.size(); f++) {
            files.put(trainFiles.get(f), records(variant, f * per, per, false));
        }
        files.put(variant.testFile(), records(variant, 0, testCount, true));
        files.put(variant.namesFile(LabelMode.FINE), text(fineNames(variant)));
        if (variant == CifarVariant.CIFAR100) {
            files.put(variant.namesFile(LabelMode.COARSE), text(coarseNames()));
        }
        return files;
    }

    /** Writes {@code root/<folderName>/<file>} and returns {@code root}. */
    static Path writeFolder(Path root, CifarVariant variant, Map<String, byte[]> files) throws IOException {
        Path dir = Files.createDirectories(root.resolve(variant.folderName()));
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            Files.write(dir.resolve(file.getKey()), file.getValue());
        }
        return root;
    }

    /** Writes a tar.gz holding the folder entry and {@code <folderName>/<file>} for each file. */
    static Path writeArchive(Path archive, CifarVariant variant, Map<String, byte[]> files) throws IOException {
        Map<String, byte[]> members = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> file : files.entrySet()) {
            members.put(variant.folderName() + "/" + file.getKey(), file.getValue());
        }
        return writeTarGz(archive, variant.folderName() + "/", members);
    }

    /** Writes a tar.gz with an optional directory entry and the given members, in order. */
    static Path writeTarGz(Path archive, String directory, Map<String, byte[]> members) throws IOException {
        try (OutputStream file = Files.newOutputStream(archive);
                GzipCompressorOutputStream gzip = new GzipCompressorOutputStream(file);
                TarArchiveOutputStream tar = new TarArchiveOutputStream(gzip)) {
            if (directory != null) {
                tar.putArchiveEntry(new TarArchiveEntry(directory));
                tar.closeArchiveEntry();
            }
            for (Map.Entry<String, byte[]> member : members.entrySet()) {
                TarArchiveEntry entry = new TarArchiveEntry(member.getKey());
                entry.setSize(member.getValue().length);
                tar.putArchiveEntry(entry);
                tar.write(member.getValue());
                tar.closeArchiveEntry();
            }
        }
        return archive;
    }
}
