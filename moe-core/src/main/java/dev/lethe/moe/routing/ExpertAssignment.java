package dev.lethe.moe.routing;

import com.google.common.base.Preconditions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which expert of an MoE layer each class belongs to: the contract of class routing ({@link
 * dev.lethe.moe.MoeBlock#setClassRouting}). In training, an image is sent to the expert of its
 * class (teacher forcing) and the router learns to predict that expert; at inference the router
 * decides. Several classes may share an expert (a group); an expert that no class owns is never
 * forced, and a router trained to the assignment learns to leave it unused.
 *
 * <p>The same assignment applies to every MoE layer of a model. Immutable; JSON-friendly (one int
 * per class).
 */
public final class ExpertAssignment {

    private final int numExperts;
    private final int[] expertOfClass;

    private ExpertAssignment(int numExperts, int[] expertOfClass) {
        this.numExperts = numExperts;
        this.expertOfClass = expertOfClass;
    }

    /**
     * One expert per class: class c owns expert c.
     *
     * @param numClasses the number of classes C, &gt;= 1 (the layer needs E &gt;= C experts)
     * @return the assignment
     */
    public static ExpertAssignment onePerClass(int numClasses) {
        Preconditions.checkArgument(numClasses >= 1, "numClasses (%s) must be >= 1", numClasses);
        int[] map = new int[numClasses];
        Arrays.setAll(map, c -> c);
        return new ExpertAssignment(numClasses, map);
    }

    /**
     * Contiguous groups: class c owns expert {@code floor(c * E / C)}, so every expert owns {@code
     * C / E} neighbouring classes (or one class each when E = C).
     *
     * @param numClasses C, &gt;= 1
     * @param numExperts E, in [1, C]
     * @return the assignment
     */
    public static ExpertAssignment contiguous(int numClasses, int numExperts) {
        Preconditions.checkArgument(numClasses >= 1, "numClasses (%s) must be >= 1", numClasses);
        Preconditions.checkArgument(
                numExperts >= 1 && numExperts <= numClasses,
                "numExperts (%s) must be in [1, numClasses (%s)]",
                numExperts,
                numClasses);
        int[] map = new int[numClasses];
        Arrays.setAll(map, c -> (int) ((long) c * numExperts / numClasses));
        return new ExpertAssignment(numExperts, map);
    }

    /**
     * An explicit assignment, e.g. groups of confusable classes.
     *
     * @param numExperts E, the experts of the layer
     * @param expertOfClass the expert of each class, each in [0, E)
     * @return the assignment
     */
    public static ExpertAssignment of(int numExperts, int... expertOfClass) {
        Preconditions.checkArgument(numExperts >= 1, "numExperts (%s) must be >= 1", numExperts);
        Preconditions.checkArgument(expertOfClass.length >= 1, "expertOfClass must name the expert of at least one class");
        for (int c = 0; c < expertOfClass.length; c++) {
            Preconditions.checkArgument(
                    expertOfClass[c] >= 0 && expertOfClass[c] < numExperts,
                    "the expert of class %s (%s) must be in [0, numExperts (%s))",
                    c,
                    expertOfClass[c],
                    numExperts);
        }
        return new ExpertAssignment(numExperts, expertOfClass.clone());
    }

    /** @return the number of classes C */
    public int numClasses() {
        return expertOfClass.length;
    }

    /** @return the number of experts E the assignment is for */
    public int numExperts() {
        return numExperts;
    }

    /**
     * @param classId a class in [0, C)
     * @return the expert that class owns
     */
    public int expertOf(int classId) {
        Preconditions.checkElementIndex(classId, expertOfClass.length, "classId");
        return expertOfClass[classId];
    }

    /**
     * @param expert an expert in [0, E)
     * @return the classes that own it, ascending (empty for an expert no class owns)
     */
    public List<Integer> classesOf(int expert) {
        Preconditions.checkElementIndex(expert, numExperts, "expert");
        List<Integer> out = new ArrayList<>();
        for (int c = 0; c < expertOfClass.length; c++) {
            if (expertOfClass[c] == expert) {
                out.add(c);
            }
        }
        return out;
    }

    /** @return the expert of each class (a copy) */
    public int[] toArray() {
        return expertOfClass.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExpertAssignment
                && ((ExpertAssignment) o).numExperts == numExperts
                && Arrays.equals(((ExpertAssignment) o).expertOfClass, expertOfClass);
    }

    @Override
    public int hashCode() {
        return 31 * numExperts + Arrays.hashCode(expertOfClass);
    }

    @Override
    public String toString() {
        return "ExpertAssignment(E=" + numExperts + ", expertOfClass=" + Arrays.toString(expertOfClass) + ")";
    }
}
