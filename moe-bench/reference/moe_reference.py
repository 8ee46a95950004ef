#!/usr/bin/env python3
"""PyTorch eager reference of Lethe's MoE layer and MoE CNN, timed like the JMH benchmarks.

Same shapes and the same algorithm as dev.lethe.moe (moe-core):
  router   logits = s * (W gap(x) + b), W and b zero-initialised, s = 1
  noise    training only: N(0, (0.5 * std(logits) + 1e-3)^2) added to the logits
  routing  softmax -> top-k -> gates renormalised over the k
  SPARSE   sort positions by expert (stable), gather each expert's images (index_select),
           run the expert, weight by the gates, index_add back to the images
  DENSE    every expert on every image, then gather the routed rows and weight them
  SPARSE_ADV  diagnostic: SPARSE with Lethe's exact op sequence (advanced indexing, no index_add)
  PLAIN    k residual blocks in sequence (the per-image work of k experts; the baseline)
  expert   relu(x + bn(conv3x3(relu(bn(conv3x3(x))))))
  CNN      stem conv3x3(3->w1) BN ReLU | residual(w1) | conv3x3/2 BN ReLU, MoE(w2)
           | conv3x3/2 BN ReLU, MoE(w3) | GAP | Linear(w3 -> 10)
  loss     cross-entropy + 1e-2 * balance + 1e-3 * z-loss (means over the MoE layers)
  step     SGD lr 0.01 momentum 0.9

Each benchmark: warm-up iterations then measured iterations of --time seconds each; an iteration's
score is its mean ms per call; every call reads a loss and a parameter element to the host
(synchronises a GPU). Output: a JSON list shaped like JMH's (benchmark, params, primaryMetric).

Works with torch 1.13 (Debian's python3-torch) and torch 2.x.
"""
import argparse
import json
import os
import platform
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin, cout, stride=1):
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout))


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = conv_bn(c, c)
        self.b = conv_bn(c, c)

    def forward(self, x):
        return F.relu(x + self.b(F.relu(self.a(x))))


class Router(nn.Module):
    def __init__(self, c, e):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(e, c))
        self.bias = nn.Parameter(torch.zeros(e))
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return F.linear(x.mean(dim=(2, 3)), self.weight, self.bias) * self.scale


class MoeLayer(nn.Module):
    def __init__(self, c, experts, k, dispatch, noise_ratio=0.5, noise_floor=1e-3):
        super().__init__()
        self.e, self.k, self.dispatch = experts, k, dispatch
        self.noise_ratio, self.noise_floor = noise_ratio, noise_floor
        self.router = Router(c, experts)
        self.experts = nn.ModuleList(Residual(c) for _ in range(experts))
        self.last = None

    def forward(self, x):
        b = x.shape[0]
        logits = self.router(x)
        sel = logits
        if self.training:
            sigma = self.noise_ratio * logits.detach().std(unbiased=False) + self.noise_floor
            sel = logits + torch.randn_like(logits) * sigma
        probs = sel.softmax(1)
        vals, idx = probs.topk(self.k, 1)
        gates = vals / vals.sum(1, keepdim=True)
        self.last = (logits, probs, idx)
        if self.dispatch == "SPARSE":
            flat = idx.reshape(-1)
            _, order = torch.sort(flat, stable=True)
            counts = torch.bincount(flat, minlength=self.e).tolist()  # host sync, as in Java
            image = order // self.k
            parts, start = [], 0
            for e, c in enumerate(counts):
                if c:
                    parts.append(self.experts[e](x.index_select(0, image[start:start + c])))
                    start += c
            rows = torch.cat(parts) if len(parts) > 1 else parts[0]
            rows = rows * gates.reshape(-1)[order].view(-1, 1, 1, 1)
            return torch.zeros_like(x).index_add_(0, image, rows)
        if self.dispatch == "SPARSE_ADV":
            # diagnostic: Lethe's op sequence (advanced-indexing gather per expert, concat, inverse
            # permutation by advanced indexing, weight, reshape-sum); their backward is
            # index_put_(accumulate=True) instead of index_add_
            flat = idx.reshape(-1)
            _, order = torch.sort(flat, stable=True)
            counts = torch.bincount(flat, minlength=self.e).tolist()
            image = order // self.k
            inverse = torch.empty_like(order)
            inverse[order] = torch.arange(order.numel(), device=x.device)
            parts, start = [], 0
            for e, c in enumerate(counts):
                if c:
                    parts.append(self.experts[e](x[image[start:start + c]]))
                    start += c
            rows = (torch.cat(parts) if len(parts) > 1 else parts[0])[inverse]
            rows = rows * gates.reshape(-1, 1, 1, 1)
            return rows.reshape(b, self.k, *rows.shape[1:]).sum(1)
        ys = torch.stack([ex(x) for ex in self.experts])  # (E, B, C, H, W)
        picked = ys[idx, torch.arange(b, device=x.device).unsqueeze(1)]  # (B, k, C, H, W)
        return (picked * gates.view(b, self.k, 1, 1, 1)).sum(1)


