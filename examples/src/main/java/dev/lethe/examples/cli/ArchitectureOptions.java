package dev.lethe.examples.cli;

import dev.lethe.moe.model.MoeResNet;
import java.util.Locale;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * The architecture of a {@link MoeResNet}, as options ({@code lethe train}, {@code lethe
 * protocol}): {@code --layout}, {@code --widths}, {@code --experts}, {@code --top-k}, {@code
 * --moe-stages}, {@code --logit-scale}. Every default is the library's ({@link
 * MoeResNet.Config#builder()}), except the widths, which a command may choose ({@link
 * #ArchitectureOptions(int...)}); {@code --help} shows them.
 */
public final class ArchitectureOptions {

    private static final MoeResNet.Config LIBRARY = MoeResNet.Config.builder().build();

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    @Option(names = "--layout", paramLabel = "NAME", completionCandidates = Converters.LayoutCandidates.class,
            description = "Network layout: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    private String layout = Converters.cliName(LIBRARY.style());

    @Option(names = "--widths", paramLabel = "W1,W2,W3", converter = Converters.IntListConverter.class,
            description = "Channels of the three stages (default: ${DEFAULT-VALUE}).")
    private IntList widths;

    @Option(names = "--experts", paramLabel = "E", description = "Experts per MoE layer (default: ${DEFAULT-VALUE}).")
    private int experts = LIBRARY.numExperts();

    @Option(names = "--top-k", paramLabel = "K", description = "Experts per image (default: ${DEFAULT-VALUE}).")
    private int topK = LIBRARY.topK();

    @Option(names = "--moe-stages", paramLabel = "S,...", converter = Converters.IntListConverter.class,
            description = "Stages (1-3) whose blocks are mixtures of experts (default: ${DEFAULT-VALUE}).")
    private IntList moeStages = new IntList(LIBRARY.moeStages());

    @Option(names = "--logit-scale", paramLabel = "S",
            description = "Constant the head's logits are multiplied by (default: ${DEFAULT-VALUE}).")
    private float logitScale = LIBRARY.logitScale();

    /** Options with the library's default widths. */
    public ArchitectureOptions() {
        this(LIBRARY.widths());
    }

    /**
     * Options with a command's own default widths.
     *
     * @param defaultWidths the widths of the three stages when {@code --widths} is not given
     */
    public ArchitectureOptions(int... defaultWidths) {
        this.widths = new IntList(defaultWidths.clone());
    }

    /**
     * The architecture the options describe.
     *
     * @param numClasses classes of the data
     * @param seed the seed of the routing noise
     * @return the configuration
     * @throws ParameterException naming the option if a value is invalid (checked by the library)
     */
    public MoeResNet.Config config(int numClasses, long seed) {
        int[] w = widths.values();
        if (w.length != 3) {
            throw new ParameterException(spec.commandLine(),
                    "--widths needs 3 comma-separated widths, e.g. 16,32,64; got " + w.length);
        }
        MoeResNet.Style style;
        try {
            style = Converters.parse(MoeResNet.Style.class, layout, "layout");
        } catch (TypeConversionException e) {
            throw new ParameterException(spec.commandLine(), "--layout: " + e.getMessage());
        }
        return OptionChecks.build(spec, "model options", () -> MoeResNet.Config.builder()
                .optStyle(style)
                .optWidths(w[0], w[1], w[2])
                .optNumExperts(experts)
                .optTopK(topK)
                .optMoeStages(moeStages.values())
                .optLogitScale(logitScale)
                .optNumClasses(numClasses)
                .optSeed(seed)
                .build());
    }

    /**
     * @return the options as they would be typed, e.g. {@code --layout resnet --widths 16,32,64
     *     --experts 8 --top-k 2 --moe-stages 2,3 --logit-scale 1.0}
     */
    public String commandLine() {
        return String.format(Locale.ROOT, "--layout %s --widths %s --experts %d --top-k %d --moe-stages %s --logit-scale %s",
                layout, widths, experts, topK, moeStages, logitScale);
    }
}
