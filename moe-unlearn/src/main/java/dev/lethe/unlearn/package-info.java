/** Class unlearning for models built from {@code MoeBlock}s. */
package dev.lethe.unlearn;
