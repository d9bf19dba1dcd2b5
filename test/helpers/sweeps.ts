/**
 * What the sweep tests share: a base config whose trials are long enough to be killed mid-way (8000 rows, 6 epochs),
 * and a trial row of `mtl sweep --json`.
 */
export const KILLABLE_SWEEP_BASE = [
  'name: killed',
  'backend: wasm',
  'data:',
  '  dataset: synthetic-correlated',
  '  options: { samples: 8000 }',
  'tasks:',
  '  - { name: y1, type: regression }',
  '  - { name: y2, type: regression }',
  'model:',
  '  trunk: [{ type: dense, units: 16, activation: relu }]',
  'training: { epochs: 6, batch_size: 64 }',
  '',
].join('\n');

/** One trial of `mtl sweep --json`'s `trials`. */
export interface SweepJsonRow {
  index: number;
  id: string;
  hash: string;
  action: string;
  status: string;
  error?: string;
  worker?: number;
}
