package dev.lethe.unlearn.exact;

import com.google.common.base.Preconditions;
import com.google.common.collect.ImmutableSortedSet;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.lethe.moe.train.TrainingRecipe;
import java.util.Collection;
import java.util.Locale;
import java.util.Set;
import java.util.SortedSet;
import java.util.stream.IntStream;

/**
 * The settings of {@link ExactTraining}: which classes are public (never deleted, they train the
 * trunk), the recipe, the epochs of each phase, how many public images a class's unit sees as
 * negatives, and the seed. Immutable; {@code with…} makes variants; JSON with {@link #toJson()}
 * (recorded in every model it trains).
 *
 * <p>Defaults: the recipe {@link TrainingRecipe#isolated()}, its epochs for the trunk and each
 * unit, half of them (at least 1) for the routers and the head, one public image per class image
 * as negatives, the recipe's seed.
 */
public final class ExactPlan {

    private final SortedSet<Integer> publicClasses;
    private final TrainingRecipe recipe;
    private final int trunkEpochs;
    private final int unitEpochs;
    private final int headEpochs;
    private final float negatives;
    private final long seed;

    private ExactPlan(
            SortedSet<Integer> publicClasses, TrainingRecipe recipe, int trunkEpochs, int unitEpochs, int headEpochs, float negatives, long seed) {
        Preconditions.checkArgument(!publicClasses.isEmpty(), "publicClasses must name at least one class: the trunk is trained on them");
        for (int c : publicClasses) {
            Preconditions.checkArgument(c >= 0, "public class (%s) must be >= 0", c);
        }
        Preconditions.checkArgument(trunkEpochs >= 1, "trunkEpochs (%s) must be >= 1", trunkEpochs);
        Preconditions.checkArgument(unitEpochs >= 1, "unitEpochs (%s) must be >= 1", unitEpochs);
        Preconditions.checkArgument(headEpochs >= 1, "headEpochs (%s) must be >= 1", headEpochs);
        Preconditions.checkArgument(
                negatives >= 0 && Float.isFinite(negatives), "negatives (%s) must be finite and >= 0", negatives);
        this.publicClasses = ImmutableSortedSet.copyOf(publicClasses);
        this.recipe = Preconditions.checkNotNull(recipe, "recipe must not be null");
        this.trunkEpochs = trunkEpochs;
        this.unitEpochs = unitEpochs;
        this.headEpochs = headEpochs;
        this.negatives = negatives;
        this.seed = seed;
    }

    /**
     * The default plan for some public classes.
     *
     * @param publicClasses the classes that are never deleted, at least one
     * @return the plan with the default recipe ({@link TrainingRecipe#isolated()})
     */
    public static ExactPlan of(Collection<Integer> publicClasses) {
        return of(publicClasses, TrainingRecipe.isolated());
    }

    /**
     * A plan with a recipe's optimisation, epochs and seed.
     *
     * @param publicClasses the classes that are never deleted, at least one
     * @param recipe the recipe (e.g. {@code TrainingRecipe.isolated(TrainingRecipe.fast())}); its
     *     router-supervision weight is the routers' in the last phase
     * @return the plan
     */
    public static ExactPlan of(Collection<Integer> publicClasses, TrainingRecipe recipe) {
        Preconditions.checkNotNull(publicClasses, "publicClasses must not be null");
        Preconditions.checkNotNull(recipe, "recipe must not be null");
        return new ExactPlan(
                ImmutableSortedSet.copyOf(publicClasses),
                recipe,
                recipe.epochs(),
                recipe.epochs(),
                Math.max(1, recipe.epochs() / 2),
                1f,
                recipe.seed());
    }

    /**
     * The class-assigned configuration trained in phases, with no class deletable exactly: every
     * class is public, so the trunk is trained on every image (through one carrier expert, as in
     * {@link ExactTraining}), then one unit per class (its experts of every MoE layer), then the
     * routers and the head. Each class keeps its own experts and the routers learn the assignment,
     * as in an exact configuration, but the trunk carries every class: forgetting a class from it
     * is approximate (e.g. re-deriving its unit, the routers and the head from retain data), and
     * the model's ledger says which tensors still carry the class. It is the isolated recipe of
     * issue 13 that trains: jointly, class-routed dispatch leaks the label to the head
     * (docs/results/isolation-diagnosis.md).
     *
     * @param numClasses the number of classes, at least 2
     * @param recipe the recipe of every phase (e.g. {@code TrainingRecipe.isolated(TrainingRecipe.fast())})
     * @return the plan, every class public
     */
    public static ExactPlan assigned(int numClasses, TrainingRecipe recipe) {
        Preconditions.checkArgument(numClasses >= 2, "numClasses (%s) must be >= 2", numClasses);
        return of(IntStream.range(0, numClasses).boxed().toList(), recipe);
    }

