/**
 * DualProj — P. Quinton, V. Rey, "Jacobian Descent for Multi-Objective Optimization", arXiv:2406.16232, 2024
 * (reference: TorchJD, src/torchjd/aggregation/_dualproj.py, read at commit 46962c2b); the projection of the average
 * gradient is Lopez-Paz & Ranzato's GEM step (NeurIPS 2017, eq. 11).
 *
 * The preference-weighted average of the task gradients, projected onto their dual cone
 * C = {d : g_jᵀd ≥ 0 for every j}:
 *   d = π_C(Σ_i p_i g_i) = Σ_j w_j g_j,   w = argmin_v vᵀHv  s.t.  v ≥ p      (p: 1/T each by default)
 * solved exactly by the active set of src/numerics/qp.ts, with H the conditioned Gramian of UPGrad (G / tr(G), 0
 * below `norm_eps`, plus `reg_eps`·I; see upgrad.ts). Where the average conflicts with no task, d is the average;
 * otherwise d is the closest direction to it along which no task increases to first order (exactly so with
 * `reg_eps: 0`).
 *
 * Gradient target (`grad_target: auto`): params. The other target: allowed when asked for explicitly, with a note. Why:
 * Quinton & Rey aggregate the Jacobian of the task losses with respect to the shared parameters (TorchJD's
 * mtl_backward differentiates through the features but aggregates the parameter Jacobian); the paper defines no
 * representation variant.
 */
import { projectOntoDualCone } from '../../numerics/index.js';
import type { CombinerDefinition } from './types.js';
import { jacobianDescentCombiner } from './upgrad.js';

export const dualproj: CombinerDefinition = jacobianDescentCombiner('dualproj', 'DualProj', projectOntoDualCone);
