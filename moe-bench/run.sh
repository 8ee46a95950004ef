#!/usr/bin/env bash
# Runs Lethe's JMH benchmarks (and the PyTorch reference) and writes their tables into
# docs/PERFORMANCE.md and JMH's JSON into docs/results/.
#
#   moe-bench/run.sh [options] SET...
#
# SETs
#   layer    MoE layer fwd+bwd: SPARSE vs DENSE, E 4,8,16, k 1,2, batch 32,128 + plain baseline
#            (~5 min at 1 thread)                          -> bench-cpu.json, "## MoE layer"
#   layer8   the same at E=8, k=2, batch 128 only (~1 min) -> bench-cpu.json, "## MoE layer"
#   train    one training step of the MoE CNN + the 2048² matmul ceiling
#                                                          -> bench-cpu.json, "## Training step"
#   unlearn  the activation profiler pass, its inference baseline and a 4-step Unlearner.retrain()
#            (UnlearningBenchmark) -> bench-cpu.json, "## Profiler and unlearning"
#   loader   the CIFAR data loader (CifarLoaderBenchmark, its own settings) -> bench-cpu.json,
#            "## Data loader"
#   pytorch  side by side: Java and PyTorch alternately (train, then layer E=8 k=2 b=128), --rounds
#            times, same threads                           -> pytorch-side-by-side.json
#   gpu      train + layer8 + the PyTorch reference with device=gpu (1 s iterations)
#                                                          -> bench-gpu.json, "## GPU"
#   profile  the training step phase by phase, Java (StepProfile) and PyTorch alternately, --rounds
#            times: wall and thread-CPU ms per phase, page faults per step, then libtorch's profiler
#            on 3 more steps of each: op counts and self time per op   -> "## Where the step's time goes"
#
# Options
#   --threads N   libtorch threads (default 1; use 2 only on an idle machine)
#   --rounds R    rounds of pytorch and profile, Java and Python alternating (default 3: a median)
#   --out DIR     where JSON goes (default docs/results; $OUT/results when $OUT is set)
#   --doc FILE    the document (default docs/PERFORMANCE.md; $OUT/PERFORMANCE.md when $OUT is set)
#   --no-build    use the existing moe-bench/target/benchmarks.jar
#   --malloc M    tuned (default): glibc keeps freed memory (GLIBC_TUNABLES below) in every Java and
#                 Python process; default: glibc's own settings (to measure what the tuning buys)
# Environment
#   BENCH_CP   a classpath to run JMH from instead of the shaded jar (the GPU kit sets it)
#   JAVA       the java binary (default: java on PATH)
#   PYTHON     the python with torch (default /usr/bin/python3 if it imports torch, else python3)
#   JMH_EXTRA  extra JMH arguments
#   BENCH_DEVICE  device of the gpu set (default gpu; cpu tests the GPU kit on a CPU machine)
#   KIT_QUICK  when set, one short iteration per benchmark (plumbing tests)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export OPT_OUT_TRACKING=true DJL_OFFLINE=true

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d'; }
THREADS=1 ROUNDS=3 BUILD=1 SETS=() MALLOC=tuned
OUTDIR="${OUT:+$OUT/results}"; OUTDIR="${OUTDIR:-docs/results}"
DOC="${OUT:+$OUT/PERFORMANCE.md}"; DOC="${DOC:-docs/PERFORMANCE.md}"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) THREADS="$2"; shift 2 ;;
    --rounds) ROUNDS="$2"; shift 2 ;;
    --out) OUTDIR="$2"; shift 2 ;;
    --doc) DOC="$2"; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --malloc) MALLOC="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) SETS+=("$1"); shift ;;
  esac
done
[ ${#SETS[@]} -gt 0 ] || { usage; exit 2; }

# glibc's malloc by default hands freed memory back to the OS (trim, and mmap for large blocks) and
# faults it in again on the next step: ~20k page faults per training step, since DJL frees a step's
# arrays only when its manager closes. Keep it instead (the same line is in ./lethe):
MALLOC_TUNED="glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967295:glibc.malloc.top_pad=268435456:glibc.malloc.hugetlb=1"
case "$MALLOC" in
  tuned) export GLIBC_TUNABLES="$MALLOC_TUNED" ;;
  default) unset GLIBC_TUNABLES ;;
  *) echo "--malloc must be tuned or default, not $MALLOC" >&2; exit 2 ;;
esac
# the same thread count for every BLAS/OpenMP runtime, not only libtorch's set_num_threads (a
# distribution's BLAS may ignore it); JMH forks and Python inherit the environment
export OMP_NUM_THREADS="$THREADS" MKL_NUM_THREADS="$THREADS" OPENBLAS_NUM_THREADS="$THREADS"
mkdir -p "$OUTDIR" "$(dirname "$DOC")"

