/**
 * The forgetting loop ({@link dev.lethe.unlearn.train.ForgettingLoop}) on DJL's {@code Trainer},
 * and the values it runs: {@link dev.lethe.unlearn.train.Phase}s, each with a {@link
 * dev.lethe.unlearn.train.ParameterSelection}, a loss and a {@link
 * dev.lethe.unlearn.train.BatchPlan} of {@link dev.lethe.unlearn.train.BatchMix}es. It knows no
 * method.
 */
package dev.lethe.unlearn.train;
