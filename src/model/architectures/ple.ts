import {
  buildExtractionModel,
  deeperLevelProblem,
  expertCountSchema,
  extractionOptions,
  taskExpertsProblem,
} from '../extraction.js';
import { lastKernelLayerOfTrunk } from '../last-shared-layer.js';
import type { ArchitectureDefinition } from '../types.js';

/**
 * Progressive Layered Extraction (Tang, Liu, Zhao & Gong 2020, RecSys, §4.3): `levels` stacked CGC levels. On level l
 * task t mixes the shared experts and its own experts with its gate g_t^l; below the last level a shared gate g_s^l
 * mixes all experts into the next level's shared input:
 *
 *   u_t^{l+1} = Σ_j g_t^l(u_t^l)_j [E_s^l(s^l), E_t^l(u_t^l)]_j,   s^{l+1} = Σ_j g_s^l(s^l)_j [E_s^l(s^l),
 * E_1^l(u_1^l), …, E_T^l(u_T^l)]_j
 *
 * with u_t^0 = s^0 = x and ŷ_t = head_t(u_t^L). Every expert is a stack of the `trunk` layers. Which variables are
 * shared and which belong to one task is derived in extraction.ts. No single shared representation.
 */
export const ple: ArchitectureDefinition = {
  name: 'ple',
  description:
    'Stacked CGC extraction levels: shared + task experts with per-task gates and a shared gate between levels',
  paper:
    'Tang, Liu, Zhao & Gong, "Progressive Layered Extraction (PLE): A Novel Multi-Task Learning (MTL) Model for ' +
    'Personalized Recommendations", RecSys 2020',
  optionsSchema: {
    levels: {
      type: 'integer',
      minimum: 1,
      default: 2,
      description: 'Number of extraction levels (1 = CGC); each level has its own experts built from `trunk`.',
    },
    ...expertCountSchema,
  },
  hasSharedRepresentation: false,
  lastSharedLayer: (config) => lastKernelLayerOfTrunk(config, 'of every shared expert of the last level'),
  checkConfig(config) {
    const levels = config['levels'];
    const problem = typeof levels === 'number' ? deeperLevelProblem(config, levels) : undefined;
    const experts = taskExpertsProblem('ple', config);
    return [
      ...(problem ? [{ path: ['levels'], message: problem }] : []),
      ...(experts ? [{ path: ['task_experts'], message: experts }] : []),
    ];
  },
  build(config, context) {
    return buildExtractionModel('ple', config, context, extractionOptions(config));
  },
};
