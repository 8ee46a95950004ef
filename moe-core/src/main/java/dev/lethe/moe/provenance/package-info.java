/**
 * The provenance ledger: which classes' data reached which parameters in training ({@link
 * dev.lethe.moe.provenance.ProvenanceLedger}).
 */
package dev.lethe.moe.provenance;
