package dev.lethe.cifar;

import com.google.common.io.BaseEncoding;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.URLConnection;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Locale;

/** Fetches an archive into a cache folder: temporary file, progress bar, md5 check, atomic rename. */
final class CifarDownload {
    private static final int BAR_WIDTH = 40;

    private CifarDownload() {}

    /**
     * Returns {@code target} if it exists; otherwise copies {@code source} to a temporary file next to
     * it, checks its md5 and renames it to {@code target} atomically. Nothing is left behind on failure.
     */
    static Path fetch(URI source, Path target, String md5, PrintStream progress) throws IOException {
        if (Files.isRegularFile(target)) {
            return target;
        }
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path part = Files.createTempFile(dir, target.getFileName().toString(), ".part");
        try {
            String actual = copy(source, part, progress);
            if (!actual.equalsIgnoreCase(md5)) {
                throw new CifarFormatException(
                        "Downloaded " + source + " has md5 " + actual + ", expected " + md5
                                + "; the file was discarded, try again");
            }
            try {
                Files.move(part, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(part, target, StandardCopyOption.REPLACE_EXISTING);
            }
            return target;
        } finally {
            Files.deleteIfExists(part);
        }
    }

    private static String copy(URI source, Path to, PrintStream progress) throws IOException {
        MessageDigest digest;
        try {
            digest = MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JVM lacks MD5", e);
        }
        URLConnection connection = source.toURL().openConnection();
        connection.setConnectTimeout(30_000);
        connection.setReadTimeout(60_000);
        long total = connection.getContentLengthLong();
        long done = 0;
        int shown = -1;
        byte[] buffer = new byte[1 << 16];
        try (InputStream in = connection.getInputStream();
                OutputStream out = Files.newOutputStream(to)) {
            int read;
            while ((read = in.read(buffer)) != -1) {
                out.write(buffer, 0, read);
                digest.update(buffer, 0, read);
                done += read;
                int percent = total > 0 ? (int) (100 * done / total) : -1;
                if (percent != shown) {
                    shown = percent;
                    progress.print(bar(source, done, total));
                }
            }
        }
        progress.print(bar(source, done, total));
        progress.println();
        return BaseEncoding.base16().lowerCase().encode(digest.digest());
    }

    static String bar(URI source, long done, long total) {
        String path = source.getPath();
        String name = path.substring(path.lastIndexOf('/') + 1);
        if (total <= 0) {
            return String.format(Locale.ROOT, "\r%s %.1f MB", name, done / 1e6);
        }
        int filled = (int) (BAR_WIDTH * done / total);
        return String.format(
                Locale.ROOT,
                "\r%s [%s%s] %3d%% %.1f/%.1f MB",
                name,
                "=".repeat(filled),
                " ".repeat(BAR_WIDTH - filled),
                100 * done / total,
                done / 1e6,
                total / 1e6);
    }
}
