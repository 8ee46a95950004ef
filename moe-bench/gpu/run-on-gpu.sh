#!/usr/bin/env bash
# Runs Lethe's benchmarks on this machine's GPU next to the PyTorch reference, with the kit made by
# moe-bench/gpu/build-kit.sh. Needs python3 with torch (CUDA) and nothing else: no Java, no network.
#
#   ./run-on-gpu.sh            results in $OUT (or ./out): PERFORMANCE.md, results/bench-gpu.json, logs
#
# How DJL finds libtorch here (ai.djl.pytorch.jni.LibUtils, DJL 0.36.0):
#   PYTORCH_LIBRARY_PATH = torch's own lib dir (read-only is fine: nothing is written there); DJL
#     loads every libtorch*.so in it.
#   the JNI library is looked for in that dir, then in
#     $ENGINE_CACHE_DIR/pytorch/$PYTORCH_VERSION-$PYTORCH_FLAVOR-linux-x86_64/0.36.0-libdjl_torch.so
#     which this script fills from jni/$KIT_FLAVOR in a writable temp dir.
#   PYTORCH_VERSION=2.7.1 only names that folder (no download: the override path is used).
#   DJL counts GPUs through JNA's libcudart.so; pip's CUDA ships only libcudart.so.NN, so a link
#     named libcudart.so is put on LD_LIBRARY_PATH.
# Overrides (for a CPU test of the kit): KIT_FLAVOR=cpu KIT_DEVICE=cpu TORCH_LIB=dir PYTHON=python
# KIT_JNI=path/to/cpu/libdjl_torch.so
# KIT_QUICK=1 (one short iteration each).
set -uo pipefail
KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-$KIT/out}"; export OUT
mkdir -p "$OUT"
PYTHON="${PYTHON:-python3}"
FLAVOR="${KIT_FLAVOR:-cu128}"
export BENCH_DEVICE="${KIT_DEVICE:-gpu}"
LOG="$OUT/run-on-gpu.log"
exec > >(tee -a "$LOG") 2>&1

echo "== $(date -u +%FT%TZ) $(uname -n)"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>/dev/null || echo "no nvidia-smi"
"$PYTHON" -c 'import torch;print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
TORCH_LIB="${TORCH_LIB:-$("$PYTHON" -c 'import torch,os;print(os.path.dirname(torch.__file__)+"/lib")')}"
echo "torch lib: $TORCH_LIB"

WORK="$(mktemp -d)"
CACHE="$WORK/djl-cache"
JNI_DIR="$CACHE/pytorch/2.7.1-$FLAVOR-linux-x86_64"
mkdir -p "$JNI_DIR" "$WORK/lib"
cp "${KIT_JNI:-$KIT/jni/$FLAVOR/libdjl_torch.so}" "$JNI_DIR/0.36.0-libdjl_torch.so"
CUDART="$("$PYTHON" - <<'PY'
import glob, os, torch
roots = [os.path.dirname(torch.__file__), os.path.dirname(os.path.dirname(torch.__file__))]
hits = [p for r in roots for p in glob.glob(r + "/**/libcudart.so*", recursive=True)]
print(sorted(hits)[0] if hits else "")
PY
)"
if [ -n "$CUDART" ]; then ln -s "$CUDART" "$WORK/lib/libcudart.so"; echo "cudart: $CUDART"; fi
export PYTORCH_LIBRARY_PATH="$TORCH_LIB" PYTORCH_FLAVOR="$FLAVOR" PYTORCH_VERSION=2.7.1
export DJL_CACHE_DIR="$CACHE" ENGINE_CACHE_DIR="$CACHE" OPT_OUT_TRACKING=true DJL_OFFLINE=true
export LD_LIBRARY_PATH="$WORK/lib:$TORCH_LIB${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export JAVA="$KIT/jre/bin/java" BENCH_CP="$KIT/lib/*" PYTHON

echo "== engine check"
"$JAVA" -Dai.djl.offline=true -cp "$BENCH_CP" dev.lethe.bench.EngineCheck 2>&1 | tail -40
echo "engine check exit status: ${PIPESTATUS[0]}" | tee "$OUT/engine-check.status"

echo "== benchmarks (JMH on $BENCH_DEVICE, then the PyTorch reference on the same device)"
"$KIT/moe-bench/run.sh" --no-build --threads "${THREADS:-1}" gpu
echo "== done: $OUT"
