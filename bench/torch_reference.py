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
    import numpy
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


# ---------------------------------------------------------------------------------------------------------------
# Issue #20, point 3: the scaling workloads. The solvers are ports of the project's combiners
# (src/strategies/gradient/*.ts), the same algorithm with the same iteration counts and tolerances, in float64 numpy
# on the T×T Gram matrix; the Gram matrix and the combination run in torch (float32 BLAS) — ours computes the Gram
# matrix in float64 JS loops, which is part of what the solver's share compares.


def project_conflicting(g, orders):
    """pcgrad.ts projectConflicting: coefficients c_i with g_i^PC = sum_k c_ik g_k."""
    t = len(g)
    rows = []
    for i in range(t):
        c = [0.0] * t
        c[i] = 1.0
        for j in orders[i]:
            if j == i or not g[j][j] > 0:
                continue
            conflict = sum(c[k] * g[k][j] for k in range(t))
            if conflict < 0:
                c[j] -= conflict / g[j][j]
        rows.append(c)
    return rows


def min_norm_pair(uu, uv, vv):
    curvature = uu + vv - 2 * uv
    if not curvature > 1e-15 * (uu + vv):
        return 0.5
    return min(1.0, max(0.0, (vv - uv) / curvature))


def min_norm_element(g):
    """mgda.ts minNormElement: Wolfe's min-norm point over the simplex (closed form for T = 2), at most 50·T majors."""
    n = len(g)
    if n == 2:
        gamma = min_norm_pair(g[0][0], g[0][1], g[1][1])
        return [gamma, 1 - gamma]
    diagonal = [g[i][i] for i in range(n)]
    tol = 1e-12 * max(diagonal)
    alpha = [0.0] * n
    first = diagonal.index(min(diagonal))
    active = [first]
    alpha[first] = 1.0
    gm = numpy.array(g)
    for _ in range(50 * n):
        gx = gm @ numpy.array(alpha)
        xx = float(numpy.dot(alpha, gx))
        j = int(numpy.argmin(gx))
        if xx - gx[j] <= tol or j in active:
            break
        active.append(j)
        while True:
            c = max(g[a][a] for a in active)
            m = len(active)
            bordered = numpy.zeros((m + 1, m + 1))
            for r, a in enumerate(active):
                for s, b in enumerate(active):
                    bordered[r, s] = g[a][b]
                bordered[r, m] = c
                bordered[m, r] = c
            rhs = numpy.zeros(m + 1)
            rhs[m] = c
            try:
                mu = numpy.linalg.solve(bordered, rhs)
            except numpy.linalg.LinAlgError:
                return alpha
            if all(mu[k] > 0 for k in range(m)):
                for k, a in enumerate(active):
                    alpha[a] = float(mu[k])
                break
            theta = min((alpha[a] / (alpha[a] - mu[k]) if mu[k] <= 0 else 1.0) for k, a in enumerate(active))
            for k, a in enumerate(active):
                alpha[a] += theta * (mu[k] - alpha[a])
            for a in active:
                if alpha[a] <= 1e-15:
                    alpha[a] = 0.0
            active = [a for a in active if alpha[a] > 0]
            total = sum(alpha[a] for a in active)
            for a in active:
                alpha[a] /= total
    return alpha


def nash_weights(g, start, max_iter=100):
    """nash-mtl.ts nashWeights: damped Newton on ½βᵀCβ − Σ log β (C the cosine matrix), warm start, ≤ 100 steps."""
    g = numpy.array(g)
    norms = numpy.sqrt(numpy.maximum(numpy.diag(g), 0))
    longest = norms.max()
    fallback = 1 / longest if longest > 0 else 1.0
    live = [i for i in range(len(g)) if norms[i] > 0]
    result = [start[i] if start is not None else fallback for i in range(len(g))]
    cosine = numpy.array([[1 + 1e-10 if i == j else g[i, j] / (norms[i] * norms[j]) for j in live] for i in live])

    def f(b):
        return 0.5 * b @ cosine @ b - numpy.log(b).sum()

    beta = numpy.array([start[i] * norms[i] if start is not None else 1.0 for i in live])
    for _ in range(max_iter if live else 0):
        cb = cosine @ beta
        if numpy.all(numpy.abs(beta * cb - 1) < 1e-13):
            break
        grad = cb - 1 / beta
        hessian = cosine + numpy.diag(1 / beta**2)
        try:
            delta = numpy.linalg.solve(hessian, -grad)
        except numpy.linalg.LinAlgError:
            break
        slope = float(grad @ delta)
        if -slope < 1e-24:
            break
        step = 1.0
        while numpy.any(beta + step * delta <= 0):
            step /= 2
        f0 = f(beta)
        while step > 1e-12 and f(beta + step * delta) > f0 + 0.25 * step * slope:
            step /= 2
        beta = beta + step * delta
    for k, i in enumerate(live):
        result[i] = float(beta[k] / norms[i])
    return result


