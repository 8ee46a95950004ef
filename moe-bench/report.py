#!/usr/bin/env python3
"""Turns JMH JSON (and the PyTorch reference's JMH-shaped JSON) into the tables of
docs/PERFORMANCE.md and the merged JSON files of docs/results/. Standard library only.

  report.py SET --out RESULT.json --doc PERFORMANCE.md --meta "key=value" ... INPUT.json...

SET is layer | train | loader | unlearn | pytorch | gpu | profile (profile: no JSON input; --block FILE
holds the markdown that run.sh composed). RESULT.json maps each set to {meta, results} (JMH's JSON
entries); a run replaces its own set's entry and keeps the others. The table replaces the block between
<!-- lethe-bench:SET --> and <!-- /lethe-bench:SET --> in the document (created under the
section's heading when missing); everything else in the document is left alone.
"""
import argparse
import json
import statistics
from collections import defaultdict

HEADINGS = {"layer": "## MoE layer", "train": "## Training step",
            "pytorch": "## Side by side with PyTorch", "gpu": "## GPU", "loader": "## Data loader",
            "unlearn": "## Profiler and unlearning", "profile": "## Where the step's time goes"}


def load(paths):
    rows = []
    for i, p in enumerate(paths):
        with open(p) as f:
            for r in json.load(f):
                r["input"] = i  # the order of the runs: run.sh alternates the sides round by round
                r["benchmark"] = r["benchmark"].replace("dev.lethe.bench.", "java.")
                # keep the scores, not every iteration's raw samples (docs/results stays small)
                for m in [r.get("primaryMetric", {})] + list(r.get("secondaryMetrics", {}).values()):
                    for k in ("rawData", "rawDataHistogram"):
                        m.pop(k, None)
                rows.append(r)
    return rows


def short(r):
    return r["benchmark"].split(".")[-1]


def side(r):
    return "pytorch" if r["benchmark"].startswith("pytorch.") else "java"


def score(rs):
    """Median over runs of each run's score (ms/op)."""
    return statistics.median(r["primaryMetric"]["score"] for r in rs) if rs else None


def flops_per_image(width, k, classes=10):
    # MoeResNet.Config.flopsPerImage() for widths (w, 2w, 4w), MoE at stages 2 and 3
    w = (width, 2 * width, 4 * width)
    side_ = [32, 16, 8]
    macs = 32 * 32 * 27 * w[0]
    for s in range(3):
        hw = side_[s] ** 2
        if s > 0:
            macs += hw * 9 * w[s - 1] * w[s]
        macs += (k if s > 0 else 1) * 2 * hw * 9 * w[s] * w[s]
    return 2 * (macs + w[2] * classes)


def fmt(v, d=1):
    return "—" if v is None else f"{v:.{d}f}"


def group(rows, *keys):
    g = defaultdict(list)
    for r in rows:
        p = r.get("params", {})
        g[(side(r), short(r)) + tuple(p.get(k) for k in keys)].append(r)
    return g


