/**
 * Exact deletion: {@link dev.lethe.unlearn.exact.ExactTraining} trains a model in which a class's
 * influence is confined to parts that a deletion re-derives without it, bit for bit.
 */
package dev.lethe.unlearn.exact;
