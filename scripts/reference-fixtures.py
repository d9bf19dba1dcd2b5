"""Reference fixtures for the gradient methods: what LibMTL and TorchJD compute on fixed random gradient sets.

Writes test/fixtures/reference-gradients.json, which test/reference-agreement.test.ts compares `mtl`'s combiners
against (direction cosine > 0.9999, norms within 1e-4 relative, or a documented better-than check).

Re-run (Debian's python3, which has torch 1.13, numpy, scipy and cvxopt; not a pyenv python3 first on PATH):

    # checkouts of the two reference repositories, at the commits to record
    git clone https://github.com/median-research-group/LibMTL /tmp/LibMTL
    git clone https://github.com/TorchJD/torchjd /tmp/torchjd
    /usr/bin/python3 scripts/reference-fixtures.py /tmp/LibMTL /tmp/torchjd [test/fixtures/reference-gradients.json]

(A checkout without .git, e.g. from `git archive`, works too: pass the commits with --libmtl-commit and
--torchjd-commit.) The reference code is imported unchanged. Four things stand in for what torch 1.13 and an
offline machine lack, and the fixture records them under "shims":
- the packages' __init__ files are bypassed (LibMTL's imports cvxpy for Nash-MTL, TorchJD's imports torch.vmap, absent
  in torch 1.13): the modules of the methods are imported one by one;
- `qpsolvers.solve_qp(..., solver="quadprog")` (UPGrad, DualProj) is served by cvxopt's QP solver with tight
  tolerances, then polished on the active set it finds (the KKT system solved exactly), which is the exact solution
  quadprog's active-set method returns;
- torch 1.13 has no `Module.register_full_backward_pre_hook`, which TorchJD's aggregators call only to forbid
  differentiating through them: a no-op stands in;
- random draws are recorded, not replaced: `random.shuffle` (LibMTL's PCGrad, GradVac), `torch.randperm` (TorchJD's
  PCGrad) and `torch.rand`/`torch.rand_like` (GradDrop) are wrapped to log what they returned, so the test can replay
  the same task orders; GradDrop's uniforms are recorded for the record, the test checks the distribution.
Methods that need cvxpy (LibMTL's and TorchJD's Nash-MTL, TorchJD's CAGrad) are not run; the notes say how the test
checks them instead.

LibMTL's weighting classes call backward on the losses: they are driven with one shared parameter θ ∈ R^P at θ = 0
and losses L_i = g_iᵀθ + ℓ_i, so each task's gradient is exactly g_i and its loss value ℓ_i; the update they leave in
θ.grad is the reference output. TorchJD's aggregators take the T×P matrix directly.
"""

import argparse
import importlib
import json
import os
import platform
import random
import subprocess
import sys
import types

import numpy as np
import torch

CASE_SEED = 20240613
DIMENSION = 8


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('libmtl', help='checkout of github.com/median-research-group/LibMTL')
    parser.add_argument('torchjd', help='checkout of github.com/TorchJD/torchjd')
    parser.add_argument('output', nargs='?', default='test/fixtures/reference-gradients.json')
    parser.add_argument('--libmtl-commit', default=None)
    parser.add_argument('--torchjd-commit', default=None)
    return parser.parse_args()


def commit_of(path, given):
    if given:
        return given
    try:
        return subprocess.check_output(['git', '-C', path, 'rev-parse', 'HEAD'], text=True).strip()
    except (subprocess.CalledProcessError, FileNotFoundError):
        sys.exit(f'{path} is not a git checkout: pass its commit with --libmtl-commit / --torchjd-commit')


# ---------------------------------------------------------------------------------------------------------------
# Shims (see the module docstring)


def bypass_package_init(name, path):
    package = types.ModuleType(name)
    package.__path__ = [path]
    sys.modules[name] = package


