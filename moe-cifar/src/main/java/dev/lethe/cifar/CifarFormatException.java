package dev.lethe.cifar;

import java.io.IOException;

/**
 * The one exception this module throws for CIFAR data that is missing, incomplete or malformed.
 *
 * <p>It is thrown for a path that does not exist (the message says where to download the data, or to
 * use {@code optDownload(true)} / the {@code --download} CLI flag), an unreadable or truncated gzip
 * archive, an archive with unexpected or missing members, a file whose size is not a whole number of
 * records, a CIFAR-100 file given as CIFAR-10 or the reverse, a label byte out of range, a class-name
 * file with the wrong number of names, and a downloaded archive whose md5 does not match. Data is
 * never returned partially: either everything is read and checked, or this exception is thrown.
 *
 * <p>It is a checked {@link IOException} because every path that throws it reads files.
 */
public final class CifarFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what is wrong and, where possible, how to fix it
     */
    public CifarFormatException(String message) {
        super(message);
    }

    /**
     * Creates the exception with its cause.
     *
     * @param message what is wrong and, where possible, how to fix it
     * @param cause the underlying I/O error
     */
    public CifarFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
