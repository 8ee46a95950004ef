package dev.lethe.examples;

import ai.djl.Model;
import ai.djl.training.dataset.Dataset;
import dev.lethe.cifar.CifarData;
import dev.lethe.cifar.CifarDataset;
import dev.lethe.cifar.CifarVariant;
import dev.lethe.cifar.LabelMode;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.data.LabeledData;
import dev.lethe.unlearn.profile.ActivationProfile;
import dev.lethe.unlearn.profile.ActivationProfiler;

/**
 * Prints which experts each class of the test set is routed to: per MoE layer, the class × expert
 * share of gate mass.
 *
 * <pre>
 * java ... dev.lethe.examples.ProfileRouting --model /tmp/moe-model --limit 2000
 * </pre>
 */
public final class ProfileRouting {

    private ProfileRouting() {}

    /**
     * @param args {@code --model DIR --data PATH --limit N}
     * @throws Exception if the model or the data is missing
     */
    public static void main(String[] args) throws Exception {
        ExampleArgs a = new ExampleArgs(args);
        CifarData data = CifarData.load(a.getPath("data", ExampleArgs.DEFAULT_DATA), CifarVariant.CIFAR10,
                LabelMode.FINE);
        CifarDataset.Builder test = CifarDataset.builder().optData(data).optUsage(Dataset.Usage.TEST)
                .setSampling(256, false);
        int limit = a.getInt("limit", 0);
        if (limit > 0) {
            test.optLimit(limit);
        }
        CifarDataset images = test.build();
        LabeledData labeled = LabeledData.of(images, images.labels(), images.classNames());

        try (Model model = MoeResNet.load(a.getPath("model", "moe-model"))) {
            ActivationProfile profile = ActivationProfiler.profile(model, labeled, null, 256);
            System.out.print(profile.toTable());
            for (String layer : profile.layerNames()) {
                System.out.printf("%s: MI(class; expert) = %.1f%% of the routing entropy%n", layer,
                        100 * profile.layer(layer).mutualInformationShare());
            }
        }
    }
}