def solve_qp_with_cvxopt(P, q, G, h, solver=None):
    """qpsolvers.solve_qp: min ½xᵀPx + qᵀx s.t. Gx ≤ h, exact on the active set cvxopt finds."""
    import cvxopt

    cvxopt.solvers.options.update({'show_progress': False, 'abstol': 1e-14, 'reltol': 1e-14, 'feastol': 1e-14,
                                   'maxiters': 200})
    P, q, G, h = (np.asarray(a, dtype=np.float64) for a in (P, q, G, h))
    result = cvxopt.solvers.qp(cvxopt.matrix(P), cvxopt.matrix(q), cvxopt.matrix(G), cvxopt.matrix(h))
    x = np.array(result['x']).ravel()
    z = np.array(result['z']).ravel()
    # Polish: constraints with a positive multiplier are active; solve P x + q + G_Aᵀ z_A = 0, G_A x = h_A exactly.
    active = np.where(z > 1e-9 * max(1.0, np.abs(z).max()))[0]
    n, a = len(x), len(active)
    kkt = np.zeros((n + a, n + a))
    kkt[:n, :n] = P
    kkt[:n, n:] = G[active].T
    kkt[n:, :n] = G[active]
    rhs = np.concatenate([-q, h[active]])
    try:
        solution = np.linalg.solve(kkt, rhs)
        polished, multipliers = solution[:n], solution[n:]
        if np.all(G @ polished <= h + 1e-12) and np.all(multipliers >= -1e-12):
            return polished
    except np.linalg.LinAlgError:
        pass
    return x


class Recorder:
    """Wraps a random function and logs what each call returned."""

    def __init__(self, module, name, convert):
        self.module, self.name, self.convert = module, name, convert
        self.original = getattr(module, name)
        self.calls = []

    def __enter__(self):
        original = self.original

        def recorded(*args, **kwargs):
            result = original(*args, **kwargs)
            self.calls.append(self.convert(args, result))
            return result

        setattr(self.module, self.name, recorded)
        return self

    def __exit__(self, *exc):
        setattr(self.module, self.name, self.original)


def shuffle_recorder():
    # random.shuffle works in place and returns None: log the list after shuffling.
    return Recorder(random, 'shuffle', lambda args, _result: [int(i) for i in args[0]])


# ---------------------------------------------------------------------------------------------------------------
# Gradient sets


def as_float32_list(array):
    return [float(v) for v in np.asarray(array, dtype=np.float32).ravel()]


def make_cases():
    """(id, grads T×P float32, losses T) — 2 to 5 tasks; random, forced conflicts, fewer dimensions than tasks."""
    rng = np.random.default_rng(CASE_SEED)
    cases = []
    for t in range(2, 6):
        random_grads = rng.normal(size=(t, DIMENSION))
        cases.append((f't{t}-random', random_grads))
        # Forced conflicts: every later gradient mostly opposes the first, with lengths over two decades.
        base = rng.normal(size=DIMENSION)
        conflict = np.stack([base] + [-(0.5 + 0.5 * i) * base + 0.4 * rng.normal(size=DIMENSION)
                                      for i in range(1, t)])
        conflict *= np.logspace(0, 2, t)[:, None] ** 0.5
        cases.append((f't{t}-conflict', conflict))
        # Fewer dimensions than tasks (P = T − 1; for T = 2 a single dimension with opposite signs).
        if t == 2:
            cases.append(('t2-lowdim', np.array([[1.5], [-0.7]])))
        else:
            cases.append((f't{t}-lowdim', rng.normal(size=(t, t - 1))))
    out = []
    for case_id, grads in cases:
        grads = np.asarray(grads, dtype=np.float32)
        losses = np.asarray(rng.uniform(0.3, 2.5, size=len(grads)), dtype=np.float32)
        out.append({'id': case_id, 'grads': grads, 'losses': losses})
    return out


def step_sequence(case, steps, seed):
    """`steps` gradient sets: the case's, then perturbed copies (stateful methods see several steps)."""
    rng = np.random.default_rng(seed)
    sets = [(case['grads'], case['losses'])]
    for _ in range(steps - 1):
        grads = case['grads'] * rng.uniform(0.5, 1.5, size=(len(case['grads']), 1)) + \
            0.3 * rng.normal(size=case['grads'].shape)
        losses = case['losses'] * rng.uniform(0.7, 1.0, size=len(case['losses']))
        sets.append((np.asarray(grads, dtype=np.float32), np.asarray(losses, dtype=np.float32)))
    return sets


# ---------------------------------------------------------------------------------------------------------------
# Driving LibMTL


def libmtl_driver(weighting_class, task_num, dimension):
    """A LibMTL weighting whose shared parameter is θ ∈ R^P (see the module docstring)."""

    class Driver(weighting_class):
        def __init__(self):
            super().__init__()
            self.task_num = task_num
            self.task_name = [f'task{i}' for i in range(task_num)]
            self.device = torch.device('cpu')
            self.rep_grad = False
            self.encoder = torch.nn.Module()
            self.encoder.theta = torch.nn.Parameter(torch.zeros(dimension))
            self.decoders = {}

        def get_share_params(self):
            return self.encoder.parameters()

        def zero_grad_share_params(self):
            self.encoder.zero_grad(set_to_none=False)

    driver = Driver()
    driver.init_param()
    return driver