def project_onto_simplex(y):
    srt = sorted(y, reverse=True)
    cumulative = 0.0
    theta = 0.0
    for k, v in enumerate(srt):
        cumulative += v
        candidate = (cumulative - 1) / (k + 1)
        if v - candidate > 0:
            theta = candidate
    return numpy.maximum(numpy.array(y) - theta, 0)


def cagrad_dual(g, c, max_iter=2000):
    """cagrad.ts cagradDual: projected gradient with backtracking on the smoothed dual, ≤ 2000 iterations."""
    t = len(g)
    mean = numpy.full(t, 1 / t)
    g_mean = g @ mean
    radius = c * numpy.sqrt(max(mean @ g @ mean, 0))
    eps = 1e-12

    def objective(w):
        return float(w @ g_mean + radius * numpy.sqrt(max(w @ g @ w, 0) + eps))

    w = mean
    f = objective(w)
    step = 1.0
    stalled = 0
    for _ in range(max_iter):
        gw = g @ w
        norm = numpy.sqrt(max(float(w @ gw), 0) + eps)
        grad = g_mean + radius * gw / norm
        step *= 2
        nxt, f_next = w, f
        for _ in range(60):
            nxt = project_onto_simplex(list(w - step * grad))
            f_next = objective(nxt)
            lin = float((nxt - w) @ grad)
            quad = float(((nxt - w) ** 2).sum()) / (2 * step)
            if f_next <= f + lin + quad + 1e-15:
                break
            step /= 2
        moved = float(numpy.abs(nxt - w).max())
        stalled = stalled + 1 if f - f_next < 1e-15 else 0
        w, f = nxt, f_next
        if moved < 1e-12 or stalled >= 2:
            break
    return w


class Solver:
    """One strategy's combiner (default options, as the registry builds it): grads [T, P] → (combined, head scales)."""

    def __init__(self, name, n_tasks):
        self.name = name
        self.n_tasks = n_tasks
        self.alpha = None  # nash-mtl's warm start
        self.rng = random.Random(SEED)
        self.seconds = 0.0
        self.calls = 0

    def __call__(self, grads):
        t0 = time.perf_counter()
        try:
            return self._combine(grads)
        finally:
            self.seconds += time.perf_counter() - t0
            self.calls += 1

    def _combine(self, grads):
        t = self.n_tasks
        g = (grads @ grads.t()).double().numpy()
        scales = None
        if self.name == "pcgrad":
            orders = []
            for _ in range(t):
                order = list(range(t))
                self.rng.shuffle(order)
                orders.append(order)
            weights = numpy.array(project_conflicting(g.tolist(), orders)).sum(axis=0)
        elif self.name == "mgda":  # normalization none, apply_to raw
            weights = numpy.array(min_norm_element(g.tolist()))
        elif self.name == "nash-mtl":  # max_norm 1, update_weights_every 1
            self.alpha = nash_weights(g, self.alpha)
            weights = numpy.array(self.alpha)
            scales = list(self.alpha)
        elif self.name == "cagrad":  # c 0.5, rescale 1
            c = 0.5
            scale = g.diagonal().max() or 1.0
            w = cagrad_dual(g / scale, c)
            mean = numpy.full(t, 1 / t)
            gw_norm = numpy.sqrt(max(w @ g @ w, 0))
            g0_norm = numpy.sqrt(max(mean @ g @ mean, 0))
            lam = c * g0_norm / gw_norm if gw_norm > 1e-7 * numpy.sqrt(scale) else 0.0
            weights = (1 / t + lam * w) / (1 + c * c)
        else:
            raise ValueError(self.name)
        combined = torch.from_numpy(weights.astype(numpy.float32)) @ grads
        if self.name == "nash-mtl":
            norm = float(combined.norm())
            factor = min(1.0 / (norm + 1e-6), 1.0)
            if factor != 1.0:
                combined = combined * factor
        return combined, scales


# Which gradients each strategy combines with grad_target auto (the project's registry): MGDA → MGDA-UB on the shared
# representation; PCGrad, Nash-MTL, CAGrad → the shared parameters.
GRAD_TARGET = {"pcgrad": "params", "mgda": "representation", "nash-mtl": "params", "cagrad": "params"}


class MlpHeads(nn.Module):
    def __init__(self, n_tasks, width=None):
        super().__init__()
        if width is None:
            self.trunk = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU())
            out = 128
        else:
            self.trunk = nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU())
            out = width
        self.heads = nn.ModuleList([nn.Linear(out, 10) for _ in range(n_tasks)])


