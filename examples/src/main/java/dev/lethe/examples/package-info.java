/** Example programs and the {@code lethe} command line. */
package dev.lethe.examples;