def libmtl_losses(driver, grads, losses):
    theta = driver.encoder.theta
    return torch.from_numpy(grads) @ theta + torch.from_numpy(losses)


def run_libmtl(weighting_class, kwargs, sets, losses_per_call=1):
    """The update LibMTL writes into θ.grad, per step; `losses_per_call` 3 for MoDo/SDMGrad (three samples)."""
    driver = libmtl_driver(weighting_class, len(sets[0][0]), sets[0][0].shape[1])
    outputs = []
    for grads, losses in sets:
        driver.encoder.theta.grad = None
        if losses_per_call == 1:
            loss = libmtl_losses(driver, grads, losses)
        else:
            loss = [libmtl_losses(driver, grads, losses) for _ in range(losses_per_call)]
        driver.backward(loss, **kwargs)
        outputs.append(driver.encoder.theta.grad.detach().numpy().copy())
    return outputs


# ---------------------------------------------------------------------------------------------------------------


def entry(reference, method, options, case, steps, **extra):
    return {'reference': reference, 'method': method, 'referenceOptions': options, 'case': case['id'],
            'steps': steps, **extra}


def finite_or_none(vector):
    vector = np.asarray(vector, dtype=np.float64)
    return as_float32_list(vector) if np.all(np.isfinite(vector)) else None


def libmtl_entries(cases):
    w = {name: importlib.import_module(f'LibMTL.weighting.{name}') for name in [
        'PCGrad', 'MGDA', 'CAGrad', 'GradVac', 'IMTL', 'Aligned_MTL', 'UPGrad', 'FairGrad', 'MoCo', 'DB_MTL',
        'ExcessMTL', 'SDMGrad', 'MoDo', 'GradDrop']}
    entries = []

    def single(method, cls, kwargs, case, **extra):
        sets = [(case['grads'], case['losses'])]
        try:
            output = run_libmtl(cls, kwargs, sets)[0]
            result = finite_or_none(output)
        except Exception as error:  # the reference's own failure (e.g. a singular inverse) is recorded
            result, extra = None, {**extra, 'referenceError': f'{type(error).__name__}: {error}'}
        entries.append(entry('LibMTL', method, kwargs, case, [step_record(case['grads'], case['losses'], result)],
                             **extra))

    for case in cases:
        # PCGrad: one shuffle per task, in task order; the orders are recorded for the test to replay.
        random.seed(1)
        with shuffle_recorder() as shuffles:
            output = run_libmtl(w['PCGrad'].PCGrad, {}, [(case['grads'], case['losses'])])[0]
        step = step_record(case['grads'], case['losses'], finite_or_none(output))
        step['orders'] = shuffles.calls
        entries.append(entry('LibMTL', 'PCGrad', {}, case, [step]))

        for gn in ['none', 'l2', 'loss', 'loss+']:
            single('MGDA', w['MGDA'].MGDA, {'mgda_gn': gn}, case)
        for rescale in [1, 0, 2]:
            single('CAGrad', w['CAGrad'].CAGrad, {'calpha': 0.5, 'rescale': rescale}, case)
        single('IMTL', w['IMTL'].IMTL, {}, case)
        single('Aligned_MTL', w['Aligned_MTL'].Aligned_MTL, {}, case)
        single('UPGrad', w['UPGrad'].UPGrad, {'UPGrad_norm_eps': 1e-4, 'UPGrad_reg_eps': 1e-4}, case)
        single('FairGrad', w['FairGrad'].FairGrad, {'FairGrad_alpha': 1.0}, case)

        # Stateful methods: three steps from fresh state.
        sets = step_sequence(case, 3, seed=len(case['id']) * 7 + len(case['grads']))
        random.seed(2)
        with shuffle_recorder() as shuffles:
            outputs = run_libmtl(w['GradVac'].GradVac, {'GradVac_beta': 0.5, 'GradVac_group_type': 0}, sets)
        t = len(case['grads'])
        steps = []
        for k, ((grads, losses), output) in enumerate(zip(sets, outputs)):
            record = step_record(grads, losses, finite_or_none(output))
            # LibMTL removes task i before shuffling; put it back at the front so an order lists every task.
            record['orders'] = [[i] + shuffles.calls[k * t + i] for i in range(t)]
            steps.append(record)
        entries.append(entry('LibMTL', 'GradVac', {'GradVac_beta': 0.5, 'GradVac_group_type': 0}, case, steps))

        stateful = [
            ('MoCo', w['MoCo'].MoCo, {'MoCo_beta': 0.5, 'MoCo_beta_sigma': 0.5, 'MoCo_gamma': 0.1,
                                      'MoCo_gamma_sigma': 0.5, 'MoCo_rho': 0.0}, 1),
            ('DB_MTL', w['DB_MTL'].DB_MTL, {'DB_beta': 0.9, 'DB_beta_sigma': 0.0}, 1),
            ('ExcessMTL', w['ExcessMTL'].ExcessMTL, {'robust_step_size': 1e-2}, 1),
            ('SDMGrad', w['SDMGrad'].SDMGrad, {'SDMGrad_lamda': 0.3, 'SDMGrad_niter': 20}, 3),
            ('MoDo', w['MoDo'].MoDo, {'MoDo_gamma': 1e-3, 'MoDo_rho': 0.1}, 3),
        ]
        for method, cls, kwargs, samples in stateful:
            outputs = run_libmtl(cls, kwargs, sets, losses_per_call=samples)
            steps = [step_record(g, l, finite_or_none(o)) for (g, l), o in zip(sets, outputs)]
            extra = {'samples': 'the same gradients for all three samples'} if samples == 3 else {}
            entries.append(entry('LibMTL', method, kwargs, case, steps, **extra))
    entries += libmtl_graddrop_entries(w['GradDrop'].GradDrop)
    return entries


