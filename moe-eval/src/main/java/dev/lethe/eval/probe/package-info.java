/**
 * Linear probes: {@link dev.lethe.eval.probe.LinearProbe} (multinomial logistic regression on
 * frozen features) and {@link dev.lethe.eval.probe.LayerProbes} (one at every MoE layer and at the
 * penultimate embedding).
 */
package dev.lethe.eval.probe;
