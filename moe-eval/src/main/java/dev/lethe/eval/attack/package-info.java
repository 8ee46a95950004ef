/**
 * Attacks that read a model's outputs: {@link dev.lethe.eval.attack.MembershipInference}
 * (MIA-Efficacy, the true label's probability) and {@link
 * dev.lethe.eval.attack.ClassMembershipAttack} (the whole probability vector).
 */
package dev.lethe.eval.attack;
