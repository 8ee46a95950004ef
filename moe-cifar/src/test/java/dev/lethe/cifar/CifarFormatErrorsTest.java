package dev.lethe.cifar;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every kind of bad input gets its own clear {@link CifarFormatException}, never partial data. */
class CifarFormatErrorsTest {
    @TempDir Path dir;

    private static Map<String, byte[]> cifar10() {
        return SyntheticCifar.files(CifarVariant.CIFAR10, 50, 10);
    }

    private Path archive(Map<String, byte[]> files) throws IOException {
        return SyntheticCifar.writeArchive(dir.resolve("c.tar.gz"), CifarVariant.CIFAR10, files);
    }

    @Test
    void load_missingPath_saysWhereToDownload() {
        Path missing = dir.resolve("nowhere");

        assertThatThrownBy(() -> CifarData.load(missing, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("No CIFAR-10 data at " + missing)
                .hasMessageContaining("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz")
                .hasMessageContaining("optDownload(true)")
                .hasMessageContaining("--download");
    }

    @Test
    void load_emptyFolder_saysWhatWasExpectedAndWhereToDownload() {
        assertThatThrownBy(() -> CifarData.load(dir, CifarVariant.CIFAR100, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("expected cifar-100-binary.tar.gz, a folder cifar-100-binary")
                .hasMessageContaining("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz");
    }

    @Test
    void load_fileThatIsNotGzip_saysSo() throws IOException {
        Path file = Files.write(dir.resolve("c.tar.gz"), "hello".getBytes(StandardCharsets.UTF_8));

        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("is not a gzip archive");
    }

    @Test
    void load_truncatedGzip_throwsUnreadableOrTruncated() throws IOException {
        Path file = archive(cifar10());
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length / 2));

        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("truncated")
                .hasMessageNotContaining("null");
    }

    @Test
    void load_gzipMissingOnlyItsTrailer_throws() throws IOException {
        Path file = archive(cifar10());
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 4));

        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("Unreadable or truncated gzip/tar archive");
    }

