package dev.lethe.moe;

import dev.lethe.moe.model.MoeResNet;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Block;
import ai.djl.nn.Blocks;
import ai.djl.nn.ParallelBlock;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.norm.BatchNorm;
import com.google.common.base.Preconditions;
import java.util.Arrays;

/** Ready-made convolutional experts for {@link MoeBlock}. */
public final class ConvExperts {

    private ConvExperts() {}

    /**
     * A residual expert: {@code relu(x + bn(conv3x3(relu(bn(conv3x3(x))))))}, the basic block of
     * ResNet (He et al., CVPR 2016). Input and output are (B, channels, H, W).
     *
     * <p>Cost per image: {@code 2 * 9 * channels^2 * H * W} multiply-adds.
     *
     * @param channels the number of input and output channels, &gt; 0
     * @return a factory of residual experts
     */
    public static ExpertFactory residual(int channels) {
        Preconditions.checkArgument(channels > 0, "channels (%s) must be > 0", channels);
        return index -> residualBlock(channels);
    }

    /**
     * A single convolution expert: {@code relu(bn(conv3x3(x)))} with the given number of output
     * channels.
     *
     * @param outChannels the number of output channels, &gt; 0
     * @return a factory of conv-BN-ReLU experts
     */
    public static ExpertFactory convBnRelu(int outChannels) {
        Preconditions.checkArgument(outChannels > 0, "outChannels (%s) must be > 0", outChannels);
        return index -> convBn(outChannels, 1).add(Activation::relu);
    }

    /**
     * The residual basic block used by experts and by {@link MoeResNet}'s dense stages.
     *
     * @param channels input and output channels
     * @return a new block
     */
    public static Block residualBlock(int channels) {
        SequentialBlock main =
                convBn(channels, 1).add(Activation::relu).add(convBn(channels, 1));
        return new SequentialBlock()
                .add(
                        new ParallelBlock(
                                list ->
                                        new NDList(
                                                list.get(0)
                                                        .singletonOrThrow()
                                                        .add(list.get(1).singletonOrThrow())),
                                Arrays.asList(main, Blocks.identityBlock())))
                .add(Activation::relu);
    }

    /**
     * conv3x3 (no bias, padding 1) followed by BatchNorm.
     *
     * @param outChannels output channels
     * @param stride the stride of the convolution
     * @return a new block
     */
    public static SequentialBlock convBn(int outChannels, int stride) {
        return new SequentialBlock()
                .add(
                        Conv2d.builder()
                                .setKernelShape(new Shape(3, 3))
                                .optPadding(new Shape(1, 1))
                                .optStride(new Shape(stride, stride))
                                .optBias(false)
                                .setFilters(outChannels)
                                .build())
                .add(BatchNorm.builder().build());
    }
}