    /**
     * @param classes the public classes of the copy, at least one
     * @return a copy with these public classes (e.g. those of this plan without classes that are
     *     left out of the data: the same plan on the data without them)
     */
    public ExactPlan withPublicClasses(Collection<Integer> classes) {
        Preconditions.checkNotNull(classes, "classes must not be null");
        return new ExactPlan(ImmutableSortedSet.copyOf(classes), recipe, trunkEpochs, unitEpochs, headEpochs, negatives, seed);
    }

    /** @return the public classes, ascending */
    public Set<Integer> publicClasses() {
        return publicClasses;
    }

    /**
     * @param classId a class
     * @return whether it is public (trains the trunk; cannot be deleted exactly)
     */
    public boolean isPublic(int classId) {
        return publicClasses.contains(classId);
    }

    /** @return the recipe every phase starts from */
    public TrainingRecipe recipe() {
        return recipe;
    }

    /** @return epochs of the trunk phase, over the public images */
    public int trunkEpochs() {
        return trunkEpochs;
    }

    /** @return epochs of each class's unit phase, over its images and the negatives */
    public int unitEpochs() {
        return unitEpochs;
    }

    /** @return epochs of the router and head phase, over all images (what a deletion retrains) */
    public int headEpochs() {
        return headEpochs;
    }

    /** @return public images per image of the class in a unit's phase */
    public float negatives() {
        return negatives;
    }

    /** @return the seed of initialisation, data order and augmentation of every phase */
    public long seed() {
        return seed;
    }

    /**
     * @param trunk epochs of the trunk phase, &gt;= 1
     * @param unit epochs of each unit phase, &gt;= 1
     * @param head epochs of the router and head phase, &gt;= 1
     * @return a copy
     */
    public ExactPlan withEpochs(int trunk, int unit, int head) {
        return new ExactPlan(publicClasses, recipe, trunk, unit, head, negatives, seed);
    }

    /**
     * @param negatives public images per class image in a unit's phase, &gt;= 0 (0: the unit sees
     *     only its class, and its temporary head learns nothing to tell it from others)
     * @return a copy
     */
    public ExactPlan withNegatives(float negatives) {
        return new ExactPlan(publicClasses, recipe, trunkEpochs, unitEpochs, headEpochs, negatives, seed);
    }

    /**
     * @param seed the seed
     * @return a copy
     */
    public ExactPlan withSeed(long seed) {
        return new ExactPlan(publicClasses, recipe, trunkEpochs, unitEpochs, headEpochs, negatives, seed);
    }

    /** @return the plan as JSON */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        JsonArray pub = new JsonArray();
        publicClasses.forEach(pub::add);
        o.add("publicClasses", pub);
        o.add("recipe", JsonParser.parseString(recipe.toJson()));
        o.addProperty("recipeName", recipe.name());
        o.addProperty("trunkEpochs", trunkEpochs);
        o.addProperty("unitEpochs", unitEpochs);
        o.addProperty("headEpochs", headEpochs);
        o.addProperty("negatives", negatives);
        o.addProperty("seed", seed);
        return o;
    }

    /**
     * @param json JSON written by {@link #toJson()}
     * @return the plan
     * @throws IllegalArgumentException if a field is missing or invalid
     */
    public static ExactPlan fromJson(JsonObject json) {
        try {
            SortedSet<Integer> pub = new java.util.TreeSet<>();
            for (JsonElement e : json.getAsJsonArray("publicClasses")) {
                pub.add(e.getAsInt());
            }
            return new ExactPlan(
                    pub,
                    TrainingRecipe.fromJson(json.get("recipe").toString()),
                    json.get("trunkEpochs").getAsInt(),
                    json.get("unitEpochs").getAsInt(),
                    json.get("headEpochs").getAsInt(),
                    json.get("negatives").getAsFloat(),
                    json.get("seed").getAsLong());
        } catch (NullPointerException | ClassCastException | IllegalStateException e) {
            throw new IllegalArgumentException("malformed exact plan " + json + ": " + e, e);
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExactPlan && toJson().equals(((ExactPlan) o).toJson());
    }

    @Override
    public int hashCode() {
        return toJson().hashCode();
    }

    @Override
    public String toString() {
        return String.format(
                Locale.ROOT,
                "exact plan: public classes %s, recipe %s, epochs trunk %d / unit %d / head %d, negatives %.2f, seed %d",
                publicClasses,
                recipe.name(),
                trunkEpochs,
                unitEpochs,
                headEpochs,
                negatives,
                seed);
    }
}
