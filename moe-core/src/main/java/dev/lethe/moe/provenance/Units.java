package dev.lethe.moe.provenance;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.SharedExpertMoe;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The units of isolation of a block: every expert, router and shared expert, by name prefix. */
final class Units {

    private Units() {}

    static List<String> of(Block root) {
        Map<String, String> fullName = new HashMap<>();
        for (Pair<String, Parameter> p : root.getParameters()) {
            fullName.put(p.getValue().getId(), p.getKey());
        }
        List<String> out = new ArrayList<>();
        for (MoeBlock layer : MoeBlocks.find(root).values()) {
            add(out, layer.router(), fullName);
            for (Block expert : layer.experts()) {
                add(out, expert, fullName);
            }
        }
        collectShared(root, out, fullName);
        return out;
    }

    private static void collectShared(Block block, List<String> out, Map<String, String> fullName) {
        if (block instanceof SharedExpertMoe) {
            add(out, ((SharedExpertMoe) block).shared(), fullName);
        }
        for (Pair<String, Block> child : block.getChildren()) {
            collectShared(child.getValue(), out, fullName);
        }
    }

    private static void add(List<String> out, Block unit, Map<String, String> fullName) {
        for (Pair<String, Parameter> p : unit.getParameters()) {
            String full = fullName.get(p.getValue().getId());
            if (full != null && full.endsWith("_" + p.getKey())) {
                out.add(full.substring(0, full.length() - p.getKey().length() - 1));
                return;
            }
        }
    }
}