def balance_loss(layer):
    logits, probs, idx = layer.last
    frac = torch.bincount(idx.reshape(-1), minlength=layer.e).float() / idx.numel()
    return layer.e * (probs.mean(0) * frac).sum()


def z_loss(layer):
    return torch.logsumexp(layer.last[0], 1).square().mean()


class MoeCnn(nn.Module):
    def __init__(self, w, experts, k, dispatch, classes=10):
        super().__init__()
        w1, w2, w3 = w
        self.moe2 = MoeLayer(w2, experts, k, dispatch)
        self.moe3 = MoeLayer(w3, experts, k, dispatch)
        self.features = nn.Sequential(
            conv_bn(3, w1), nn.ReLU(), Residual(w1),
            conv_bn(w1, w2, 2), nn.ReLU(), self.moe2,
            conv_bn(w2, w3, 2), nn.ReLU(), self.moe3,
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Linear(w3, classes)

    def forward(self, x):
        return self.head(self.features(x))


def flops_per_image(w, k, classes=10):
    """Forward FLOPs per 32x32 image; the formula of MoeResNet.Config.flopsPerImage()."""
    side = [32, 16, 8]
    macs = 32 * 32 * 27 * w[0]
    for s in range(3):
        hw = side[s] ** 2
        if s > 0:
            macs += hw * 9 * w[s - 1] * w[s]
        macs += (k if s > 0 else 1) * 2 * hw * 9 * w[s] * w[s]
    macs += w[2] * classes
    return 2 * macs


def timed(fn, warmup, iters, seconds):
    scores = []
    for i in range(warmup + iters):
        n, t0 = 0, time.perf_counter()
        while True:
            fn()
            n += 1
            el = time.perf_counter() - t0
            if el >= seconds:
                break
        if i >= warmup:
            scores.append(1000.0 * el / n)
    return scores


def result(name, params, scores):
    return {"benchmark": "pytorch." + name, "mode": "avgt", "params": params,
            "primaryMetric": {"score": statistics.median(scores), "scoreUnit": "ms/op",
                              "rawData": [scores]}}


def bench_layer(a, dev, out):
    torch.manual_seed(7)
    for variant in a.variant.split(","):
        for e in ([0] if variant == "PLAIN" else [int(v) for v in a.experts.split(",")]):
            for k in [int(v) for v in a.topk.split(",")]:
                for b in [int(v) for v in a.batch.split(",")]:
                    if variant == "PLAIN":
                        block = nn.Sequential(*[Residual(a.channels) for _ in range(k)])
                    else:
                        block = MoeLayer(a.channels, e, k, variant)
                    block = block.to(dev).train()
                    x = torch.randn(b, a.channels, a.size, a.size, device=dev)
                    w = torch.randn_like(x)
                    p0 = next(block.parameters())

                    def call():
                        loss = (block(x) * w).sum()
                        loss.backward()
                        return loss.item() + p0.grad.reshape(-1)[0].item()

                    params = {"dispatch": variant, "experts": str(e), "topK": str(k), "batch": str(b),
                              "channels": str(a.channels), "size": str(a.size)}
                    params.update(common(a))
                    s = timed(call, a.warmup, a.iters, a.time)
                    out.append(result("moeLayer" if variant != "PLAIN" else "plainBaseline", params, s))
                    print(json.dumps(out[-1]["params"]), "%.2f ms/op" % out[-1]["primaryMetric"]["score"],
                          flush=True)


class TrainSetup:
    """The training step's model, optimizer, fixed batch and loss (shared by train and profile)."""

    def __init__(self, a, dev):
        torch.manual_seed(5)
        self.w = (a.width, 2 * a.width, 4 * a.width)
        self.k, self.e = int(a.topk.split(",")[-1]), int(a.experts.split(",")[0])
        self.b = int(a.batch.split(",")[-1])
        self.model = MoeCnn(self.w, self.e, self.k, a.variant.split(",")[0]).to(dev).train()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=0.01, momentum=0.9)
        self.x = torch.randn(self.b, 3, 32, 32, device=dev)
        self.y = torch.randint(0, 10, (self.b,), device=dev)
        self.layers = [self.model.moe2, self.model.moe3]

    def loss(self, pred):
        layers = self.layers
        loss = F.cross_entropy(pred, self.y)
        return loss + 1e-2 * sum(balance_loss(m) for m in layers) / 2 + 1e-3 * sum(z_loss(m) for m in layers) / 2


