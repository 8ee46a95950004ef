package dev.lethe.unlearn.method;

import ai.djl.Model;
import ai.djl.engine.Engine;
import ai.djl.nn.Block;
import ai.djl.translate.TranslateException;
import com.google.common.base.Preconditions;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.moe.train.EpochResult;
import dev.lethe.moe.train.MoeTraining;
import dev.lethe.moe.train.TrainingProgress;
import dev.lethe.moe.train.TrainingRecipe;
import dev.lethe.unlearn.Models;
import dev.lethe.unlearn.data.LabeledData;
import java.io.IOException;
import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The Retrain oracle: the reference every unlearning method is measured against, a model of the
 * same architecture trained from scratch on the retain set only, with the recipe (optimizer,
 * schedule, router losses, epochs, batch size) the original model was trained with.
 *
 * <p>The recipe is the one given explicitly, else the one the model records ({@link
 * TrainingRecipe#of}, written by {@link MoeTraining#fit}); a model that records none and no recipe
 * given is an error, never a silent default. The seed (of DJL's engine: initialisation and data
 * order) is the unlearning run's. The oracle trains on the {@link LabeledData} it is given, as is:
 * pass the un-augmented data and let the recipe augment, as it did for the original. Immutable:
 * a description of the oracle, reported in the result.
 */
public final class RetrainOracle {

    /** Where the recipe came from. */
    public enum Source {
        /** Given explicitly ({@code optRetrainRecipe}). */
        SETTINGS,
        /** Recorded in the model by the training that made it. */
        MODEL
    }

    private final TrainingRecipe recipe;
    private final Source source;
    private final long seed;

    private RetrainOracle(TrainingRecipe recipe, Source source, long seed) {
        this.recipe = recipe;
        this.source = source;
        this.seed = seed;
    }

    /**
     * Decides the oracle for a model.
     *
     * @param model the model to match (its recorded recipe is the default)
     * @param recipe the recipe given explicitly, or null
     * @param seed the seed of initialisation and data order
     * @return the oracle
     * @throws IllegalStateException if no recipe is given and the model records none
     */
    public static RetrainOracle of(Model model, TrainingRecipe recipe, long seed) {
        Preconditions.checkNotNull(model, "model must not be null");
        if (recipe != null) {
            return new RetrainOracle(recipe, Source.SETTINGS, seed);
        }
        TrainingRecipe recorded =
                TrainingRecipe.of(model)
                        .orElseThrow(
                                () ->
                                        new IllegalStateException(
                                                "Method.RETRAIN trains the model's architecture again with the recipe"
                                                        + " it was trained with, but the model records no recipe"
                                                        + " (model property '"
                                                        + TrainingRecipe.MODEL_PROPERTY
                                                        + "', written by MoeTraining.fit) and none was given:"
                                                        + " pass optRetrainRecipe(recipe)"));
        return new RetrainOracle(recorded, Source.MODEL, seed);
    }

    /** @return the recipe */
    public TrainingRecipe recipe() {
        return recipe;
    }

    /** @return where it came from */
    public Source source() {
        return source;
    }

    /** @return the epochs trained */
    public int epochs() {
        return recipe.epochs();
    }

    /** @return the seed of initialisation and data order */
    public long seed() {
        return seed;
    }

    /**
     * @param retainItems the size of the retain set
     * @return the optimizer steps of the training
     */
    public int steps(int retainItems) {
        return recipe.epochs() * ((retainItems + recipe.batchSize() - 1) / recipe.batchSize());
    }

    /**
     * Trains a new model of the architecture on the retain items.
     *
     * @param architecture a model of the architecture (only its shape is used)
     * @param factory builds a block of the architecture, or null for a MoeResNet
     * @param data the training data, un-augmented
     * @param retain the retain items
     * @param progress receives one line per epoch, or null
     * @return the new model (records its recipe); the caller closes it
     * @throws IOException if the data cannot be read
     */
    public Model train(Model architecture, Supplier<Block> factory, LabeledData data, int[] retain, Consumer<String> progress)
            throws IOException {
        Engine.getInstance().setRandomSeed((int) seed);
        Model fresh = Models.fresh(architecture, factory);
        try {
            MoeTraining.fit(
                    fresh,
                    data.view(retain, recipe.batchSize(), true),
                    null,
                    recipe,
                    progress == null
                            ? TrainingProgress.silent()
                            : new TrainingProgress() {
                                @Override
                                public void onEpoch(EpochResult result) {
                                    progress.accept(result.toString());
                                }
                            });
            return fresh;
        } catch (TranslateException e) {
            fresh.close();
            throw new IOException("cannot read the retain data: " + e.getMessage(), e);
        } catch (RuntimeException | IOException e) {
            fresh.close();
            throw e;
        }
    }

    /** @return {@code recipe} (its JSON), {@code recipeName}, {@code epochs}, {@code seed}, {@code source} */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("source", source.name());
        o.addProperty("recipeName", recipe.name());
        o.addProperty("epochs", recipe.epochs());
        o.addProperty("seed", seed);
        o.add("recipe", JsonParser.parseString(recipe.toJson()));
        return o;
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "Retrain oracle: recipe %s from the %s, %d epochs, batch %d, seed %d",
                recipe.name(),
                source == Source.MODEL ? "model" : "settings",
                recipe.epochs(),
                recipe.batchSize(),
                seed);
    }
}
