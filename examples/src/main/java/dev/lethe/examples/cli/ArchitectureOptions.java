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
 * --moe-stages}, {@code --logit-scale}, {@code --shared-expert}. Every default is the library's
 * ({@link MoeResNet.Config#builder()}), except the layout and its widths, which a command may
 * choose ({@link #ArchitectureOptions(int...)}, {@link #ArchitectureOptions(MoeResNet.Style,
 * int...)}); {@code --help} shows them. With {@code --layout fast}, the MoE stages and logit scale
 * left out are the library's fast layout ({@link MoeResNet.Config.BaseBuilder#optFastLayout()}:
 * stage 3, 0.125), and so are the widths (64,256,256) unless the command chose the fast layout with
 * its own widths. A layout other than the command's default brings the library's widths for it.
 *
 * <p>A recipe may need a particular architecture ({@link Recipes#needs}: the class-assigned
 * recipes need one expert per class, top-1 routing and a shared expert). {@link #config(int, long,
 * String)} sets what the recipe needs where the user left the option out, and refuses, naming the
 * options to pass, where the user gave a value that contradicts it.
 */
public final class ArchitectureOptions {

    private static final MoeResNet.Config LIBRARY = MoeResNet.Config.builder().build();

    @Spec(Spec.Target.MIXEE)
    private CommandSpec spec;

    @Option(names = "--layout", paramLabel = "NAME", completionCandidates = Converters.LayoutCandidates.class,
            description = "Network layout: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    private String layout;

    @Option(names = "--widths", paramLabel = "W1,W2,W3", converter = Converters.IntListConverter.class,
            description = "Channels of the three stages (default: ${DEFAULT-VALUE} with the default layout; another"
                    + " layout brings the library's: resnet 32,64,128, fast 64,256,256).")
    private IntList widths;

    private final IntList defaultWidths;

    private final String defaultLayout;

    @Option(names = "--experts", paramLabel = "E", description = "Experts per MoE layer (default: ${DEFAULT-VALUE}).")
    private int experts = LIBRARY.numExperts();

    @Option(names = "--top-k", paramLabel = "K", description = "Experts per image (default: ${DEFAULT-VALUE}).")
    private int topK = LIBRARY.topK();

    @Option(names = "--moe-stages", paramLabel = "S,...", converter = Converters.IntListConverter.class,
            description = "Stages (1-3) whose blocks are mixtures of experts (default: ${DEFAULT-VALUE}; with --layout"
                    + " fast: 3).")
    private IntList moeStages = new IntList(LIBRARY.moeStages());

    @Option(names = "--logit-scale", paramLabel = "S",
            description = "Constant the head's logits are multiplied by (default: ${DEFAULT-VALUE}; with --layout fast:"
                    + " 0.125).")
    private float logitScale = LIBRARY.logitScale();

    @Option(names = "--shared-expert", description = "Give every MoE layer a shared expert beside the routed ones"
            + " (DeepSeekMoE; the class-assigned recipes set it).")
    private boolean sharedExpert = LIBRARY.sharedExpert();

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
        this(LIBRARY.style(), defaultWidths);
    }

