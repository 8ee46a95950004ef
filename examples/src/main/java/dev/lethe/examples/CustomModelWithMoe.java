package dev.lethe.examples;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.Blocks;
import ai.djl.nn.SequentialBlock;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.BatchNorm;
import ai.djl.nn.pooling.Pool;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.EasyTrain;
import ai.djl.training.ParameterStore;
import ai.djl.training.Trainer;
import ai.djl.training.dataset.Batch;
import ai.djl.training.dataset.Dataset;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarDataset;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.moe.ConvExperts;
import dev.lethe.moe.MoeBlock;
import dev.lethe.moe.loss.MoeTrainingLoss;
import dev.lethe.moe.routing.Routing;
import dev.lethe.moe.routing.RoutingStats;

/**
 * Puts a {@link MoeBlock} inside your own DJL model: a small CNN whose middle layer is 8 residual
 * experts with top-2 routing, trained for a few steps with {@link MoeTrainingLoss} (cross-entropy
 * plus the router's load-balancing and z-losses), then the routing statistics on test images.
 *
 * <pre>
 * java ... dev.lethe.examples.CustomModelWithMoe --data ../shared/data/cifar-10-binary.tar.gz --limit 1024
 * </pre>
 */
public final class CustomModelWithMoe {

    private CustomModelWithMoe() {}

    /**
     * @param args {@code --data PATH --limit N} (N training images, one pass)
     * @throws Exception if the data is missing
     */
    public static void main(String[] args) throws Exception {
        ExampleArgs a = new ExampleArgs(args);
        CifarData data = CifarData.load(a.getPath("data", ExampleArgs.DEFAULT_DATA), CifarVariant.CIFAR10,
                LabelMode.FINE);
        int limit = a.getInt("limit", 1024);
        CifarDataset train = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.TRAIN).optValidationSize(0)
                .optAugment(true).optLimit(limit).setSampling(64, true).build();
        CifarDataset test = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.TEST)
                .optLimit(limit).setSampling(128, false).build();

        // The MoE layer: 8 experts, each a residual block on 16 channels; each image goes to 2 of them.
        MoeBlock moe = MoeBlock.builder()
                .setNumExperts(8)
                .setExpertFactory(ConvExperts.residual(16))
                .optTopK(2)
                .build();
        SequentialBlock net = new SequentialBlock()
                .add(Conv2d.builder().setKernelShape(new Shape(3, 3)).optPadding(new Shape(1, 1)).setFilters(16).build())
                .add(BatchNorm.builder().build())
                .add(Activation::relu)
                .add(moe)
                .add(Pool.globalAvgPool2dBlock())
                .add(Blocks.batchFlattenBlock())
                .add(Linear.builder().setUnits(data.numClasses()).build());

        // The loss adds the router losses of every MoeBlock in the model to the task loss.
        MoeTrainingLoss loss = MoeTrainingLoss.builder(Loss.softmaxCrossEntropyLoss(), net)
                .optBalance(1e-2f)
                .optZLoss(1e-3f)
                .build();

        Engine.getInstance().setRandomSeed(0);
        try (Model model = Model.newInstance("custom-moe")) {
            model.setBlock(net);
            DefaultTrainingConfig config = new DefaultTrainingConfig(loss).optOptimizer(Optimizer.adam().build());
            try (Trainer trainer = model.newTrainer(config)) {
                trainer.initialize(new Shape(1, 3, 32, 32));
                int step = 0;
                for (Batch batch : trainer.iterateDataset(train)) {
                    try (batch) {
                        EasyTrain.trainBatch(trainer, batch);
                        trainer.step();
                    }
                    System.out.printf("step %d  losses %s%n", ++step, loss.lastValues());
                }
            }

            // Routing on test images, in inference mode (no router noise).
            RoutingStats.Accumulator routing = RoutingStats.accumulator(moe.getNumExperts(), data.numClasses());
            try (NDManager manager = model.getNDManager().newSubManager()) {
                for (Batch batch : test.getData(manager)) {
                    try (batch) {
                        net.forward(new ParameterStore(batch.getManager(), false), batch.getData(), false);
                        int[] labels = batch.getLabels().head().toType(DataType.INT32, false).toIntArray();
                        Routing r = moe.lastRouting().orElseThrow();
                        routing.add(r, labels);
                    }
                }
            }
            System.out.print(routing.snapshot().toTable(data.classNames()));
        }
    }
}