def bench_train(a, dev, out):
    t = TrainSetup(a, dev)
    model, opt, x, w, k, e, b = t.model, t.opt, t.x, t.w, t.k, t.e, t.b
    p0 = next(model.parameters())

    def step():
        opt.zero_grad(set_to_none=True)
        loss = t.loss(model(x))
        loss.backward()
        opt.step()
        return loss.item() + p0.reshape(-1)[0].item()

    params = {"width": str(a.width), "experts": str(e), "topK": str(k), "batch": str(b),
              "dispatch": a.variant.split(",")[0], "flopsPerImage": str(flops_per_image(w, k))}
    params.update(common(a))
    out.append(result("trainingStep", params, timed(step, a.warmup, a.iters, a.time)))
    print(json.dumps(params), "%.2f ms/op" % out[-1]["primaryMetric"]["score"], flush=True)
    m = torch.randn(a.n, a.n, device=dev)
    m2 = torch.randn(a.n, a.n, device=dev)
    params = {"n": str(a.n)}
    params.update(common(a))
    out.append(result("matmulCeiling", params, timed(lambda: (m @ m2)[0, 0].item(), a.warmup, a.iters, a.time)))
    print(json.dumps(params), "%.2f ms/op" % out[-1]["primaryMetric"]["score"], flush=True)