def make_tasks_data(gen, n_tasks, n_in=784, batch=256):
    return [
        (torch.randn(batch, n_in, generator=gen), [torch.randint(0, 10, (batch,), generator=gen) for _ in range(n_tasks)])
        for _ in range(N_BATCHES)
    ]


def gradient_step(model, opt, batch, solver, target):
    """One forward (retained graph), T backward passes, the solver, one update — on `target` gradients."""
    x, ys = batch
    opt.zero_grad(set_to_none=True)
    shared = list(model.trunk.parameters())
    h = model.trunk(x)
    z = h.detach().requires_grad_() if target == "representation" else h
    losses = [F.cross_entropy(head(z), y) for head, y in zip(model.heads, ys)]
    grads = []
    for i, loss in enumerate(losses):
        loss.backward(retain_graph=(i + 1 != len(losses)))
        if target == "representation":
            grads.append(z.grad.reshape(-1).clone())
            z.grad = None
        else:
            grads.append(torch.cat([p.grad.reshape(-1) for p in shared]))
            for p in shared:
                p.grad = None
    combined, scales = solver(torch.stack(grads))
    if scales is not None:  # Nash-MTL: head i gets alpha_i times its gradient
        for head, s in zip(model.heads, scales):
            for p in head.parameters():
                p.grad.mul_(s)
    if target == "representation":
        h.backward(combined.view_as(h))
    else:
        offset = 0
        for p in shared:
            n = p.numel()
            p.grad = combined[offset : offset + n].view_as(p).clone()
            offset += n
    opt.step()
    return sum(losses)


class ConvNet(nn.Module):
    """configs/multi-digits-conv.yaml: reshape 8×12×1, conv 3×3×16 same + ReLU, max-pool 2, conv 3×3×32 same + ReLU,
    flatten, dense 64 ReLU, two 10-way heads."""

    def __init__(self):
        super().__init__()
        self.trunk = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(32 * 4 * 6, 64),
            nn.ReLU(),
        )
        self.heads = nn.ModuleList([nn.Linear(64, 10), nn.Linear(64, 10)])

    def forward(self, x):
        h = self.trunk(x.view(-1, 1, 8, 12))
        return [head(h) for head in self.heads]


class HeadsForward(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, x):
        h = self.model.trunk(x)
        return [head(h) for head in self.model.heads]


def build_scaling(args):
    """(data, step, solver or None, description) of TASKS, WIDTH, BATCH or CONV."""
    gen = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    if args.workload == "TASKS":
        model = MlpHeads(args.tasks)
        data = make_tasks_data(gen, args.tasks)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        if args.strategy == "equal":
            forward = HeadsForward(model)
            return data, lambda b: equal_weight_step(forward, opt, b, F.cross_entropy), None, "losses"
        solver = Solver(args.strategy, args.tasks)
        target = GRAD_TARGET[args.strategy]
        return data, lambda b: gradient_step(model, opt, b, solver, target), solver, target
    if args.workload == "WIDTH":
        model = HeadsForward(MlpHeads(2, args.width))
        data = make_tasks_data(gen, 2)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        return data, lambda b: equal_weight_step(model, opt, b, F.cross_entropy), None, "losses"
    if args.workload == "BATCH":
        model = HeadsForward(MlpHeads(2))
        data = make_tasks_data(gen, 2, batch=args.batch)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        return data, lambda b: equal_weight_step(model, opt, b, F.cross_entropy), None, "losses"
    if args.workload == "CONV":
        model = ConvNet()
        data = make_tasks_data(gen, 2, n_in=96, batch=64)
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        return data, lambda b: equal_weight_step(model, opt, b, F.cross_entropy), None, "losses"
    raise ValueError(args.workload)


def gemm_peak(size):
    """Best of three n×n float32 products (after one warm-up): GFLOP/s = 2n³ / time."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    times = []
    for _ in range(4):
        t0 = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - t0)
    best = min(times[1:])
    return {
        "workload": "PEAK",
        "size": size,
        "ms": [round(t * 1000, 3) for t in times],
        "best_ms": round(best * 1000, 3),
        "gflops": round(2 * size**3 / best / 1e9, 2),
        "torch_version": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas": loaded_blas(),
        "blas_core": openblas_core(),
    }


def loaded_blas():
    """File name of the BLAS library mapped into this process (Linux), or "unknown"."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if line.rstrip().endswith(".so") or ".so." in line}
    except OSError:
        return "unknown"
    hits = sorted(p for p in paths if any(k in os.path.basename(p).lower() for k in ("blas", "mkl_rt", "libmkl")))
    return ", ".join(hits) if hits else "unknown"