    /**
     * Options with a command's own default layout and widths.
     *
     * @param defaultLayout the layout when {@code --layout} is not given
     * @param defaultWidths the widths of the three stages when neither {@code --widths} nor another
     *     layout is given
     */
    public ArchitectureOptions(MoeResNet.Style defaultLayout, int... defaultWidths) {
        this.defaultLayout = Converters.cliName(defaultLayout);
        this.layout = this.defaultLayout;
        this.defaultWidths = new IntList(defaultWidths.clone());
        this.widths = this.defaultWidths;
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
        resolveLayoutDefaults();
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
                .optSharedExpert(sharedExpert)
                .optNumClasses(numClasses)
                .optSeed(seed)
                .build());
    }

    /**
     * The architecture the options describe, with what a recipe needs ({@link Recipes#needs}) set
     * where the options were left out.
     *
     * @param numClasses classes of the data
     * @param seed the seed of the routing noise
     * @param recipe the recipe's name ({@link Recipes#protocolNames()}, optionally with {@code @W})
     * @return the configuration
     * @throws ParameterException naming the options to pass if an option given contradicts what the
     *     recipe needs, or if a value is invalid
     */
    public MoeResNet.Config config(int numClasses, long seed, String recipe) {
        MoeResNet.Config config = config(numClasses, seed);
        ArchitectureNeeds needs = OptionChecks.build(spec, "--recipe", () -> Recipes.needs(recipe));
        if (needs.isMetBy(config)) {
            return config;
        }
        java.util.List<String> given = new java.util.ArrayList<>();
        if (needs.expertPerClass() && config.numExperts() != numClasses && matched("--experts")) {
            given.add("--experts " + experts);
        }
        if (needs.topK() > 0 && config.topK() != needs.topK() && matched("--top-k")) {
            given.add("--top-k " + topK);
        }
        if (!given.isEmpty()) {
            throw new ParameterException(spec.commandLine(), String.format(Locale.ROOT,
                    "recipe '%s' needs %s: pass %s, or leave those options out (given: %s)", recipe, needs.describe(),
                    needs.options(numClasses), String.join(" ", given)));
        }
        return OptionChecks.build(spec, "model options", () -> needs.apply(config));
    }

    /**
     * Widths left out: the command's with its default layout, the library's with another layout.
     * With {@code --layout fast}, the MoE stages and logit scale the user left out are the library's
     * fast layout ({@link MoeResNet.Config.BaseBuilder#optFastLayout()}).
     */
    private void resolveLayoutDefaults() {
        String chosen = layout == null ? "" : layout.trim();
        boolean fastLayout = Converters.cliName(MoeResNet.Style.FAST).equalsIgnoreCase(chosen);
        MoeResNet.Config fast = MoeResNet.Config.builder().optFastLayout().build();
        if (!matched("--widths") && widths == defaultWidths && !defaultLayout.equalsIgnoreCase(chosen)) {
            widths = new IntList(fastLayout ? fast.widths() : LIBRARY.widths());
        }
        if (!fastLayout) {
            return;
        }
        if (!matched("--moe-stages") && java.util.Arrays.equals(moeStages.values(), LIBRARY.moeStages())) {
            moeStages = new IntList(fast.moeStages());
        }
        if (!matched("--logit-scale") && logitScale == LIBRARY.logitScale()) {
            logitScale = fast.logitScale();
        }
    }

    /** Whether the user typed an option (false when the options were not parsed from a command line). */
    private boolean matched(String option) {
        if (spec == null || spec.commandLine() == null || spec.commandLine().getParseResult() == null) {
            return false;
        }
        return spec.commandLine().getParseResult().hasMatchedOption(option);
    }

    /**
     * @return the options as they would be typed to reproduce the run, e.g. {@code --layout resnet
     *     --widths 16,32,64 --moe-stages 2,3 --logit-scale 1.0}: layout, widths, MoE stages and
     *     logit scale always; {@code --experts}, {@code --top-k} and {@code --shared-expert} only
     *     when the user typed them, since a recipe's needs set them where they were left out
     *     ({@link #config(int, long, String)}) and refuses them where they were typed and contradict
     *     it (the defaults, 8 experts top-2, hold for the recipes without needs)
     */
    public String commandLine() {
        resolveLayoutDefaults();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "--layout %s --widths %s", layout, widths));
        if (matched("--experts")) {
            sb.append(" --experts ").append(experts);
        }
        if (matched("--top-k")) {
            sb.append(" --top-k ").append(topK);
        }
        sb.append(" --moe-stages ").append(moeStages).append(" --logit-scale ").append(logitScale);
        if (matched("--shared-expert")) {
            sb.append(" --shared-expert");
        }
        return sb.toString();
    }
}