def libmtl_graddrop_entries(graddrop_class):
    """GradDrop on representation gradients: activations A (rows × units) and per-task gradients ∇_A L_i."""
    rng = np.random.default_rng(CASE_SEED + 1)
    entries = []
    for t, rows, units in [(2, 1, 6), (2, 3, 4), (3, 4, 5), (5, 2, 3)]:
        activations = np.asarray(rng.normal(size=(rows, units)), dtype=np.float32)
        grads = np.asarray(rng.normal(size=(t, rows, units)), dtype=np.float32)
        losses = np.asarray(rng.uniform(0.3, 2.5, size=t), dtype=np.float32)
        driver = libmtl_driver(graddrop_class, t, 1)
        driver.rep_grad = True
        driver.rep = torch.from_numpy(activations).requires_grad_()
        driver.rep_tasks = {name: driver.rep.detach().clone().requires_grad_() for name in driver.task_name}
        task_losses = [(torch.from_numpy(grads[i]) * driver.rep_tasks[name]).sum() + float(losses[i])
                       for i, name in enumerate(driver.task_name)]
        torch.manual_seed(5)
        with Recorder(torch, 'rand_like', lambda _args, result: as_float32_list(result)) as draws:
            driver.backward(task_losses, leak=0.0)
        case = {'id': f't{t}-rows{rows}-units{units}'}
        step = step_record(grads.reshape(t, -1), losses, finite_or_none(driver.rep.grad.numpy()))
        step['activations'] = as_float32_list(activations)
        step['rows'] = rows
        step['uniforms'] = draws.calls[0]
        entries.append(entry('LibMTL', 'GradDrop', {'leak': 0.0}, case, [step]))
    return entries


def step_record(grads, losses, output):
    return {'grads': [as_float32_list(g) for g in grads], 'losses': as_float32_list(losses), 'output': output}


