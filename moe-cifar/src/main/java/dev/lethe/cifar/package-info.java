/** CIFAR-10 and CIFAR-100 (official binary layout) as DJL datasets. */
package dev.lethe.cifar;
