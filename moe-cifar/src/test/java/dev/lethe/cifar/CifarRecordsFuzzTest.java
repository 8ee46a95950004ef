package dev.lethe.cifar;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Fuzzes the binary readers: any input either reads valid records or throws {@link
 * CifarFormatException}; never another exception, never records that break the format's rules.
 */
class CifarRecordsFuzzTest {
    private static Path tmp;
    private static byte[] validArchive;

    @BeforeContainer
    static void makeArchive() throws IOException {
        tmp = Files.createTempDirectory("cifar-fuzz");
        Map<String, byte[]> files = SyntheticCifar.files(CifarVariant.CIFAR10, 10, 2);
        validArchive = Files.readAllBytes(
                SyntheticCifar.writeArchive(tmp.resolve("valid.tar.gz"), CifarVariant.CIFAR10, files));
    }

    @AfterContainer
    static void removeArchive() throws IOException {
        try (var paths = Files.walk(tmp)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /** A mutation of valid records: byte flips, a cut or an appendix, and a declared size that may lie. */
    private static final class Input {
        final CifarVariant variant;
        final LabelMode mode;
        final byte[] bytes;
        final long declaredSize;

        Input(CifarVariant variant, LabelMode mode, byte[] bytes, long declaredSize) {
            this.variant = variant;
            this.mode = mode;
            this.bytes = bytes;
            this.declaredSize = declaredSize;
        }

        @Override
        public String toString() {
            return variant + " " + mode + " " + bytes.length + " bytes, declared " + declaredSize;
        }
    }

    private static void assertReadsOrRejects(Input input) throws IOException {
        CifarReader.Records records;
        try {
            records = CifarReader.decode(new ByteArrayInputStream(input.bytes), input.declaredSize, "fuzz",
                    input.variant, input.mode);
        } catch (CifarFormatException expected) {
            return;
        }
        int recordBytes = input.variant.recordBytes();
        assertThat((long) records.size() * recordBytes).isEqualTo(input.declaredSize);
        assertThat(input.bytes.length).isGreaterThanOrEqualTo((int) input.declaredSize);
        int classes = input.variant.numClasses(input.mode);
        for (int r = 0; r < records.size(); r++) {
            assertThat(records.labels[r] & 0xff).isLessThan(classes);
            byte[] expectedPixels = Arrays.copyOfRange(input.bytes, r * recordBytes + input.variant.labelBytes(),
                    (r + 1) * recordBytes);
            assertThat(Arrays.copyOfRange(records.pixels, r * 3072, (r + 1) * 3072)).isEqualTo(expectedPixels);
        }
    }

    @Property(tries = 200)
    void decode_randomBytes_readsOrThrowsOurException(
            @ForAll("variants") CifarVariant variant, @ForAll byte[] bytes, @ForAll boolean lieAboutSize)
            throws IOException {
        LabelMode mode = variant == CifarVariant.CIFAR100 && bytes.length % 2 == 0 ? LabelMode.COARSE : LabelMode.FINE;
        long declared = lieAboutSize ? variant.recordBytes() * (long) (1 + bytes.length % 3) : bytes.length;
        assertReadsOrRejects(new Input(variant, mode, bytes, declared));
    }

    @Property(tries = 200)
    void decode_mutatedValidRecords_readsOrThrowsOurException(@ForAll("mutated") Input input) throws IOException {
        assertReadsOrRejects(input);
    }

    @Property(tries = 60)
    void load_mutatedArchive_readsOrThrowsOurException(
            @ForAll("positions") List<Integer> positions, @ForAll("cuts") int cut) throws IOException {
        byte[] bytes = validArchive.clone();
        for (int p : positions) {
            bytes[p % bytes.length] ^= (byte) (1 + p % 255);
        }
        bytes = Arrays.copyOf(bytes, Math.max(0, bytes.length - cut));
        Path file = Files.write(Files.createTempFile(tmp, "m", ".tar.gz"), bytes);
        try {
            CifarData data = CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE);
            assertThat(data.trainSize()).isEqualTo(10);
            assertThat(data.testSize()).isEqualTo(2);
        } catch (CifarFormatException expected) {
            // the documented outcome for a damaged archive
        } finally {
            Files.delete(file);
        }
    }

    @Provide
    Arbitrary<CifarVariant> variants() {
        return Arbitraries.of(CifarVariant.class);
    }

    @Provide
    Arbitrary<List<Integer>> positions() {
        return Arbitraries.integers().between(0, Integer.MAX_VALUE).list().ofMaxSize(4);
    }

    @Provide
    Arbitrary<Integer> cuts() {
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(3, Arbitraries.just(0)), net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(1, 400)));
    }

    @Provide
    Arbitrary<Input> mutated() {
        Arbitrary<CifarVariant> variant = variants();
        Arbitrary<Integer> count = Arbitraries.integers().between(1, 3);
        Arbitrary<List<Integer>> flips = Arbitraries.integers().between(0, Integer.MAX_VALUE).list().ofMaxSize(5);
        Arbitrary<Integer> resize = Arbitraries.integers().between(-3100, 3100);
        Arbitrary<Integer> sizeMode = Arbitraries.integers().between(0, 2);
        return Combinators.combine(variant, count, flips, resize, sizeMode).as((v, n, f, delta, how) -> {
            byte[] bytes = SyntheticCifar.records(v, 0, n, false);
            for (int p : f) {
                // bias flips toward label bytes, where they matter most
                int at = p % 2 == 0 ? (p / 2 % n) * v.recordBytes() + (p / 7 % v.labelBytes()) : p % bytes.length;
                bytes[at] = (byte) (p >>> 8);
            }
            bytes = Arrays.copyOf(bytes, Math.max(0, bytes.length + (how == 0 ? 0 : delta)));
            long declared = how == 2 ? (long) n * v.recordBytes() : bytes.length;
            LabelMode mode = v == CifarVariant.CIFAR100 && n % 2 == 0 ? LabelMode.COARSE : LabelMode.FINE;
            return new Input(v, mode, bytes, declared);
        });
    }
}
