package dev.lethe.moe.provenance;

import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.util.Pair;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.SharedExpertMoe;
import dev.lethe.moe.model.MoeResNet;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Which tensors of a block learn in a training pass, by the rules the forward passes follow: a
 * trainable parameter learns; a BatchNorm statistic learns when its block runs in training mode
 * (the frozen parts of a {@link MoeResNet}, a frozen shared expert and frozen routed experts run in
 * inference mode); fixed parameters (computed from data) never learn by gradient.
 */
final class Learning {

    final BitSet always = new BitSet();
    final BitSet readAlways = new BitSet();
    final Map<MoeBlock, ProvenanceLedger.LayerTensors> layers = new LinkedHashMap<>();
    private final Map<String, Integer> ids;

    private Learning(Map<String, Integer> ids) {
        this.ids = ids;
    }

    static Learning of(Block root, Map<String, Integer> ids) {
        Learning l = new Learning(ids);
        l.walk(root, true);
        return l;
    }

    private void walk(Block block, boolean mode) {
        if (block instanceof MoeBlock) {
            layer((MoeBlock) block);
            return;
        }
        direct(block, mode);
        if (block instanceof MoeResNet) {
            MoeResNet net = (MoeResNet) block;
            for (Pair<String, Block> part : net.features().getChildren()) {
                walk(part.getValue(), mode && !MoeBlocks.isFrozen(part.getValue()));
            }
            walk(net.classifier(), mode && !MoeBlocks.isFrozen(net.classifier()));
            return;
        }
        if (block instanceof SharedExpertMoe) {
            SharedExpertMoe s = (SharedExpertMoe) block;
            walk(s.shared(), mode && !MoeBlocks.isFrozen(s.shared()));
            walk(s.moe(), mode);
            return;
        }
        for (Pair<String, Block> child : block.getChildren()) {
            walk(child.getValue(), mode);
        }
    }

    private void direct(Block block, boolean mode) {
        for (Pair<String, Parameter> p : block.getDirectParameters()) {
            Parameter parameter = p.getValue();
            int t = ids.get(parameter.getId());
            readAlways.set(t);
            if (ProvenanceLedger.isStatistic(parameter)) {
                if (mode) {
                    always.set(t);
                }
            } else if (!MoeBlocks.isFixed(parameter) && parameter.requiresGradient()) {
                always.set(t);
            }
        }
    }

    private void layer(MoeBlock layer) {
        walk(layer.router(), true);
        int n = layer.getNumExperts();
        BitSet[] experts = new BitSet[n];
        BitSet[] learning = new BitSet[n];
        for (int e = 0; e < n; e++) {
            experts[e] = new BitSet();
            learning[e] = new BitSet();
            boolean frozen = layer.isExpertFrozen(e);
            for (Pair<String, Parameter> p : layer.expert(e).getParameters()) {
                Parameter parameter = p.getValue();
                int t = ids.get(parameter.getId());
                experts[e].set(t);
                boolean stat = ProvenanceLedger.isStatistic(parameter);
                if ((stat && !frozen) || (!stat && !MoeBlocks.isFixed(parameter) && parameter.requiresGradient())) {
                    learning[e].set(t);
                }
            }
        }
        layers.put(layer, new ProvenanceLedger.LayerTensors(experts, learning));
    }
}
