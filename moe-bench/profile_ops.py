#!/usr/bin/env python3
"""Op counts and self times per training-step phase from libtorch profiler traces, side by side.

Reads the Chrome traces written by `StepProfile --trace PREFIX` (DJL: JniUtils.startProfile/stopProfile,
libtorch's legacy profiler) and by `moe_reference.py profile --trace PREFIX` (torch.autograd.profiler,
legacy mode): one file per phase and step, PREFIX.<phase>.<step>.json, phase in forward, loss,
backward, optimizer.

  moe-bench/profile_ops.py Lethe=/tmp/lethe PyTorch=/tmp/torch [--top 25] [--phase backward]

Per side and phase it prints, per step: the number of operator calls at the top level of the
profiler's nesting (what the caller issued: one JNI call can issue several), the number of all
operator calls (nested included), and the profiled time. Then the operators with the most self time
(time not spent in a nested operator), calls and self ms per step, for every side.
"""
import argparse
import collections
import glob
import json
import re

PHASES = ["forward", "loss", "backward", "optimizer"]
# bookkeeping events of the profilers, not operators
SKIP = {"[memory]", "__start_profile", "profiler::_record_function_enter",
        "profiler::_record_function_exit", "is_leaf", "output_nr", "_version"}


def load(path):
    with open(path) as f:
        text = f.read()
    data = json.loads(text)
    events = data["traceEvents"] if isinstance(data, dict) else data
    out = []
    for e in events:
        if e.get("ph") != "X" or e.get("name") in SKIP:
            continue
        out.append((str(e.get("tid")), float(e["ts"]), float(e["dur"]), e["name"]))
    return out


def analyse(events):
    """Returns (top-level calls, all calls, top-level us, {name: [calls, self us]})."""
    by_thread = collections.defaultdict(list)
    for tid, ts, dur, name in events:
        by_thread[tid].append((ts, -dur, name))
    ops = collections.defaultdict(lambda: [0, 0.0])
    top = allc = 0
    top_us = 0.0
    for evs in by_thread.values():
        evs.sort()
        stack = []  # entries: [end, name, dur, child_us]
        def pop():
            end, name, dur, child = stack.pop()
            ops[name][1] += max(0.0, dur - child)
            if stack:
                stack[-1][3] += dur
        for ts, ndur, name in evs:
            dur = -ndur
            while stack and ts >= stack[-1][0] - 1e-3:
                pop()
            if not stack:
                top += 1
                top_us += dur
            allc += 1
            ops[name][0] += 1
            stack.append([ts + dur, name, dur, 0.0])
        while stack:
            pop()
    return top, allc, top_us, ops


def side(prefix):
    res = {}
    for phase in PHASES:
        files = sorted(glob.glob("%s.%s.*.json" % (prefix, phase)))
        if not files:
            continue
        top = allc = 0
        top_us = 0.0
        ops = collections.defaultdict(lambda: [0, 0.0])
        for f in files:
            t, a, us, o = analyse(load(f))
            top += t
            allc += a
            top_us += us
            for k, v in o.items():
                ops[k][0] += v[0]
                ops[k][1] += v[1]
        n = len(files)
        res[phase] = {"steps": n, "top": top / n, "all": allc / n, "ms": top_us / n / 1000,
                      "ops": {k: (v[0] / n, v[1] / n / 1000) for k, v in ops.items()}}
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("sides", nargs="+", help="LABEL=PREFIX")
    p.add_argument("--top", type=int, default=25, help="operators listed (by self time)")
    p.add_argument("--phase", default="all", help="forward, loss, backward, optimizer or all")
    p.add_argument("--match", help="only operators whose name matches this regular expression")
    a = p.parse_args()
    sides = []
    for s in a.sides:
        label, prefix = s.split("=", 1)
        sides.append((label, side(prefix)))

    print("| phase | " + " | ".join("%s top-level ops | %s all ops | %s ms" % (l, l, l) for l, _ in sides) + " |")
    print("|---|" + "---:|---:|---:|" * len(sides))
    totals = [[0, 0, 0.0] for _ in sides]
    for phase in PHASES:
        cells = []
        for i, (_, r) in enumerate(sides):
            if phase in r:
                x = r[phase]
                cells.append("%.0f | %.0f | %.1f" % (x["top"], x["all"], x["ms"]))
                totals[i][0] += x["top"]
                totals[i][1] += x["all"]
                totals[i][2] += x["ms"]
            else:
                cells.append("— | — | —")
        print("| %s | %s |" % (phase, " | ".join(cells)))
    print("| **step** | %s |" % " | ".join("**%.0f** | **%.0f** | **%.1f**" % tuple(t) for t in totals))
    print()

    phases = PHASES if a.phase == "all" else [a.phase]
    merged = []
    for label, r in sides:
        m = collections.defaultdict(lambda: [0.0, 0.0])
        for ph in phases:
            for k, (c, ms) in r.get(ph, {"ops": {}})["ops"].items():
                m[k][0] += c
                m[k][1] += ms
        merged.append(m)
    names = set()
    for m in merged:
        names |= set(m)
    if a.match:
        names = {n for n in names if re.search(a.match, n)}
    order = sorted(names, key=lambda n: -max(m.get(n, [0, 0])[1] for m in merged))[:a.top]
    print("Operators by self time (%s), per step:" % a.phase)
    print()
    print("| operator | " + " | ".join("%s calls | %s self ms" % (l, l) for l, _ in sides) + " |")
    print("|---|" + "---:|---:|" * len(sides))
    for n in order:
        cells = []
        for m in merged:
            c, ms = m.get(n, (0, 0))
            cells.append("%.0f | %.2f" % (c, ms) if c else "— | —")
        print("| `%s` | %s |" % (n, " | ".join(cells)))


if __name__ == "__main__":
    main()
