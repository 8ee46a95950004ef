package dev.lethe.examples.protocol;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The protocol's defaults are the configuration its documented numbers come from (issue 11): the
 * fast recipes on the fast layout at 32,128,128, 5 epochs; another layout brings its own widths.
 */
class ProtocolDefaultsTest {

    private static ProtocolCommand parse(String... args) {
        ProtocolCommand command = new ProtocolCommand();
        new CommandLine(command).parseArgs(args);
        return command;
    }

    @Test
    void defaults_areTheFastRecipesOnTheFastLayout() {
        ProtocolCommand c = parse();
        assertThat(c.options.recipes).containsExactly("fast-forget-ready", "fast");
        assertThat(c.options.epochs).isEqualTo(5);
        assertThat(c.architecture.commandLine())
                .isEqualTo("--layout fast --widths 32,128,128 --moe-stages 3 --logit-scale 0.125");
        // 5 epochs keep the fast recipe's 2.3-epoch warm-up; a shorter run warms up over its first half
        assertThat(c.options.recipe("fast-forget-ready", 0).warmupEpochs()).isEqualTo(2.3f);
        assertThat(c.options.recipe("fast-forget-ready", 0).epochs()).isEqualTo(5);
        assertThat(parse("--epochs", "3").options.recipe("fast", 0).warmupEpochs()).isEqualTo(1.5f);
    }

    @Test
    void anotherLayout_bringsTheLibrarysWidthsForIt_unlessWidthsAreGiven() {
        assertThat(parse("--layout", "resnet").architecture.commandLine())
                .isEqualTo("--layout resnet --widths 32,64,128 --moe-stages 2,3 --logit-scale 1.0");
        assertThat(parse("--layout", "resnet", "--widths", "16,32,64").architecture.commandLine())
                .startsWith("--layout resnet --widths 16,32,64 ");
        assertThat(parse("--widths", "64,256,256").architecture.commandLine())
                .startsWith("--layout fast --widths 64,256,256 ").contains("--moe-stages 3");
    }

    @Test
    void echoedCommand_reproducesARunThatMixesJointAndClassAssignedRecipes() {
        ProtocolCommand typed = parse("--recipes", "fast-forget-ready,fast-exact", "--experts", "8");
        assertThat(typed.architecture.commandLine()).contains("--experts 8").doesNotContain("--top-k");

        // the echo of a run without architecture options, typed again, must not trip the check that
        // refuses options contradicting a class-assigned recipe's needs
        String echoed = parse("--recipes", "fast-forget-ready,fast-exact").architecture.commandLine();
        List<String> again = new ArrayList<>(List.of("--recipes", "fast-forget-ready,fast-exact"));
        again.addAll(List.of(echoed.split(" ")));
        ProtocolCommand rerun = parse(again.toArray(String[]::new));
        assertThat(rerun.architecture.config(10, 0, "fast-exact").numExperts()).isEqualTo(10);
        assertThat(rerun.architecture.config(10, 0, "fast-forget-ready").numExperts()).isEqualTo(8);
    }
}
