/**
 * The unlearning methods, one class each: {@link dev.lethe.unlearn.method.UnlearningMethod} is what
 * a method is; {@link dev.lethe.unlearn.method.EditingMethod} is the base of methods that edit the
 * trained model through the forgetting loop, with a hook for each part of a method; {@link
 * dev.lethe.unlearn.method.MethodOptions} are a method's own options (each method with options has
 * a nested {@code Options} record); {@link dev.lethe.unlearn.method.RetrainOracle} is the reference
 * model trained without the class.
 *
 * <p>Suppression (the class leaves the outputs): {@link dev.lethe.unlearn.method.ExpertTargeted}
 * (ours), {@link dev.lethe.unlearn.method.FineTune}, {@link
 * dev.lethe.unlearn.method.GradientAscent}, {@link dev.lethe.unlearn.method.RandomLabels}, {@link
 * dev.lethe.unlearn.method.SalUn}, {@link dev.lethe.unlearn.method.Scrub}. Erasure (the parameters
 * that carried the class are re-derived or moved): {@link dev.lethe.unlearn.method.ResetRetrain}
 * (with {@link dev.lethe.unlearn.method.ParameterReset}), {@link
 * dev.lethe.unlearn.method.TrunkEdit}.
 */
package dev.lethe.unlearn.method;
