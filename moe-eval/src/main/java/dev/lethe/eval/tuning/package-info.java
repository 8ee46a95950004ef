/**
 * Choosing a method's settings on validation data with one rule and one budget for every method:
 * {@link dev.lethe.eval.tuning.ValidationSweep}, {@link dev.lethe.eval.tuning.Candidate}, {@link
 * dev.lethe.eval.tuning.ValidationScore}.
 */
package dev.lethe.eval.tuning;
