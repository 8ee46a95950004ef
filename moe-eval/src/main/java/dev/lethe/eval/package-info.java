/**
 * Evaluation of class unlearning, as an attacker would run it. The entry point is {@link
 * dev.lethe.eval.UnlearningEvaluator}, which makes an {@link dev.lethe.eval.UnlearningEvaluation}:
 * the class-wise protocol's UA, RA, TA, MIA-Efficacy and Avg.Gap (Jia et al. 2023, Fan et al. 2024)
 * and the measures a suppressed class cannot pass, each compared with the Retrain model's.
 *
 * <ul>
 *   <li>this package: the evaluator and its value; {@link dev.lethe.eval.Predictions} (one inference
 *       pass, kept on the host), {@link dev.lethe.eval.Accuracy} (the one accuracy implementation),
 *       {@link dev.lethe.eval.LayerFeatures} (where probes read);
 *   <li>{@code attack}: membership inference (MIA-Efficacy) and the class-membership attack on the
 *       probability vector;
 *   <li>{@code probe}: linear probes, at every MoE layer and the penultimate embedding;
 *   <li>{@code relearn}: relearning curves (few-shot and retain-only fine-tuning of a copy);
 *   <li>{@code routing}: the routing shift of the forgotten class;
 *   <li>{@code tuning}: the validation sweep that gives every method the same tuning budget.
 * </ul>
 *
 * <p>A new metric goes in the package of its kind, and into {@link dev.lethe.eval.UnlearningEvaluation}
 * (field, JSON, table) and {@link dev.lethe.eval.UnlearningEvaluator#evaluate} if it belongs to every
 * evaluation.
 */
package dev.lethe.eval;
