#!/usr/bin/python3
"""PyTorch reference timings for the mtl benchmark workloads (CPU, one thread).

Run with Debian's interpreter after `apt-get install -y python3-torch` (PyTorch 1.13, CPU build):

    /usr/bin/python3 bench/torch_reference.py --workload W1 --steps 20 --warmup 10 --json

Workloads (random synthetic data with a fixed seed, made once before timing and cycled):
  W1  MLP trunk 784→256→128 (ReLU), two 10-way softmax heads, batch 256, Adam lr 1e-3,
      loss = sum of the two cross-entropies.
  W2  W1 with PCGrad on the shared (trunk) parameters, as LibMTL does it: one forward, one backward
      per task (retain_graph) collecting each task's gradient of the shared parameters, each task
      gradient projected off every other one it conflicts with (negative dot product; tasks visited in
      random order), projected gradients summed; head parameters keep their own task's gradient.
  W3  MMoE: 8 experts of one dense layer 100→64 (ReLU), one softmax gate per task (dense 100→8),
      two binary tasks each with a tower 64→32 (ReLU)→1, sigmoid BCE, batch 512, Adam lr 1e-3,
      loss = sum of the two BCEs.

Timing: `--windows` timed windows of `--steps` optimizer steps each, after `--warmup` untimed steps;
the reported figure is the median over windows of the window's mean ms/step.

Output (with --json, one line): {"workload", "ms_per_step_median", "windows" (ms/step of each window),
"cpu_ms_per_step_median" (process CPU time per step, median over windows), "peak_rss_mb", "python_version",
"torch_version", "threads", "blas", "steps", "warmup", "final_loss"}. Exit status 3 when torch is missing.
`npm run bench` (bench/run.mjs) runs this script for W1–W3 with the same --steps/--windows/--warmup as the
TF.js side and chooses the BLAS library (see its --torch-blas flag).

BLAS caveat: Debian's python3-torch does its float32 matmuls through whatever `libblas.so.3` the Debian
alternatives system points at ("blas" in the output names the library actually loaded). With only the
reference (netlib) BLAS installed, which is what `apt-get install python3-torch` alone gives, a
256×784·784×256 matmul takes ~36 ms instead of ~1.3 ms with OpenBLAS, and every workload is several times
slower than a normal PyTorch install. For a representative baseline also install `libopenblas0-pthread`
(it takes over the alternative), or point the loader at an unpacked copy without touching the system:
    apt-get download libopenblas0-pthread && dpkg-deb -x libopenblas0-pthread_*.deb /tmp/openblas
    LD_LIBRARY_PATH=/tmp/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread /usr/bin/python3 bench/torch_reference.py ...
The script pins OpenBLAS/OpenMP to one thread (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS) unless already set.
"""
import argparse
import json
import os
import platform
import random
import resource
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - depends on the machine
    print(
        "torch is not importable by %s.\n"
        "Install Debian's CPU build and run with the system interpreter:\n"
        "  apt-get install -y python3-torch\n"
        "  /usr/bin/python3 bench/torch_reference.py --workload W1 --json" % sys.executable,
        file=sys.stderr,
    )
    sys.exit(3)

SEED = 0
N_BATCHES = 4  # distinct pre-made batches, cycled


class MlpTwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())
        self.heads = nn.ModuleList([nn.Linear(128, 10), nn.Linear(128, 10)])

    def forward(self, x):
        h = self.trunk(x)
        return [head(h) for head in self.heads]


class MMoE(nn.Module):
    def __init__(self, n_in=100, n_expert=64, n_experts=8, n_tasks=2, n_tower=32):
        super().__init__()
        self.experts = nn.ModuleList([nn.Linear(n_in, n_expert) for _ in range(n_experts)])
        self.gates = nn.ModuleList([nn.Linear(n_in, n_experts) for _ in range(n_tasks)])
        self.towers = nn.ModuleList(
            [nn.Sequential(nn.Linear(n_expert, n_tower), nn.ReLU(), nn.Linear(n_tower, 1)) for _ in range(n_tasks)]
        )

    def forward(self, x):
        experts = torch.stack([F.relu(e(x)) for e in self.experts], dim=1)  # [B, E, D]
        outs = []
        for gate, tower in zip(self.gates, self.towers):
            g = F.softmax(gate(x), dim=-1)  # [B, E]
            mixed = torch.bmm(g.unsqueeze(1), experts).squeeze(1)  # [B, D]
            outs.append(tower(mixed).squeeze(-1))  # logits [B]
        return outs


def make_w1_data(gen):
    batches = []
    for _ in range(N_BATCHES):
        x = torch.randn(256, 784, generator=gen)
        ys = [torch.randint(0, 10, (256,), generator=gen) for _ in range(2)]
        batches.append((x, ys))
    return batches