JAVA="${JAVA:-java}"
if [ -z "${PYTHON:-}" ]; then
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
if [ -n "${BENCH_CP:-}" ]; then
  JMH=("$JAVA" -cp "$BENCH_CP" org.openjdk.jmh.Main)
else
  if [ "$BUILD" = 1 ] || [ ! -f moe-bench/target/benchmarks.jar ]; then
    # package, not install: the reactor shades the modules of this tree, ~/.m2 stays untouched
    mvn -B -ntp -q -Pbench -Dquick -pl moe-bench -am package -DskipTests
  fi
  JMH=("$JAVA" -jar moe-bench/target/benchmarks.jar)
fi
FORK_ARGS="-Dai.djl.offline=true -Dai.djl.pytorch.num_threads=$THREADS -Dai.djl.pytorch.num_interop_threads=1 -Dorg.slf4j.simpleLogger.log.ai.djl.util.cuda.CudaUtils=error"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
LOGDIR="${OUT:+$OUT/logs}"; LOGDIR="${LOGDIR:-$TMP}"; mkdir -p "$LOGDIR"
DEVICE="${BENCH_DEVICE:-gpu}"   # the device of the gpu set (cpu only to test the kit)
ITERS="-wi 2 -i 3"
if [ -n "${KIT_QUICK:-}" ]; then   # one short iteration each: tests the plumbing, not the speed
  ITERS="-wi 0 -i 1"; QUICK_PY="--warmup 0 --iters 1 --time 0.5"
fi
N=0

# jmh DEVICE ARGS... : one JMH run; its JSON goes to $TMP/jmh-N.json
jmh() {
  local dev="$1"; shift
  N=$((N + 1))
  echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): JMH $*" >&2
  local params=(-p threads="$THREADS" -p device="$dev")
  [ "$dev" = "-" ] && params=()   # a benchmark without the threads/device parameters
  "${JMH[@]}" "$@" "${params[@]}" -f 1 $ITERS \
    -jvmArgsAppend "$FORK_ARGS" -rf json -rff "$TMP/jmh-$N.json" ${JMH_EXTRA:-} \
    > "$LOGDIR/jmh-$N.log" 2>&1 || true
  grep -E '^(Benchmark|[A-Za-z]+Benchmark\.|\[lethe-bench\])' "$LOGDIR/jmh-$N.log" >&2 || true
  if [ ! -s "$TMP/jmh-$N.json" ] || ! grep -q primaryMetric "$TMP/jmh-$N.json"; then
    echo "JMH run $N failed; the end of $LOGDIR/jmh-$N.log:" >&2
    grep -v '^#' "$LOGDIR/jmh-$N.log" | grep -v '^$' | tail -40 >&2
    return 1
  fi
  LAST="$TMP/jmh-$N.json"
}

# py DEVICE ARGS... : one run of the PyTorch reference
py() {
  local dev="$1"; shift
  N=$((N + 1))
  echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): PyTorch $*" >&2
  "$PYTHON" moe-bench/reference/moe_reference.py "$@" --device "$dev" --threads "$THREADS" \
    --warmup 2 --iters 3 ${QUICK_PY:-} --json "$TMP/py-$N.json" >&2
  LAST="$TMP/py-$N.json"
}

LAYER8=(MoeLayerBenchmark -p batch=128 -p experts=8 -p topK=2)
TRAIN=(TrainingStepBenchmark)

meta() {  # the lines recorded above every table
  local cpu; cpu="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
  echo --meta "date=$(date -u +%FT%TZ)"
  echo --meta "machine=$(uname -n), ${cpu:-unknown CPU}, $(getconf _NPROCESSORS_ONLN) cores, $(free -g | awk '/Mem:/{print $2}') GiB"
  echo --meta "load=before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
  echo --meta "threads=$THREADS libtorch thread(s) per process (OMP/MKL/OPENBLAS_NUM_THREADS=$THREADS); forks: $FORK_ARGS"
  echo --meta "malloc=$MALLOC${GLIBC_TUNABLES:+ (GLIBC_TUNABLES=$GLIBC_TUNABLES)}"
  if [ "$1" = profile ]; then
    echo --meta "command=moe-bench/run.sh --threads $THREADS --rounds $ROUNDS --malloc $MALLOC profile (StepProfile and moe_reference.py profile: 20 timed steps after 5 warm-up, then 3 traced)"
  else
    echo --meta "command=moe-bench/run.sh --threads $THREADS${2:+ --rounds $ROUNDS} --malloc $MALLOC $1 (JMH -f 1 $ITERS; the PyTorch reference: 2 warm-up + 3 measured iterations)"
  fi
}

