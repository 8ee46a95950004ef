#!/usr/bin/env bash
# Builds a self-contained kit that runs Lethe's benchmarks on a CUDA machine that has PyTorch in
# Python but no Java and no network.
#
#   moe-bench/gpu/build-kit.sh [KIT_DIR]      (default moe-bench/target/gpu-kit; must stay < 64 MiB)
#
# The kit:
#   jre/                 a jlink'ed Java 17 runtime (only the modules JMH + DJL need)
#   lib/                 moe-bench's jar (benchmarks + JMH's BenchmarkList) and its runtime jars,
#                        WITHOUT pytorch-native-cpu (libtorch comes from the machine's Python)
#   jni/cu128/           libdjl_torch.so (CUDA 12.8 build) from the pytorch-jni 2.7.1-0.36.0 jar
#   moe-bench/run.sh, report.py, reference/moe_reference.py
#   run-on-gpu.sh        the entry point on the GPU machine
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KIT="${1:-$ROOT/moe-bench/target/gpu-kit}"
cd "$ROOT"
rm -rf "$KIT"
mkdir -p "$KIT/lib" "$KIT/jni/cu128" "$KIT/moe-bench/reference"

if ! mvn -B -ntp -q -Dquick -pl moe-bench -am install -DskipTests; then
  echo "WARNING: the reactor build failed; packaging moe-bench against the modules last installed" >&2
  mvn -B -ntp -q -Dquick -pl moe-bench install -DskipTests
fi
mvn -B -ntp -q -pl moe-bench org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
  -DincludeScope=runtime -DexcludeArtifactIds=pytorch-native-cpu -DoutputDirectory="$KIT/lib"
cp moe-bench/target/moe-bench-*.jar "$KIT/lib/"
rm -f "$KIT"/lib/*-sources.jar "$KIT"/lib/*-javadoc.jar

# the JNI library goes to DJL's cache dir at run time (run-on-gpu.sh), so the 3.3 MB jar of all
# its builds stays home; only the CUDA 12.8 build travels
JNI_JAR="$(ls "$KIT"/lib/pytorch-jni-*.jar)"
unzip -q -j -o "$JNI_JAR" "jnilib/linux-x86_64/cu128/libdjl_torch.so" -d "$KIT/jni/cu128"
rm "$JNI_JAR"

# jdeps lists java.base, java.management (JMH's MXBeans), jdk.unsupported (sun.misc.Unsafe for Guava,
# Gson, JNA), plus java.desktop (DJL's image classes), java.sql and java.compiler (optional
# paths of Gson and JMH's generator) that the benchmarks never load; java.logging is small and
# used by JMH's runner.
jlink --add-modules java.base,java.logging,java.management,jdk.unsupported \
  --strip-debug --no-header-files --no-man-pages --compress=2 --output "$KIT/jre"

cp moe-bench/run.sh moe-bench/report.py "$KIT/moe-bench/"
cp moe-bench/reference/moe_reference.py "$KIT/moe-bench/reference/"
cp moe-bench/gpu/run-on-gpu.sh "$KIT/"
chmod +x "$KIT/run-on-gpu.sh" "$KIT/moe-bench/run.sh"

SIZE_KB="$(du -sk "$KIT" | cut -f1)"
echo "kit: $KIT, $((SIZE_KB / 1024)) MiB"
du -sh "$KIT"/* | sort -h
if [ "$SIZE_KB" -ge $((64 * 1024)) ]; then echo "kit is over 64 MiB" >&2; exit 1; fi