def torchjd_entries(cases):
    a = {name: importlib.import_module(f'torchjd.aggregation.{name}') for name in [
        '_upgrad', '_dualproj', '_mgda', '_pcgrad', '_imtl_g', '_aligned_mtl', '_graddrop', '_config']}
    aggregators = [
        ('UPGrad', lambda: a['_upgrad'].UPGrad(), {'norm_eps': 1e-4, 'reg_eps': 1e-4, 'pref_vector': None}),
        ('DualProj', lambda: a['_dualproj'].DualProj(), {'norm_eps': 1e-4, 'reg_eps': 1e-4, 'pref_vector': None}),
        ('MGDA', lambda: a['_mgda'].MGDA(), {'epsilon': 0.001, 'max_iters': 100}),
        ('IMTLG', lambda: a['_imtl_g'].IMTLG(), {}),
        ('AlignedMTL', lambda: a['_aligned_mtl'].AlignedMTL(), {'scale_mode': 'min', 'pref_vector': None}),
        ('ConFIG', lambda: a['_config'].ConFIG(), {'pref_vector': None}),
    ]
    entries = []
    for case in cases:
        matrix = torch.from_numpy(case['grads'])
        for method, make, options in aggregators:
            output = make()(matrix).detach().numpy()
            entries.append(entry('TorchJD', method, options, case,
                                 [step_record(case['grads'], case['losses'], finite_or_none(output))]))

        torch.manual_seed(3)
        with Recorder(torch, 'randperm', lambda _args, result: [int(i) for i in result]) as perms:
            output = a['_pcgrad'].PCGrad()(matrix).detach().numpy()
        step = step_record(case['grads'], case['losses'], finite_or_none(output))
        step['orders'] = perms.calls
        entries.append(entry('TorchJD', 'PCGrad', {}, case, [step]))

        torch.manual_seed(4)
        with Recorder(torch, 'rand', lambda _args, result: as_float32_list(result)) as draws:
            output = a['_graddrop'].GradDrop()(matrix).detach().numpy()
        step = step_record(case['grads'], case['losses'], finite_or_none(output))
        step['uniforms'] = draws.calls[0]
        entries.append(entry('TorchJD', 'GradDrop', {'leak': None, 'f': 'identity'}, case, [step]))
    return entries


def main():
    args = parse_args()
    libmtl = os.path.abspath(args.libmtl)
    torchjd = os.path.abspath(args.torchjd)
    bypass_package_init('LibMTL', os.path.join(libmtl, 'LibMTL'))
    bypass_package_init('LibMTL.weighting', os.path.join(libmtl, 'LibMTL', 'weighting'))
    bypass_package_init('torchjd', os.path.join(torchjd, 'src', 'torchjd'))
    bypass_package_init('torchjd.aggregation', os.path.join(torchjd, 'src', 'torchjd', 'aggregation'))
    qpsolvers = types.ModuleType('qpsolvers')
    qpsolvers.solve_qp = solve_qp_with_cvxopt
    sys.modules['qpsolvers'] = qpsolvers
    torch.set_default_dtype(torch.float32)
    if not hasattr(torch.nn.Module, 'register_full_backward_pre_hook'):
        # torch < 2.0: TorchJD's aggregators register a hook that forbids differentiating through them; nothing here
        # differentiates through them, so a no-op stands in.
        torch.nn.Module.register_full_backward_pre_hook = lambda self, hook: None

    cases = make_cases()
    fixture = {
        'generatedBy': 'scripts/reference-fixtures.py (run with /usr/bin/python3; see its docstring)',
        'references': {
            'LibMTL': {'repository': 'https://github.com/median-research-group/LibMTL',
                       'commit': commit_of(libmtl, args.libmtl_commit)},
            'TorchJD': {'repository': 'https://github.com/TorchJD/torchjd',
                        'commit': commit_of(torchjd, args.torchjd_commit)},
        },
        'environment': {'python': platform.python_version(), 'torch': torch.__version__, 'numpy': np.__version__},
        'shims': [
            'package __init__ files bypassed; method modules imported one by one (cvxpy and torch.vmap are absent)',
            'qpsolvers.solve_qp(solver="quadprog") served by cvxopt.solvers.qp (tolerances 1e-14), polished on its '
            'active set to the exact KKT solution (UPGrad, DualProj)',
            'torch.nn.Module.register_full_backward_pre_hook (torch >= 2.0; TorchJD only uses it to forbid '
            'differentiating through an aggregator) is a no-op',
            'random.shuffle, torch.randperm and torch.rand wrapped to record their results (orders, uniforms)',
        ],
        'notRun': {
            'LibMTL Nash_MTL, TorchJD NashMTL': 'need cvxpy (ECOS); the test checks the defining equation Gα = 1/α',
            'TorchJD CAGrad': 'needs cvxpy (CLARABEL); its weights 1/T + (c‖g0‖/‖g_w‖) w are LibMTL CAGrad with '
                              'rescale 0, which is run',
        },
        'entries': libmtl_entries(cases) + torchjd_entries(cases),
    }
    with open(args.output, 'w') as out:
        json.dump(fixture, out, separators=(',', ':'))
        out.write('\n')
    print(f'{args.output}: {len(fixture["entries"])} entries over {len(cases)} gradient sets', file=sys.stderr)


if __name__ == '__main__':
    main()
