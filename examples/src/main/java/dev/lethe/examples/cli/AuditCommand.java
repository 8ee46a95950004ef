package dev.lethe.examples.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.moe.model.ModelFiles;
import dev.lethe.unlearn.AuditRecord;
import dev.lethe.unlearn.AuditVerification;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code lethe audit}: checks of what an unlearning run recorded. {@code lethe audit verify} checks
 * a saved model against the audit record of the run that made it ({@code lethe forget} writes it as
 * {@value #AUDIT_JSON} beside the model).
 */
@Command(
        name = "audit",
        mixinStandardHelpOptions = true,
        description = "Check a model against the audit record of the unlearning run that made it.",
        subcommands = AuditCommand.Verify.class)
final class AuditCommand implements Runnable {

    /** The file {@code lethe forget} writes the run's audit record to, beside {@code model/}. */
    static final String AUDIT_JSON = "audit.json";

    @Spec private CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing command: choose one of " + spec.subcommands().keySet());
    }

    /**
     * {@code lethe audit verify}: two checks of a saved model. The parameter file against the
     * SHA-256 its manifest records ({@link ModelFiles#verify}: nothing changed the file since it
     * was saved); then every parameter tensor against the hashes the audit record took after the
     * run ({@link AuditRecord#verify}: this is the model the run made, not one edited and saved
     * again). Exit code 0 when both hold; 1 with the tensors that differ (or the file's hashes)
     * otherwise.
     */
    @Command(
            name = "verify",
            mixinStandardHelpOptions = true,
            sortOptions = false,
            description = {
                "Check that a saved model is the one an unlearning run made: its parameter file against the"
                        + " checksum of its manifest, then every parameter tensor against the audit record's hashes.",
                "Exit code 0: verified; 1: not verified (the differing tensors are listed) or unreadable."
            })
    static final class Verify implements Callable<Integer> {

        @Mixin private ModelInput modelInput;

        @Option(names = "--record", paramLabel = "FILE",
                description = "The audit record: an " + AUDIT_JSON + " or a report.json of `lethe forget` (default:"
                        + " the " + AUDIT_JSON + " beside the model, as `lethe forget --out DIR` writes them).")
        private Path record;

        @Option(names = "--json", description = "Print the verification as JSON.")
        private boolean json;

        @Mixin private RuntimeOptions runtime;

        @Override
        public Integer call() throws Exception {
            runtime.apply();
            Path folder = modelInput.folder();
            Path recordFile = record != null ? record : defaultRecord(folder);
            AuditRecord audit = read(recordFile);
            ModelFiles.Manifest manifest = ModelFiles.verify(folder); // throws, naming the file and both hashes
            AuditVerification check;
            try (TrainedModel model = TrainedModel.load(folder)) {
                check = audit.verify(model.model());
            }
            PrintStream out = System.out;
            if (json) {
                JsonObject o = check.toJson();
                o.addProperty("model", folder.toAbsolutePath().normalize().toString());
                o.addProperty("record", recordFile.toAbsolutePath().normalize().toString());
                o.addProperty("parameterFileSha256", manifest.sha256().orElse(null));
                out.println(new GsonBuilder().setPrettyPrinting().create().toJson(o));
            } else {
                out.println("model:  " + folder.toAbsolutePath().normalize());
                out.println("record: " + recordFile.toAbsolutePath().normalize());
                out.println("parameter file matches its checksum (sha256 " + manifest.sha256().orElse("?") + ")");
                audit.removal().ifPresent(r -> out.println("removal: " + Converters.cliName(r)));
                audit.data().ifPresent(d -> out.println("data: " + d));
                out.print(check.toTable());
            }
            if (!check.verified()) {
                System.err.printf("lethe audit verify: NOT VERIFIED against %s: differ %s, missing %s, unexpected %s%n",
                        recordFile, check.mismatched().keySet(), check.missing(), check.unexpected());
                return 1;
            }
            return 0;
        }

        /** The audit record beside a model: in its folder, or in the folder above ({@code forget --out} layout). */
        private static Path defaultRecord(Path modelFolder) throws NoSuchFileException {
            Path here = modelFolder.resolve(AUDIT_JSON);
            if (Files.isRegularFile(here)) {
                return here;
            }
            Path parent = modelFolder.toAbsolutePath().normalize().getParent();
            if (parent != null && Files.isRegularFile(parent.resolve(AUDIT_JSON))) {
                return parent.resolve(AUDIT_JSON);
            }
            throw new NoSuchFileException(here.toString(), null,
                    "no audit record beside the model (nor in " + parent + "); pass --record FILE");
        }

        /** Reads an audit record, or the one inside a {@code lethe forget} report ({@code unlearning.audit}). */
        private static AuditRecord read(Path file) throws IOException {
            JsonElement e;
            try {
                e = JsonParser.parseString(Files.readString(file, StandardCharsets.UTF_8));
            } catch (com.google.gson.JsonParseException ex) {
                throw new IOException(file + " is not JSON: " + ex.getMessage(), ex);
            }
            if (!e.isJsonObject()) {
                throw new IOException(file + " is not an audit record (a JSON object)");
            }
            JsonObject o = e.getAsJsonObject();
            if (o.has("unlearning") && o.getAsJsonObject("unlearning").has("audit")) {
                o = o.getAsJsonObject("unlearning").getAsJsonObject("audit");
            }
            try {
                return AuditRecord.fromJson(o);
            } catch (IllegalArgumentException ex) {
                throw new IOException(file + " is not an audit record: " + ex.getMessage(), ex);
            }
        }
    }
}