report() {  # report SET OUTFILE INPUTS...
  local set="$1" out="$2"; shift 2
  local rounds=""; [ "$set" = pytorch ] && rounds=1
  local m=(); while IFS= read -r line; do m+=("$line"); done < <(meta "$set" $rounds | sed 's/^--meta //')
  local args=(); for x in "${m[@]}"; do args+=(--meta "$x"); done
  local key="$set"; [ "$THREADS" = 1 ] || key="$set-${THREADS}threads"
  "$PYTHON" moe-bench/report.py "$set" "$@" --key "$key" --out "$out" --doc "$DOC" "${args[@]}"
}

for SET in "${SETS[@]}"; do
  LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
  case "$SET" in
    layer)
      jmh cpu MoeLayerBenchmark -w 1 -r 2; report layer "$OUTDIR/bench-cpu.json" "$LAST" ;;
    layer8)
      jmh cpu "${LAYER8[@]}" -w 1 -r 2; report layer "$OUTDIR/bench-cpu.json" "$LAST" ;;
    train)
      jmh cpu "${TRAIN[@]}" -w 3 -r 3; report train "$OUTDIR/bench-cpu.json" "$LAST" ;;
    loader)
      jmh - CifarLoaderBenchmark; report loader "$OUTDIR/bench-cpu.json" "$LAST" ;;
    unlearn)
      jmh cpu UnlearningBenchmark -w 2 -r 3; report unlearn "$OUTDIR/bench-cpu.json" "$LAST" ;;
    pytorch)
      IN=()
      for r in $(seq "$ROUNDS"); do
        jmh cpu "${TRAIN[@]}" -w 3 -r 3; IN+=("$LAST")
        py cpu train --time 3; IN+=("$LAST")
        jmh cpu "${LAYER8[@]}" -w 1 -r 2; IN+=("$LAST")
        py cpu layer --time 2; IN+=("$LAST")
      done
      report pytorch "$OUTDIR/pytorch-side-by-side.json" "${IN[@]}" ;;
    profile)
      PROFILE_MD="$TMP/profile.md"
      : > "$PROFILE_MD.rounds"
      for r in $(seq "$ROUNDS"); do
        echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): StepProfile round $r" >&2
        "$JAVA" $FORK_ARGS -cp "${BENCH_CP:-moe-bench/target/benchmarks.jar}" dev.lethe.bench.StepProfile \
          --threads "$THREADS" --steps 20 --trace "$TMP/lethe-$r" > "$LOGDIR/profile-java-$r.log" 2>&1
        { echo "Lethe, round $r:"; grep '^\[step-profile\]' "$LOGDIR/profile-java-$r.log" | grep -v 'traced to' | sed 's/^\[step-profile\] /    /'; } >> "$PROFILE_MD.rounds"
        echo "== $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg): PyTorch profile round $r" >&2
        "$PYTHON" moe-bench/reference/moe_reference.py profile --threads "$THREADS" --steps 20 \
          --warmup 5 --trace "$TMP/torch-$r" > "$LOGDIR/profile-py-$r.log" 2>&1
        { echo "PyTorch, round $r:"; grep '^\[step-profile\]' "$LOGDIR/profile-py-$r.log" | grep -v 'traced to' | sed 's/^\[step-profile\] /    /'; } >> "$PROFILE_MD.rounds"
      done
      {
        echo "Per round (wall and thread-CPU ms per phase, median and min of 20 steps; page faults per step):"
        echo; echo '```'; cat "$PROFILE_MD.rounds"; echo '```'; echo
        echo "libtorch's profiler, 3 steps of round 1 each (per step):"; echo
        "$PYTHON" moe-bench/profile_ops.py Lethe="$TMP/lethe-1" PyTorch="$TMP/torch-1" --top 30
      } > "$PROFILE_MD"
      cat "$PROFILE_MD" >&2
      report profile "$OUTDIR/profile.json" --block "$PROFILE_MD" ;;
    gpu)
      IN=()
      if jmh "$DEVICE" TrainingStepBenchmark -w 1 -r 1; then IN+=("$LAST"); else echo "JMH on $DEVICE failed" >&2; fi
      if jmh "$DEVICE" "${LAYER8[@]}" -w 1 -r 1; then IN+=("$LAST"); else echo "JMH on $DEVICE failed" >&2; fi
      py "$DEVICE" train --time 1; IN+=("$LAST")
      py "$DEVICE" layer --time 1; IN+=("$LAST")
      report gpu "$OUTDIR/bench-gpu.json" "${IN[@]}" ;;
    *) echo "unknown set $SET" >&2; exit 2 ;;
  esac
done