def layer_table(rows):
    g = group(rows, "dispatch", "experts", "topK", "batch")
    plain = group(rows, "topK", "batch")
    sides = sorted({side(r) for r in rows})
    out = []
    for sd in sides:
        keys = sorted({(k[5], k[3], k[4]) for k in g if k[0] == sd and k[1] in ("moeForwardBackward", "moeLayer")},
                      key=lambda t: (int(t[0]), int(t[1]), int(t[2])))
        if not keys:
            continue
        out.append(f"\n{'Lethe (DJL)' if sd == 'java' else 'PyTorch eager reference'}, forward + backward, ms per batch (median of runs):\n")
        out.append("| batch | E | k | SPARSE ms | DENSE ms | plain k blocks ms | DENSE / SPARSE | SPARSE / plain | SPARSE img/s |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for b, e, k in keys:
            names = ("moeForwardBackward", "moeLayer")
            sp = score([r for n in names for r in g.get((sd, n, "SPARSE", e, k, b), [])])
            de = score([r for n in names for r in g.get((sd, n, "DENSE", e, k, b), [])])
            pl = score(plain.get((sd, "plainBaseline", k, b), []))
            ratio = de / sp if sp and de else None
            over = sp / pl if sp and pl else None
            ips = int(b) * 1000 / sp if sp else None
            out.append(f"| {b} | {e} | {k} | {fmt(sp)} | {fmt(de)} | {fmt(pl)} | {fmt(ratio, 2)} | {fmt(over, 2)} | {fmt(ips, 0)} |")
    return out


def train_rows(rows, sd):
    steps = [r for r in rows if side(r) == sd and short(r) == "trainingStep"]
    mm = [r for r in rows if side(r) == sd and short(r) == "matmulCeiling"]
    if not steps:
        return None
    p = steps[0]["params"]
    b, width, k = int(p["batch"]), int(p["width"]), int(p["topK"])
    ms = score(steps)
    n = int(mm[0]["params"]["n"]) if mm else 2048
    mms = score(mm)
    gflops = 3 * flops_per_image(width, k) * b / (ms / 1000) / 1e9
    ceiling = 2 * n ** 3 / (mms / 1000) / 1e9 if mms else None
    return {"side": sd, "config": f"widths {width},{2*width},{4*width}, E={p['experts']}, k={k}, {p['dispatch']}, batch {b}",
            "ms": ms, "ips": b * 1000 / ms, "gflops": gflops, "ceiling": ceiling, "n": n,
            "runs": len(steps), "flops": flops_per_image(width, k)}


def train_table(rows):
    out = ["", "| side | model | ms/step | images/s | achieved GFLOP/s (3 × fwd) | its matmul GFLOP/s | % of the ceiling |",
           "|---|---|---:|---:|---:|---:|---:|"]
    res = {}
    for sd in ("java", "pytorch"):
        t = train_rows(rows, sd)
        if t:
            res[sd] = t
    # the ceiling is the faster matmul of the run (a distribution's BLAS can be far below libtorch's)
    ceiling = max((t["ceiling"] for t in res.values() if t["ceiling"]), default=None)
    for sd, t in res.items():
        if t:
            pct = 100 * t["gflops"] / ceiling if ceiling else None
            out.append(f"| {'Lethe (DJL)' if sd == 'java' else 'PyTorch eager'} | {t['config']} | {fmt(t['ms'])} | {fmt(t['ips'], 0)} | {fmt(t['gflops'])} | {fmt(t['ceiling'])} (n={t['n']}) | {fmt(pct)} |")
    if res:
        t = next(iter(res.values()))
        out.append(f"\nForward FLOPs per image: {t['flops'] / 1e6:.1f} M (MoeResNet.Config.flopsPerImage); a step counts 3× that."
                   f" The ceiling is the faster {t['n']}² float32 matmul measured in the run: {fmt(ceiling)} GFLOP/s.")
    return out, res


def side_by_side(rows):
    out, res = train_table(rows)
    out.append("")
    out.append("| metric | Lethe (DJL) | PyTorch eager | Lethe / PyTorch (speed) |")
    out.append("|---|---:|---:|---:|")
    if "java" in res and "pytorch" in res:
        out.append(f"| training step, images/s | {fmt(res['java']['ips'], 0)} | {fmt(res['pytorch']['ips'], 0)} | {fmt(res['java']['ips'] / res['pytorch']['ips'], 2)}× |")
        if res["java"]["ceiling"] and res["pytorch"]["ceiling"]:
            out.append(f"| matmul ceiling, GFLOP/s | {fmt(res['java']['ceiling'])} | {fmt(res['pytorch']['ceiling'])} | {fmt(res['java']['ceiling'] / res['pytorch']['ceiling'], 2)}× |")
    per_round = paired_ratios(rows, "trainingStep")
    if per_round:
        out.append(f"| training step, speed ratio per round (paired, in run order) | | | "
                   f"{', '.join(fmt(x, 2) + '×' for x in per_round)}; median **{fmt(statistics.median(per_round), 2)}×** |")
    g = group(rows, "dispatch", "experts", "topK", "batch")
    plain = group(rows, "topK", "batch")
    keys = sorted({(k[3], k[4], k[5]) for k in g if k[1] in ("moeForwardBackward", "moeLayer")})
    for e, k, b in keys:
        vals = {}
        for sd in ("java", "pytorch"):
            for d in ("SPARSE", "DENSE"):
                vals[(sd, d)] = score(g.get((sd, "moeForwardBackward" if sd == "java" else "moeLayer", d, e, k, b), []))
            vals[(sd, "PLAIN")] = score(plain.get((sd, "plainBaseline", k, b), []))
        for d in ("SPARSE", "DENSE", "PLAIN"):
            j, p = vals[("java", d)], vals[("pytorch", d)]
            label = f"plain {k} residual blocks" if d == "PLAIN" else f"MoE layer {d}"
            out.append(f"| {label} E={e} k={k} b={b}, ms (fwd+bwd) | {fmt(j)} | {fmt(p)} | {fmt(p / j if j and p else None, 2)}× |")
        rj = vals[("java", "DENSE")] / vals[("java", "SPARSE")] if vals[("java", "DENSE")] and vals[("java", "SPARSE")] else None
        rp = vals[("pytorch", "DENSE")] / vals[("pytorch", "SPARSE")] if vals[("pytorch", "DENSE")] and vals[("pytorch", "SPARSE")] else None
        out.append(f"| DENSE / SPARSE E={e} k={k} b={b} (target ≥ 3) | {fmt(rj, 2)} | {fmt(rp, 2)} | |")
    return out


def paired_ratios(rows, name):
    """Lethe / PyTorch speed of each round: the i-th run of each side, in input order."""
    runs = {sd: [r["primaryMetric"]["score"] for r in sorted(rows, key=lambda r: r.get("input", 0))
                 if side(r) == sd and short(r) == name] for sd in ("java", "pytorch")}
    return [p / j for j, p in zip(runs["java"], runs["pytorch"])]


def generic_table(rows):
    out = ["", "| benchmark | parameters | score | error | unit |", "|---|---|---:|---:|---|"]
    for r in rows:
        m = r["primaryMetric"]
        params = ", ".join(f"{k}={v}" for k, v in sorted(r.get("params", {}).items()))
        out.append(f"| {short(r)} | {params} | {fmt(m['score'], 2)} | {fmt(m.get('scoreError'), 2)} | {m['scoreUnit']} |")
    return out


def update_doc(doc, set_name, block, key=None):
    try:
        with open(doc) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# Performance\n"
    key = key or set_name
    begin, end = f"<!-- lethe-bench:{key} -->", f"<!-- /lethe-bench:{key} -->"
    new = begin + "\n" + block.strip("\n") + "\n" + end
    if begin in text and end in text:
        a = text.index(begin)
        z = text.index(end) + len(end)
        text = text[:a] + new + text[z:]
    else:
        h = HEADINGS[set_name]
        if h not in text:
            text = text.rstrip("\n") + f"\n\n{h}\n"
        i = text.index(h)
        nxt = text.find("\n## ", i + len(h))
        nxt = len(text) if nxt < 0 else nxt
        text = text[:nxt].rstrip("\n") + "\n\n" + new + "\n" + text[nxt:]
    with open(doc, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("set", choices=sorted(HEADINGS))
    ap.add_argument("inputs", nargs="*")
    ap.add_argument("--block", help="profile: a markdown file to put under the meta lines")
    ap.add_argument("--key", help="the block's name in the document and the JSON (default: SET); run.sh"
                                  " appends the thread count when it is not 1, so 1- and 2-thread runs"
                                  " keep their own tables")
    ap.add_argument("--out", required=True)
    ap.add_argument("--doc")
    ap.add_argument("--meta", action="append", default=[], help="key=value lines shown above the table")
    a = ap.parse_args()
    rows = load(a.inputs)
    meta = dict(m.split("=", 1) for m in a.meta)
    text = None
    if a.block:
        with open(a.block) as f:
            text = f.read()
    # one file may hold several sets (bench-cpu.json: layer and train): replace only this set's entry
    try:
        with open(a.out) as f:
            merged = json.load(f)
        if "results" in merged:  # an old single-set file
            merged = {}
    except (FileNotFoundError, ValueError):
        merged = {}
    key = a.key or a.set
    merged[key] = {"meta": meta, "results": rows} if text is None else {"meta": meta, "markdown": text}
    with open(a.out, "w") as f:
        json.dump(merged, f, separators=(",", ":"))
    lines = [f"- {k}: {v}" for k, v in meta.items()]
    if a.set == "layer":
        lines += layer_table(rows)
    elif a.set == "train":
        lines += train_table(rows)[0]
    elif a.set in ("loader", "unlearn"):
        lines += generic_table(rows)
    elif a.set == "profile":
        lines += ["", text]
    else:
        if any(short(r) in ("trainingStep", "matmulCeiling") for r in rows) or a.set == "pytorch":
            lines += side_by_side(rows)
        if a.set == "gpu":
            lines += layer_table(rows)
    block = "\n".join(lines)
    print(block)
    if a.doc:
        update_doc(a.doc, a.set, block, key)


if __name__ == "__main__":
    main()
