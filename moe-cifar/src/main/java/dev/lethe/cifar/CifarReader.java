package dev.lethe.cifar;

import com.google.common.collect.ImmutableList;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Reads the official CIFAR binary layout from a {@code .tar.gz} archive (streamed, never extracted)
 * or from an extracted folder, and checks everything it reads. Package-private: the entry point is
 * {@link CifarData#load}.
 */
final class CifarReader {
    /** Largest class-name file accepted (the real ones are under 1 KB). */
    static final int MAX_NAMES_BYTES = 1 << 16;

    /** Extra member the official CIFAR-10 archive carries and that is ignored. */
    private static final String README = "readme.html";

    private static final int BUFFER = 1 << 16;

    private CifarReader() {}

    /** Labels (one unsigned byte per image) and pixels (3,072 bytes per image) of one file. */
    static final class Records {
        final byte[] labels;
        final byte[] pixels;

        Records(byte[] labels, byte[] pixels) {
            this.labels = labels;
            this.pixels = pixels;
        }

        int size() {
            return labels.length;
        }

        static Records concat(List<Records> parts) {
            long n = 0;
            for (Records part : parts) {
                n += part.size();
            }
            byte[] labels = new byte[Math.toIntExact(n)];
            byte[] pixels = new byte[Math.toIntExact(n * CifarVariant.IMAGE_BYTES)];
            int at = 0;
            for (Records part : parts) {
                System.arraycopy(part.labels, 0, labels, at, part.size());
                System.arraycopy(
                        part.pixels,
                        0,
                        pixels,
                        at * CifarVariant.IMAGE_BYTES,
                        part.pixels.length);
                at += part.size();
            }
            return new Records(labels, pixels);
        }
    }

    static CifarData read(Path path, CifarVariant variant, LabelMode mode) throws IOException {
        if (!Files.exists(path)) {
            throw new CifarFormatException("No " + variant + " data at " + path + ". " + howToGet(variant));
        }
        if (!Files.isDirectory(path)) {
            return readArchive(path, variant, mode);
        }
        Path inner = path.resolve(variant.folderName());
        if (Files.isDirectory(inner)) {
            return readFolder(inner, variant, mode);
        }
        if (variant.folderName().equals(fileName(path)) || containsAny(path, variant.dataFiles())) {
            return readFolder(path, variant, mode);
        }
        Path archive = path.resolve(variant.archiveFileName());
        if (Files.isRegularFile(archive)) {
            return readArchive(archive, variant, mode);
        }
        CifarVariant other = variant.other();
        if (Files.exists(path.resolve(other.folderName()))
                || Files.exists(path.resolve(other.archiveFileName()))
                || other.folderName().equals(fileName(path))
                || containsAny(path, other.dataFiles())) {
            throw new CifarFormatException(
                    path + " holds " + other + " data, but " + variant + " was asked for: use CifarVariant." + other.name());
        }
        throw new CifarFormatException(
                "No "
                        + variant
                        + " data in folder "
                        + path
                        + ": expected "
                        + variant.archiveFileName()
                        + ", a folder "
                        + variant.folderName()
                        + ", or that folder itself. "
                        + howToGet(variant));
    }

    static String howToGet(CifarVariant variant) {
        return "Download "
                + variant.archiveUri()
                + " (md5 "
                + variant.archiveMd5()
                + ") and pass the .tar.gz or the folder it extracts to, or let this library download it:"
                + " CifarDataset.builder().optDownload(true) / the --download CLI flag / CifarData.download.";
    }

    private static String fileName(Path path) {
        Path name = path.getFileName();
        return name == null ? "" : name.toString();
    }

    private static boolean containsAny(Path dir, List<String> names) {
        for (String name : names) {
            if (Files.exists(dir.resolve(name))) {
                return true;
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- folder

    private static CifarData readFolder(Path dir, CifarVariant variant, LabelMode mode) throws IOException {
        List<String> missing = new ArrayList<>();
        for (String name : variant.dataFiles()) {
            if (!Files.isRegularFile(dir.resolve(name))) {
                missing.add(name);
            }
        }
        if (!missing.isEmpty()) {
            String hint = containsAny(dir, variant.other().dataFiles())
                    ? " It holds " + variant.other() + " files: use CifarVariant." + variant.other().name() + "."
                    : "";
            throw new CifarFormatException(
                    variant + " folder " + dir + " is missing " + missing + " (expected " + variant.dataFiles() + ")."
                            + hint);
        }
        Map<String, Records> records = new HashMap<>();
        List<String> binaries = new ArrayList<>(variant.trainFiles());
        binaries.add(variant.testFile());
        for (String name : binaries) {
            Path file = dir.resolve(name);
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file), BUFFER)) {
                records.put(name, decode(in, Files.size(file), file.toString(), variant, mode));
            }
        }
        Path names = dir.resolve(variant.namesFile(mode));
        long size = Files.size(names);
        if (size > MAX_NAMES_BYTES) {
            throw new CifarFormatException(names + " has " + size + " bytes, too large for a class-name file");
        }
        List<String> classNames = parseNames(Files.readAllBytes(names), names.toString(), variant.numClasses(mode));
        return assemble(records, classNames, variant, mode);
    }

    // ---------------------------------------------------------------- archive

    private static CifarData readArchive(Path file, CifarVariant variant, LabelMode mode) throws IOException {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), BUFFER)) {
            raw.mark(2);
            int b0 = raw.read();
            int b1 = raw.read();
            raw.reset();
            if (b0 != 0x1f || b1 != 0x8b) {
                throw new CifarFormatException(
                        file + " is not a gzip archive (it does not start with the gzip magic bytes 1f 8b); expected "
                                + variant.archiveFileName()
                                + " or the folder it extracts to");
            }
            try (GzipCompressorInputStream gzip = new GzipCompressorInputStream(raw);
                    TarArchiveInputStream tar = new TarArchiveInputStream(gzip)) {
                CifarData data = readTar(tar, file, variant, mode);
                // Drain the gzip stream behind the tar end blocks so that its CRC and length are checked.
                byte[] sink = new byte[BUFFER];
                while (gzip.read(sink) != -1) {
                    // discard
                }
                return data;
            }
        } catch (CifarFormatException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // commons-compress reports corrupt headers with IllegalArgumentException at times.
            throw new CifarFormatException(
                    "Unreadable or truncated gzip/tar archive " + file + ": "
                            + (e.getMessage() != null ? e.getMessage()
                                    : e instanceof java.io.EOFException ? "it ends before its last member (truncated)"
                                    : e.getClass().getSimpleName())
                            + ". " + howToGet(variant),
                    e);
        }
    }

    private static CifarData readTar(TarArchiveInputStream tar, Path file, CifarVariant variant, LabelMode mode)
            throws IOException {
        String prefix = variant.folderName() + "/";
        String otherPrefix = variant.other().folderName() + "/";
        Set<String> expected = new HashSet<>(variant.dataFiles());
        String namesFile = variant.namesFile(mode);
        Map<String, Records> records = new HashMap<>();
        Set<String> seen = new HashSet<>();
        List<String> classNames = null;
        TarArchiveEntry entry;
        while ((entry = tar.getNextEntry()) != null) {
            String name = entry.getName();
            while (name.startsWith("./")) {
                name = name.substring(2);
            }
            if (entry.isDirectory()) {
                if (!name.isEmpty() && !name.equals(prefix)) {
                    throw unexpected(file, entry.getName(), name.startsWith(otherPrefix), variant);
                }
                continue;
            }
            if (!name.startsWith(prefix)) {
                throw unexpected(file, entry.getName(), name.startsWith(otherPrefix), variant);
            }
            String member = name.substring(prefix.length());
            if (member.equals(README)) {
                continue;
            }
            if (!expected.contains(member) || !entry.isFile()) {
                throw unexpected(file, entry.getName(), false, variant);
            }
            if (!seen.add(member)) {
                throw new CifarFormatException(file + " holds member " + entry.getName() + " twice");
            }
            String where = file + "!" + entry.getName();
            if (member.endsWith(".bin")) {
                records.put(member, decode(tar, entry.getSize(), where, variant, mode));
            } else if (member.equals(namesFile)) {
                if (entry.getSize() > MAX_NAMES_BYTES) {
                    throw new CifarFormatException(
                            where + " has " + entry.getSize() + " bytes, too large for a class-name file");
                }
                byte[] bytes = new byte[(int) entry.getSize()];
                readFully(tar, bytes, 0, bytes.length, where, entry.getSize());
                classNames = parseNames(bytes, where, variant.numClasses(mode));
            }
        }
        Set<String> missing = new TreeSet<>(expected);
        missing.removeAll(seen);
        if (!missing.isEmpty()) {
            throw new CifarFormatException(
                    "Archive " + file + " lacks " + variant + " members " + missing + " under " + prefix);
        }
        return assemble(records, classNames, variant, mode);
    }

    private static CifarFormatException unexpected(Path file, String member, boolean otherVariant, CifarVariant variant) {
        if (otherVariant) {
            return new CifarFormatException(
                    "Archive " + file + " holds " + variant.other() + " data (member " + member + "), but " + variant
                            + " was asked for: use CifarVariant." + variant.other().name());
        }
        return new CifarFormatException(
                "Archive " + file + " has unexpected member " + member + "; a " + variant + " archive holds only "
                        + variant.folderName() + "/ with " + variant.dataFiles());
    }

    // ---------------------------------------------------------------- records and names

    /**
     * Decodes {@code size} bytes of records from {@code in}. Either returns every record, checked, or
     * throws {@link CifarFormatException}; never anything else for any input.
     */
    static Records decode(InputStream in, long size, String where, CifarVariant variant, LabelMode mode)
            throws IOException {
        int labelOffset = variant.labelOffset(mode);
        int recordBytes = variant.recordBytes();
        if (size <= 0) {
            throw new CifarFormatException(where + " is empty: it holds no " + recordBytes + "-byte " + variant + " records");
        }
        if (size % recordBytes != 0) {
            CifarVariant other = variant.other();
            String hint = size % other.recordBytes() == 0
                    ? "; its size fits " + other + " records (" + other.recordBytes() + " bytes): is this " + other
                            + " data given as " + variant + "? use CifarVariant." + other.name()
                    : "; the file is truncated or not a " + variant + " file";
            throw new CifarFormatException(
                    where + " has " + size + " bytes, not a whole number of " + recordBytes + "-byte " + variant
                            + " records (" + variant.labelBytes() + " label byte(s) + 3072 pixel bytes)" + hint);
        }
        long count = size / recordBytes;
        if (count > Integer.MAX_VALUE / CifarVariant.IMAGE_BYTES) {
            throw new CifarFormatException(where + " has " + count + " records, more than one array can hold");
        }
        int n = (int) count;
        byte[] labels = new byte[n];
        byte[] pixels = new byte[n * CifarVariant.IMAGE_BYTES];
        byte[] label = new byte[variant.labelBytes()];
        int fineClasses = variant.numClasses(LabelMode.FINE);
        for (int r = 0; r < n; r++) {
            long done = (long) r * recordBytes;
            readFully(in, label, 0, label.length, where, size, done);
            if (variant.labelBytes() == 2) {
                int coarse = label[0] & 0xff;
                int coarseClasses = variant.numClasses(LabelMode.COARSE);
                if (coarse >= coarseClasses) {
                    throw labelOutOfRange(where, r, "coarse label", coarse, coarseClasses, variant);
                }
            }
            int fine = label[label.length - 1] & 0xff;
            if (fine >= fineClasses) {
                throw labelOutOfRange(where, r, "label", fine, fineClasses, variant);
            }
            labels[r] = label[labelOffset];
            readFully(in, pixels, r * CifarVariant.IMAGE_BYTES, CifarVariant.IMAGE_BYTES, where, size,
                    done + label.length);
        }
        return new Records(labels, pixels);
    }

    private static CifarFormatException labelOutOfRange(
            String where, int record, String what, int value, int classes, CifarVariant variant) {
        String hint = variant == CifarVariant.CIFAR10
                ? "; is this CIFAR-100 data given as CIFAR-10?"
                : "; is this CIFAR-10 data given as CIFAR-100?";
        return new CifarFormatException(
                where + " record " + record + ": " + what + " byte " + value + " is out of range 0.." + (classes - 1)
                        + " (" + variant + ")" + hint);
    }

    private static void readFully(InputStream in, byte[] to, int offset, int length, String where, long size)
            throws IOException {
        readFully(in, to, offset, length, where, size, 0);
    }

    private static void readFully(
            InputStream in, byte[] to, int offset, int length, String where, long size, long before) throws IOException {
        int got = 0;
        while (got < length) {
            int read = in.read(to, offset + got, length - got);
            if (read < 0) {
                throw new CifarFormatException(
                        where + " is truncated: it should hold " + size + " bytes but ends after " + (before + got));
            }
            got += read;
        }
    }

    /** Parses a class-name file: one name per line, surrounding whitespace and blank lines ignored. */
    static List<String> parseNames(byte[] bytes, String where, int expected) throws CifarFormatException {
        String text = new String(bytes, StandardCharsets.UTF_8);
        List<String> names = new ArrayList<>();
        for (String line : text.split("\r\n|\r|\n", -1)) {
            String name = line.strip();
            if (!name.isEmpty()) {
                names.add(name);
            }
        }
        if (names.size() != expected) {
            throw new CifarFormatException(
                    where + " lists " + names.size() + " class names, expected " + expected + " (one per line)");
        }
        if (new HashSet<>(names).size() != names.size()) {
            throw new CifarFormatException(where + " lists a class name twice: " + names);
        }
        return ImmutableList.copyOf(names);
    }

    /** Joins train files in their official order and takes labels of the chosen mode. */
    private static CifarData assemble(
            Map<String, Records> records, List<String> classNames, CifarVariant variant, LabelMode mode)
            throws CifarFormatException {
        if (classNames == null) {
            throw new CifarFormatException("no " + variant.namesFile(mode) + " found for " + variant);
        }
        List<Records> train = new ArrayList<>();
        for (String name : variant.trainFiles()) {
            train.add(records.get(name));
        }
        Records trainRecords = train.size() == 1 ? train.get(0) : Records.concat(train);
        Records testRecords = records.get(variant.testFile());
        return new CifarData(variant, mode, classNames, trainRecords, testRecords);
    }
}
