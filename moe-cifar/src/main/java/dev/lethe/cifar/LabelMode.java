package dev.lethe.cifar;

/**
 * Which label of a CIFAR record becomes the class id.
 *
 * <p>CIFAR-10 records carry one label, read as {@link #FINE}. CIFAR-100 records carry a coarse label
 * (20 superclasses, names in {@code coarse_label_names.txt}) followed by a fine label (100 classes,
 * names in {@code fine_label_names.txt}); the user picks one.
 */
public enum LabelMode {
    /** The fine label: the only label of CIFAR-10 (10 classes), the fine label of CIFAR-100 (100). */
    FINE,
    /** The coarse label of CIFAR-100 (20 superclasses); not defined for CIFAR-10. */
    COARSE
}
