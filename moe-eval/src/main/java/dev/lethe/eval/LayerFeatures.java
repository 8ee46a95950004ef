package dev.lethe.eval;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.SequentialBlock;
import ai.djl.training.ParameterStore;
import ai.djl.util.Pair;
import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableList;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.MoeBlocks;
import dev.lethe.moe.model.EmbeddingClassifier;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where probes read a classifier: the output of every MoE layer, global-average-pooled to (B, C),
 * and the penultimate embedding (B, D), captured in one inference pass together with the logits.
 *
 * <p>Works for any {@link EmbeddingClassifier} whose {@link EmbeddingClassifier#features()} is a
 * DJL {@link SequentialBlock} (as {@code MoeResNet}'s is): the pass runs the sequential block child
 * by child, exactly as {@code SequentialBlock} does, and takes a copy of the output of each child
 * that is, or contains, an MoE layer ({@link MoeBlocks#find}). Nothing is registered on the blocks
 * and no block state changes. A child holding two or more MoE layers cannot be read per layer and
 * is rejected; a {@code features()} that is not sequential is accepted only if it holds no MoE
 * layer (then only the penultimate embedding is read).
 *
 * <p>Names: each MoE layer is named by its path from the root block, as {@link MoeBlocks#find}
 * names it (e.g. {@code "01features/06MoeBlock"}); the embedding is {@value #PENULTIMATE}. The
 * pooled output of a layer is its mean over every axis after the channel axis (B, C, H, W) → (B,
 * C); a (B, C) output is taken as it is.
 */
public final class LayerFeatures {

    /** The name of the penultimate embedding among {@link #layerNames()}. */
    public static final String PENULTIMATE = "penultimate";

    private final EmbeddingClassifier classifier;
    private final List<Block> children;
    private final List<Integer> taps;
    private final List<String> names;

    private LayerFeatures(
            EmbeddingClassifier classifier, List<Block> children, List<Integer> taps, List<String> names) {
        this.classifier = classifier;
        this.children = children;
        this.taps = taps;
        this.names = names;
    }

    /**
     * Finds the layers of a block.
     *
     * @param block the model's block
     * @return the reader of its layers
     * @throws IllegalArgumentException if the block is not an {@link EmbeddingClassifier}, its
     *     {@code features()} holds MoE layers but is not a {@link SequentialBlock}, or a child of
     *     {@code features()} holds more than one MoE layer
     */
    public static LayerFeatures of(Block block) {
        Preconditions.checkNotNull(block, "block must not be null");
        Preconditions.checkArgument(
                block instanceof EmbeddingClassifier,
                "probes need the penultimate features, but the model's block (%s) is not a"
                        + " dev.lethe.moe.model.EmbeddingClassifier",
                block.getClass().getName());
        EmbeddingClassifier classifier = (EmbeddingClassifier) block;
        Block features = classifier.features();
        Map<MoeBlock, String> paths = new IdentityHashMap<>();
        MoeBlocks.find(block).forEach((path, moe) -> paths.put(moe, path));
        Map<String, MoeBlock> inFeatures = MoeBlocks.find(features);
        List<String> names = new ArrayList<>();
        List<Integer> taps = new ArrayList<>();
        List<Block> children = null;
        if (features instanceof SequentialBlock) {
            children = new ArrayList<>();
            for (Pair<String, Block> child : features.getChildren()) {
                Map<String, MoeBlock> found = MoeBlocks.find(child.getValue());
                Preconditions.checkArgument(
                        found.size() <= 1,
                        "child '%s' of features() holds %s MoE layers (%s); a probe reads the output of"
                                + " each MoE layer, so each must be a child of features() or the only MoE"
                                + " layer of one",
                        child.getKey(),
                        found.size(),
                        found.keySet());
                if (found.size() == 1) {
                    taps.add(children.size());
                    names.add(paths.get(found.values().iterator().next()));
                }
                children.add(child.getValue());
            }
        } else {
            Preconditions.checkArgument(
                    inFeatures.isEmpty(),
                    "features() of %s is a %s holding %s MoE layers; per-layer probes need it to be an"
                            + " ai.djl.nn.SequentialBlock, run child by child",
                    block.getClass().getSimpleName(),
                    features.getClass().getSimpleName(),
                    inFeatures.size());
        }
        names.add(PENULTIMATE);
        return new LayerFeatures(
                classifier,
                children == null ? null : ImmutableList.copyOf(children),
                ImmutableList.copyOf(taps),
                ImmutableList.copyOf(names));
    }

    /** @return the names of the layers read, in forward order, {@value #PENULTIMATE} last */
    public List<String> layerNames() {
        return names;
    }

    /**
     * One inference pass (training = false: BatchNorm running statistics, no routing noise).
     *
     * @param parameters the parameter store (e.g. {@code new ParameterStore(scope, true)})
     * @param images the input batch, (B, ...)
     * @return {@code layerNames().size() + 1} arrays: the pooled output of each MoE layer (B,
     *     C_i), the penultimate embedding (B, D), then the logits (B, numClasses)
     */
    public NDList forward(ParameterStore parameters, NDArray images) {
        NDList out = new NDList();
        NDList x = new NDList(images);
        if (children == null) {
            x = classifier.features().forward(parameters, x, false);
        } else {
            int next = 0;
            for (int i = 0; i < children.size(); i++) {
                x = children.get(i).forward(parameters, x, false);
                if (next < taps.size() && taps.get(next) == i) {
                    out.add(pool(x.head()));
                    next++;
                }
            }
        }
        out.add(x.head());
        out.add(classifier.classifier().forward(parameters, x, false).head());
        return out;
    }

    private static NDArray pool(NDArray x) {
        Shape shape = x.getShape();
        if (shape.dimension() <= 2) {
            return x;
        }
        return x.reshape(shape.get(0), shape.get(1), -1).mean(new int[] {2});
    }
}
