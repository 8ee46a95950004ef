/** JMH benchmarks. */
package dev.lethe.bench;
