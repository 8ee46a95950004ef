/**
 * The unlearning methods, one class each: {@link dev.lethe.unlearn.method.UnlearningMethod} is what
 * a method is; {@link dev.lethe.unlearn.method.EditingMethod} is the base of methods that edit the
 * trained model through the forgetting loop, with a hook for each part of a method; {@link
 * dev.lethe.unlearn.method.RetrainOracle} is the reference model trained without the class.
 */
package dev.lethe.unlearn.method;