def make_w3_data(gen):
    batches = []
    for _ in range(N_BATCHES):
        x = torch.randn(512, 100, generator=gen)
        ys = [torch.randint(0, 2, (512,), generator=gen).float() for _ in range(2)]
        batches.append((x, ys))
    return batches


def equal_weight_step(model, opt, batch, loss_fn):
    x, ys = batch
    opt.zero_grad(set_to_none=True)
    outs = model(x)
    loss = sum(loss_fn(o, y) for o, y in zip(outs, ys))
    loss.backward()
    opt.step()
    return loss


def pcgrad_step(model, opt, batch, shared, rng):
    """One step of LibMTL's PCGrad (weighting/PCGrad.py with rep_grad=False)."""
    x, ys = batch
    opt.zero_grad(set_to_none=True)
    outs = model(x)
    losses = [F.cross_entropy(o, y) for o, y in zip(outs, ys)]
    n_tasks = len(losses)
    grads = []
    for i, loss in enumerate(losses):
        loss.backward(retain_graph=(i + 1 != n_tasks))
        grads.append(torch.cat([p.grad.reshape(-1) for p in shared]))
        for p in shared:  # zero_grad_share_params: head grads keep accumulating their own task's gradient
            p.grad = None
    grads = torch.stack(grads)  # [tasks, shared dims]
    pc_grads = grads.clone()
    for i in range(n_tasks):
        order = list(range(n_tasks))
        rng.shuffle(order)
        for j in order:
            g_ij = torch.dot(pc_grads[i], grads[j])
            if g_ij < 0:
                pc_grads[i] -= g_ij * grads[j] / grads[j].norm().pow(2)
    new_grad = pc_grads.sum(0)
    offset = 0
    for p in shared:
        n = p.numel()
        p.grad = new_grad[offset : offset + n].view_as(p).clone()
        offset += n
    opt.step()
    return sum(losses)


def build(workload):
    gen = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    rng = random.Random(SEED)
    if workload in ("W1", "W2"):
        model = MlpTwoHeads()
        data = make_w1_data(gen)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        if workload == "W1":
            return data, lambda b: equal_weight_step(model, opt, b, F.cross_entropy)
        shared = list(model.trunk.parameters())
        return data, lambda b: pcgrad_step(model, opt, b, shared, rng)
    if workload == "W3":
        model = MMoE()
        data = make_w3_data(gen)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        return data, lambda b: equal_weight_step(model, opt, b, F.binary_cross_entropy_with_logits)
    raise ValueError("unknown workload %r" % workload)


def loaded_blas():
    """File name of the BLAS library mapped into this process (Linux), or "unknown"."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if line.rstrip().endswith(".so") or ".so." in line}
    except OSError:
        return "unknown"
    hits = sorted(p for p in paths if any(k in os.path.basename(p).lower() for k in ("blas", "mkl_rt", "libmkl")))
    return ", ".join(hits) if hits else "unknown"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True, choices=["W1", "W2", "W3"])
    ap.add_argument("--steps", type=int, default=20, help="optimizer steps per timed window (default 20)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps before timing (default 10)")
    ap.add_argument("--windows", type=int, default=5, help="timed windows (default 5)")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    args = ap.parse_args(argv)
    if args.steps < 1 or args.windows < 1 or args.warmup < 0:
        ap.error("--steps and --windows must be >= 1, --warmup >= 0")

    torch.set_num_threads(1)
    data, step = build(args.workload)
    i = 0
    loss = None
    for _ in range(args.warmup):
        loss = step(data[i % len(data)])
        i += 1
    windows = []
    cpu_windows = []
    for _ in range(args.windows):
        t0 = time.perf_counter()
        c0 = time.process_time()
        for _ in range(args.steps):
            loss = step(data[i % len(data)])
            i += 1
        final = float(loss.item())  # also a sync point (CPU ops are synchronous anyway)
        windows.append((time.perf_counter() - t0) * 1000.0 / args.steps)
        cpu_windows.append((time.process_time() - c0) * 1000.0 / args.steps)
    result = {
        "workload": args.workload,
        "ms_per_step_median": round(statistics.median(windows), 3),
        "windows": [round(w, 3) for w in windows],
        "cpu_ms_per_step_median": round(statistics.median(cpu_windows), 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1),
        "python_version": platform.python_version(),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": loaded_blas(),
        "steps": args.steps,
        "warmup": args.warmup,
        "final_loss": final,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(
            "%s: %.3f ms/step (median of %d windows x %d steps; torch %s, %d thread, BLAS %s)"
            % (
                args.workload,
                result["ms_per_step_median"],
                args.windows,
                args.steps,
                torch.__version__,
                result["threads"],
                result["blas"],
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
