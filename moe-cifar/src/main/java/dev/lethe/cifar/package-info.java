/**
 * CIFAR-10 and CIFAR-100 (official binary layout) as DJL datasets, offline and strict.
 *
 * <p>{@link dev.lethe.cifar.CifarData#load} decodes a {@code .tar.gz} (streamed) or an extracted folder
 * once into compact bytes; {@link dev.lethe.cifar.CifarDataset#builder()} makes train / validation /
 * test views over it, optionally keeping or dropping classes, augmenting and normalising whole
 * batches. Bad input throws {@link dev.lethe.cifar.CifarFormatException}. Nothing is downloaded unless
 * asked ({@code optDownload(true)}, {@link dev.lethe.cifar.CifarData#download}).
 */
package dev.lethe.cifar;