def profile_train(a, dev, out):
    """Phase timing, page faults and (with --trace) libtorch profiler traces of the training step.

    The counterpart of dev.lethe.bench.StepProfile: the same model, batch, loss and optimizer as
    bench_train; prints the median and min ms of forward, loss, backward and optimizer over --steps
    steps after --warmup, the page faults per step, and writes one Chrome trace per phase and step
    (PREFIX.<phase>.<step>.json, the legacy profiler as DJL's) for moe-bench/profile_ops.py.
    """
    import resource
    setup = TrainSetup(a, dev)
    model, opt, x = setup.model, setup.opt, setup.x

    def phases(t=None, trace=None):
        """One step; t receives the phase times (ms), trace=(prefix, i) profiles each phase."""
        marks, prof = [], [None]

        def begin():
            if trace is not None:
                prof[0] = torch.autograd.profiler.profile(use_kineto=False)
                prof[0].__enter__()
            marks.append((time.perf_counter(), time.thread_time()))

        def end(name):
            marks.append((time.perf_counter(), time.thread_time()))
            if trace is not None:
                prof[0].__exit__(None, None, None)
                prof[0].export_chrome_trace("%s.%s.%d.json" % (trace[0], name, trace[1]))

        opt.zero_grad(set_to_none=True)
        begin()
        pred = model(x)
        end("forward")
        begin()
        loss = setup.loss(pred)
        loss.item()
        end("loss")
        begin()
        loss.backward()
        end("backward")
        begin()
        opt.step()
        end("optimizer")
        if t is not None:
            for i in range(4):
                t[i].append(1000 * (marks[2 * i + 1][0] - marks[2 * i][0]))
                t[4 + i].append(1000 * (marks[2 * i + 1][1] - marks[2 * i][1]))

    for _ in range(a.warmup):
        phases()
    t = [[] for _ in range(8)]
    f0 = resource.getrusage(resource.RUSAGE_SELF)
    p0 = time.process_time()
    for _ in range(a.steps):
        phases(t)
    f1 = resource.getrusage(resource.RUSAGE_SELF)
    process_cpu = 1000 * (time.process_time() - p0) / a.steps
    load = open("/proc/loadavg").read().split()[:3]
    print("[step-profile] PyTorch %s, dispatch %s, threads %d, %d steps after %d warm-up; load %s"
          % (torch.__version__, a.variant.split(",")[0], torch.get_num_threads(), a.steps, a.warmup, " ".join(load)))
    wall = t[:4] + [[sum(x) for x in zip(*t[:4])]]
    cpu = t[4:] + [[sum(x) for x in zip(*t[4:])]]
    for name, v, c in zip(["forward", "loss", "backward", "optimizer", "step"], wall, cpu):
        print("[step-profile] %-9s median %8.2f ms  min %8.2f ms  thread CPU median %8.2f ms  min %8.2f ms"
              % (name, statistics.median(v), min(v), statistics.median(c), min(c)))
    print("[step-profile] process CPU per step (all threads): %.2f ms" % process_cpu)
    print("[step-profile] page faults per step: minor %.0f, major %.1f; max RSS %d MB"
          % ((f1.ru_minflt - f0.ru_minflt) / a.steps, (f1.ru_majflt - f0.ru_majflt) / a.steps, f1.ru_maxrss // 1024))
    if a.trace:
        for i in range(a.trace_steps):
            phases(trace=(a.trace, i))
        print("[step-profile] %d steps traced to %s.{forward,loss,backward,optimizer}.N.json" % (a.trace_steps, a.trace))


def common(a):
    return {"threads": str(torch.get_num_threads()), "device": a.device,
            "torch": torch.__version__,
            "gpuName": torch.cuda.get_device_name(0) if a.device == "gpu" else platform.processor()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bench", choices=["layer", "train", "profile"],
                   help="profile: phase timing, page faults and profiler traces of the training step")
    p.add_argument("--variant", default="SPARSE,DENSE,PLAIN", help="layer: SPARSE,DENSE,PLAIN; train: dispatch")
    p.add_argument("--experts", default="8")
    p.add_argument("--topk", default="2")
    p.add_argument("--batch", default="128")
    p.add_argument("--channels", type=int, default=64)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--width", type=int, default=16, help="train: stage-1 width (16 -> 16,32,64)")
    p.add_argument("--n", type=int, default=2048, help="train: matmul size of the ceiling")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--time", type=float, default=2.0, help="seconds per iteration")
    p.add_argument("--json", help="write the results here (a JSON list)")
    p.add_argument("--steps", type=int, default=20, help="profile: timed steps")
    p.add_argument("--trace", help="profile: write profiler traces to TRACE.<phase>.<step>.json")
    p.add_argument("--trace-steps", type=int, default=3, help="profile: traced steps")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    dev = torch.device("cuda" if a.device == "gpu" else "cpu")
    out = []
    {"layer": bench_layer, "train": bench_train, "profile": profile_train}[a.bench](a, dev, out)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
