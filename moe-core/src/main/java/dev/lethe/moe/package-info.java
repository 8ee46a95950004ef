/** Mixture-of-Experts layers for convolutional networks on DJL. */
package dev.lethe.moe;
