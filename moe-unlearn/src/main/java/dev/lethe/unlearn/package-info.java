/**
 * Class unlearning for models built from {@code MoeBlock}s.
 *
 * <p>Where things live:
 *
 * <ul>
 *   <li>this package: the entry point {@link dev.lethe.unlearn.Unlearner} (a fluent facade), its
 *       settings ({@link dev.lethe.unlearn.UnlearningSettings}: a new setting goes there), the
 *       {@link dev.lethe.unlearn.Method} names, {@link dev.lethe.unlearn.Scope}, the result and
 *       audit record, and {@link dev.lethe.unlearn.Models} (model copies);
 *   <li>{@code method}: one class per unlearning method (a new method goes there, plus one constant
 *       in {@code Method});
 *   <li>{@code train}: the method-agnostic forgetting loop and what it runs (phases, parameter
 *       selections, batch plans);
 *   <li>{@code loss}: the losses and their named-entry contract ({@code UnlearningBatch});
 *   <li>{@code profile}: where classes are routed, expert selection, retain sampling;
 *   <li>{@code data}: labelled data and its identity.
 * </ul>
 */
package dev.lethe.unlearn;
