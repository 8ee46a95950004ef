/**
 * The relearning test: {@link dev.lethe.eval.relearn.RelearningTest} fine-tunes a copy of the model
 * as an attacker would and records a {@link dev.lethe.eval.relearn.RelearningCurve}.
 */
package dev.lethe.eval.relearn;