    @Test
    void load_corruptGzipBody_throwsUnreadable() throws IOException {
        Path file = archive(cifar10());
        byte[] bytes = Files.readAllBytes(file);
        for (int i = 40; i < bytes.length - 40; i += 97) {
            bytes[i] ^= 0x5a;
        }
        Files.write(file, bytes);

        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class);
    }

    @Test
    void load_fileNotWholeRecords_namesSizesAndRecordLayout() throws IOException {
        Map<String, byte[]> files = cifar10();
        files.put("data_batch_3.bin", Arrays.copyOf(files.get("data_batch_3.bin"), 3073 * 10 + 5));
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, files);

        assertThatThrownBy(() -> CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("data_batch_3.bin has 30735 bytes, not a whole number of 3073-byte CIFAR-10 records");
    }

    @Test
    void load_archiveMemberNotWholeRecords_throws() throws IOException {
        Map<String, byte[]> files = cifar10();
        files.put("test_batch.bin", Arrays.copyOf(files.get("test_batch.bin"), 3073 * 3 - 1));

        Path file = archive(files);
        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("test_batch.bin has 9218 bytes, not a whole number");
    }

    @Test
    void load_emptyBatchFile_throws() throws IOException {
        Map<String, byte[]> files = cifar10();
        files.put("data_batch_2.bin", new byte[0]);
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, files);

        assertThatThrownBy(() -> CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("data_batch_2.bin is empty");
    }

    @Test
    void load_cifar100FolderAsCifar10_saysUseCifar100() throws IOException {
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR100, SyntheticCifar.files(CifarVariant.CIFAR100, 100, 10));

        assertThatThrownBy(() -> CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("holds CIFAR-100 data")
                .hasMessageContaining("CifarVariant.CIFAR100");
        assertThatThrownBy(() -> CifarData.load(dir.resolve("cifar-100-binary"), CifarVariant.CIFAR10,
                        LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("CifarVariant.CIFAR100");
    }

    @Test
    void load_cifar10ArchiveAsCifar100_saysUseCifar10() throws IOException {
        Path file = archive(cifar10());

        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR100, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("holds CIFAR-10 data (member cifar-10-batches-bin/")
                .hasMessageContaining("CifarVariant.CIFAR10");
    }

    @Test
    void load_cifar100RecordsNamedAsCifar10Files_saysSizeFitsCifar100() throws IOException {
        Map<String, byte[]> files = cifar10();
        byte[] cifar100Records = SyntheticCifar.records(CifarVariant.CIFAR100, 0, 10, false);
        files.put("data_batch_1.bin", cifar100Records);
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, files);

        assertThatThrownBy(() -> CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("its size fits CIFAR-100 records (3074 bytes)");
    }

    @Test
    void load_labelByteOutOfRange_namesRecordAndValue() throws IOException {
        Map<String, byte[]> files = cifar10();
        files.get("data_batch_4.bin")[3073 * 7] = 10;
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, files);

        assertThatThrownBy(() -> CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("data_batch_4.bin record 7: label byte 10 is out of range 0..9");
    }

    @Test
    void load_cifar100CoarseLabelOutOfRange_throwsEvenInFineMode() throws IOException {
        Map<String, byte[]> files = SyntheticCifar.files(CifarVariant.CIFAR100, 100, 10);
        files.get("test.bin")[3074 * 2] = (byte) 200;
        Path file = SyntheticCifar.writeArchive(dir.resolve("c.tar.gz"), CifarVariant.CIFAR100, files);

        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR100, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("record 2: coarse label byte 200 is out of range 0..19");
    }

    @Test
    void load_folderMissingBatchFile_listsMissingFiles() throws IOException {
        Map<String, byte[]> files = cifar10();
        files.remove("data_batch_5.bin");
        SyntheticCifar.writeFolder(dir, CifarVariant.CIFAR10, files);

        assertThatThrownBy(() -> CifarData.load(dir, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("is missing [data_batch_5.bin]");
    }

    @Test
    void load_archiveMissingMember_listsMissingMembers() throws IOException {
        Map<String, byte[]> files = cifar10();
        files.remove("test_batch.bin");
        files.remove("batches.meta.txt");
        Path file = archive(files);

        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("lacks CIFAR-10 members [batches.meta.txt, test_batch.bin]");
    }

    @Test
    void load_archiveWithUnexpectedMember_namesIt() throws IOException {
        Map<String, byte[]> files = cifar10();
        files.put("data_batch_6.bin", SyntheticCifar.records(CifarVariant.CIFAR10, 0, 1, false));
        Path file = archive(files);

        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("unexpected member cifar-10-batches-bin/data_batch_6.bin");
    }

    @Test
    void load_archiveWithMemberOutsideTheFolder_namesIt() throws IOException {
        Map<String, byte[]> members = new LinkedHashMap<>();
        cifar10().forEach((name, bytes) -> members.put("cifar-10-batches-bin/" + name, bytes));
        members.put("evil/../../x.bin", new byte[3]);
        Path file = SyntheticCifar.writeTarGz(dir.resolve("c.tar.gz"), null, members);

        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("unexpected member evil/../../x.bin");
    }

    @Test
    void load_archiveWithReadme_ignoresItLikeTheOfficialArchive() throws IOException {
        Map<String, byte[]> files = cifar10();
        files.put("readme.html", "<html/>".getBytes(StandardCharsets.UTF_8));
        Path file = archive(files);

        org.assertj.core.api.Assertions.assertThat(CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE)
                .trainSize()).isEqualTo(50);
    }

    @Test
    void load_namesFileWithWrongCount_saysHowMany() throws IOException {
        Map<String, byte[]> files = cifar10();
        files.put("batches.meta.txt", SyntheticCifar.text(SyntheticCifar.CIFAR10_NAMES.subList(0, 9)));
        Path file = archive(files);

        assertThatThrownBy(() -> CifarData.load(file, CifarVariant.CIFAR10, LabelMode.FINE))
                .isInstanceOf(CifarFormatException.class)
                .hasMessageContaining("batches.meta.txt lists 9 class names, expected 10");
    }
}
