import { buildExtractionModel, expertCountSchema, extractionOptions, taskExpertsProblem } from '../extraction.js';
import { lastKernelLayerOfTrunk } from '../last-shared-layer.js';
import type { ArchitectureDefinition } from '../types.js';

/**
 * Customized Gate Control (Tang, Liu, Zhao & Gong 2020, RecSys, §4.2): S shared experts plus K experts per task,
 * each a stack of the `trunk` layers; task t's softmax gate mixes the shared experts and its own only,
 *
 *   g_t(x) = softmax(W_t x + b_t) ∈ Δ^{S+K−1},   f_t(x) = Σ_j g_t(x)_j · [E_s(x), E_t(x)]_j,   ŷ_t = head_t(f_t(x))
 *
 * i.e. PLE with one extraction level (see extraction.ts). Shared experts are shared variables; task experts, gates
 * and heads are task variables. No single shared representation.
 */
export const cgc: ArchitectureDefinition = {
  name: 'cgc',
  description: 'Shared + task-specific experts (from `trunk`), mixed by one softmax gate per task (PLE with one level)',
  paper:
    'Tang, Liu, Zhao & Gong, "Progressive Layered Extraction (PLE): A Novel Multi-Task Learning (MTL) Model for ' +
    'Personalized Recommendations", RecSys 2020',
  optionsSchema: { ...expertCountSchema },
  hasSharedRepresentation: false,
  lastSharedLayer: (config) => lastKernelLayerOfTrunk(config, 'of every shared expert'),
  checkConfig(config) {
    const problem = taskExpertsProblem('cgc', config);
    return problem ? [{ path: ['task_experts'], message: problem }] : [];
  },
  build(config, context) {
    return buildExtractionModel('cgc', config, context, extractionOptions(config, 1));
  },
};