def openblas_core():
    """The kernel family OpenBLAS chose when it loaded (e.g. "SkylakeX"), or None where the BLAS is not OpenBLAS.

    An OpenBLAS older than the CPU model falls back to pre-AVX kernels ("Prescott") and runs several times slower:
    bench/blas-core.mjs explains, and bench/run.mjs sets OPENBLAS_CORETYPE for it. Run alone, this script reports it.
    """
    import ctypes

    try:
        name = ctypes.CDLL("libblas.so.3").openblas_get_corename
    except (OSError, AttributeError):
        return None
    name.restype = ctypes.c_char_p
    return name().decode()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workload", required=True, choices=["W1", "W2", "W3", "TASKS", "WIDTH", "BATCH", "CONV", "PEAK"])
    ap.add_argument("--strategy", default="equal", choices=["equal", "pcgrad", "mgda", "nash-mtl", "cagrad"])
    ap.add_argument("--tasks", type=int, default=2, help="TASKS: number of 10-way tasks (default 2)")
    ap.add_argument("--width", type=int, default=256, help="WIDTH: trunk width (default 256)")
    ap.add_argument("--batch", type=int, default=256, help="BATCH: rows per batch of W1's model (default 256)")
    ap.add_argument("--size", type=int, default=2048, help="PEAK: square sgemm size (default 2048)")
    ap.add_argument("--steps", type=int, default=20, help="optimizer steps per timed window (default 20)")
    ap.add_argument("--warmup", type=int, default=10, help="untimed steps before timing (default 10)")
    ap.add_argument("--windows", type=int, default=5, help="timed windows (default 5)")
    ap.add_argument("--json", action="store_true", help="print one JSON line")
    ap.add_argument(
        "--gated", action="store_true", help="time one window per 'go' line on stdin (bench/paired.mjs), until 'end'"
    )
    args = ap.parse_args(argv)
    if args.steps < 1 or args.windows < 1 or args.warmup < 0:
        ap.error("--steps and --windows must be >= 1, --warmup >= 0")

    torch.set_num_threads(1)
    if args.workload == "PEAK":
        print(json.dumps(gemm_peak(args.size)))
        return 0
    solver = None
    target = None
    if args.workload in ("TASKS", "WIDTH", "BATCH", "CONV"):
        data, step, solver, target = build_scaling(args)
    else:
        data, step = build(args.workload)
    i = 0
    loss = None
    for _ in range(args.warmup):
        loss = step(data[i % len(data)])
        i += 1
    windows = []
    cpu_windows = []
    if solver is not None:
        solver.seconds = 0.0
        solver.calls = 0
    final = None

    def run_window():
        nonlocal i, loss, final
        t0 = time.perf_counter()
        c0 = time.process_time()
        for _ in range(args.steps):
            loss = step(data[i % len(data)])
            i += 1
        final = float(loss.item())  # also a sync point (CPU ops are synchronous anyway)
        windows.append((time.perf_counter() - t0) * 1000.0 / args.steps)
        cpu_windows.append((time.process_time() - c0) * 1000.0 / args.steps)

    if args.gated:
        # bench/paired.mjs: say "ready" after the warm-up, then one window per "go" line, until "end" or EOF.
        print("ready", flush=True)
        while True:
            command = sys.stdin.readline().strip()
            if command in ("", "end"):
                break
            if command != "go":
                raise SystemExit('gated child: unknown command "%s" (expected go or end)' % command)
            run_window()
            print("window %r %r" % (windows[-1], cpu_windows[-1]), flush=True)
        if not windows:
            raise SystemExit("gated child: ended before its first window (no go): nothing was timed")
    else:
        for _ in range(args.windows):
            run_window()
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
        "blas_core": openblas_core(),
        "steps": args.steps,
        "warmup": args.warmup,
        "gated": args.gated,
        "final_loss": final,
    }
    if args.workload in ("TASKS", "WIDTH", "BATCH", "CONV"):
        timed_ms = sum(windows) * args.steps
        result.update({"strategy": args.strategy, "tasks": args.tasks, "width": args.width, "grad_target": target})
        if args.workload == "BATCH":
            result["batch"] = args.batch
        if solver is not None and solver.calls > 0:
            # Gated, the windows are those asked for with go, not --windows.
            result["solver_ms_per_step"] = round(solver.seconds * 1000 / (args.steps * len(windows)), 4)
            result["solver_share"] = round(solver.seconds * 1000 / timed_ms, 4)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            "%s: %.3f ms/step (median of %d windows x %d steps; torch %s, %d thread, BLAS %s, OpenBLAS kernels %s)"
            % (
                args.workload,
                result["ms_per_step_median"],
                len(windows),
                args.steps,
                torch.__version__,
                result["threads"],
                result["blas"],
                result["blas_core"] or "-",
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
