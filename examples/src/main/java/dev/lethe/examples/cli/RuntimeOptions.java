package dev.lethe.examples.cli;

import java.nio.file.Path;
import java.nio.file.Paths;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Options every command shares: libtorch threads and verbose errors. Call {@link #apply()} first
 * in a command, before anything touches DJL: libtorch reads its thread count when the engine
 * starts.
 */
public final class RuntimeOptions {

    /** The system property DJL's PyTorch engine reads its intra-op thread count from. */
    public static final String THREADS_PROPERTY = "ai.djl.pytorch.num_threads";
    /** The system property DJL's PyTorch engine reads its inter-op thread count from. */
    public static final String INTEROP_PROPERTY = "ai.djl.pytorch.num_interop_threads";
    /** The environment variable the launcher and this class read a default thread count from. */
    public static final String THREADS_ENV = "LETHE_THREADS";
    /** The system property holding the repository root (set by the {@code lethe} launcher). */
    public static final String HOME_PROPERTY = "lethe.home";

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    @Option(
            names = "--threads",
            paramLabel = "N",
            description = "libtorch threads (default: $LETHE_THREADS, else the cores other processes leave idle,"
                    + " at least 1: two OpenMP threads on a busy 2-core machine run several times slower than one).")
    private Integer threads;

    @Option(names = "--verbose", description = "Print the stack trace of an error.")
    private boolean verbose;

    /**
     * Sets libtorch's thread counts (intra-op from {@code --threads}, {@code $LETHE_THREADS} or
     * {@link #idleCores()}; inter-op 1) unless already given as system properties, and makes AWT
     * headless for the charts.
     *
     * @throws ParameterException if {@code --threads} is below 1
     */
    public void apply() {
        if (threads != null) {
            if (threads < 1) {
                throw new ParameterException(spec.commandLine(), "--threads (" + threads + ") must be >= 1");
            }
            System.setProperty(THREADS_PROPERTY, String.valueOf(threads));
        } else if (System.getProperty(THREADS_PROPERTY) == null) {
            String env = System.getenv(THREADS_ENV);
            int n = idleCores();
            if (env != null && env.trim().matches("[1-9]\\d*")) {
                n = Integer.parseInt(env.trim());
            }
            System.setProperty(THREADS_PROPERTY, String.valueOf(n));
        }
        if (System.getProperty(INTEROP_PROPERTY) == null) {
            System.setProperty(INTEROP_PROPERTY, "1");
        }
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    /**
     * The cores other processes leave idle: the number of cores minus the cores busy over the last
     * half second (from {@code /proc/stat}), rounded, at least 1. Where {@code /proc/stat} cannot be
     * read, the 1-minute load average stands in for the busy cores (all cores when it is unknown
     * too). The load average lags by a minute: right after the launcher's own build it counts a
     * busy core on an idle machine. On a shared machine libtorch's OpenMP threads slow down
     * several-fold when another process holds one of their cores.
     *
     * @return a thread count, &gt;= 1
     */
    public static int idleCores() {
        int cores = Runtime.getRuntime().availableProcessors();
        double busy = busyCoresNow(cores).orElseGet(() -> {
            String load = Reports.loadAverage();
            return load.equals("unknown") ? 0 : Double.parseDouble(load.split(" ")[0]);
        });
        return (int) Math.max(1, Math.min(cores, Math.round(cores - busy)));
    }

    /** Busy cores over half a second, from the first line of /proc/stat; empty if unreadable. */
    private static java.util.Optional<Double> busyCoresNow(int cores) {
        try {
            long[] a = cpuTimes();
            Thread.sleep(500);
            long[] b = cpuTimes();
            long total = b[0] - a[0];
            long idle = b[1] - a[1];
            return total <= 0 ? java.util.Optional.empty() : java.util.Optional.of(cores * (total - idle) / (double) total);
        } catch (java.io.IOException | RuntimeException e) {
            return java.util.Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return java.util.Optional.empty();
        }
    }

    /** @return {total, idle + iowait} jiffies of all CPUs */
    private static long[] cpuTimes() throws java.io.IOException {
        String line = java.nio.file.Files.readAllLines(java.nio.file.Paths.get("/proc/stat")).get(0);
        String[] f = line.trim().split("\\s+");
        if (!f[0].equals("cpu") || f.length < 6) {
            throw new java.io.IOException("unexpected /proc/stat: " + line);
        }
        long total = 0;
        for (int i = 1; i < Math.min(f.length, 9); i++) {   // user nice system idle iowait irq softirq steal
            total += Long.parseLong(f[i]);
        }
        return new long[] {total, Long.parseLong(f[4]) + Long.parseLong(f[5])};
    }

    /** @return whether {@code --verbose} was given */
    public boolean verbose() {
        return verbose;
    }

    /** @return the libtorch thread count in effect (the system property, else the core count) */
    public static int effectiveThreads() {
        return Integer.getInteger(THREADS_PROPERTY, Runtime.getRuntime().availableProcessors());
    }

    /**
     * The repository root: {@code -Dlethe.home} (set by the launcher), else the working folder.
     * Default output folders ({@code .lethe/...}) and the default data ({@code ../shared/data})
     * are relative to it.
     *
     * @return the folder
     */
    public static Path home() {
        return Paths.get(System.getProperty(HOME_PROPERTY, ".")).toAbsolutePath().normalize();
    }
}
