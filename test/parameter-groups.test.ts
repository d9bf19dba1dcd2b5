import { describe, expect, it } from 'vitest';
import { initBackend, parameterInventory, parseConfigText, selectParameters } from '../src/index.js';
import { buildArchitecture } from '../src/model/registry.js';
import type { MultiTaskModel } from '../src/model/types.js';
import { createRng } from '../src/util/rng.js';

/** The `init.load` / `init.freeze` vocabulary (model/parameter-groups.ts) on models of several architectures. */
function build(model: string): MultiTaskModel {
  const tasks = 'tasks: [{ name: a, type: regression }, { name: b, type: regression }]';
  const text = `data: { dataset: penguins }\n${tasks}\n${model}\n`;
  const config = parseConfigText(text).config;
  const heads = ['a', 'b'].map((name) => ({ name, type: 'regression' as const, outputSize: 1 }));
  return buildArchitecture(config.model, { inputSize: 4, heads, rng: createRng(0) });
}

function picked(model: MultiTaskModel, selector: string, headTasks = ['a', 'b']): string[] | string {
  const result = selectParameters(selector, parameterInventory(model), headTasks);
  return 'names' in result ? result.names : result.problem;
}

describe('parameter selectors', () => {
  it('hard-sharing: shared is the trunk (batch-norm statistics with their layer), heads and prefixes', async () => {
    await initBackend('wasm', { fma: 'off' });
    const model = build('model: { trunk: [{ type: dense, units: 3 }, { type: batch-norm }] }');
    try {
      const inventory = parameterInventory(model);
      const stats = inventory.filter((p) => !p.trainable);
      expect(stats.map((p) => [p.name, p.group])).toEqual([
        ['shared/1/moving_mean', 'shared'],
        ['shared/1/moving_variance', 'shared'],
      ]);
      expect(picked(model, 'shared')).toEqual([
        'shared/0/kernel',
        'shared/0/bias',
        'shared/1/gamma',
        'shared/1/beta',
        'shared/1/moving_mean',
        'shared/1/moving_variance',
      ]);
      expect(picked(model, 'heads', ['b'])).toEqual(['tasks/b/output/kernel', 'tasks/b/output/bias']);
      expect(picked(model, 'a')).toEqual(picked(model, 'heads.a'));
      expect(picked(model, 'shared/0')).toEqual(['shared/0/kernel', 'shared/0/bias']);
      // Prefixes go by whole segments: shared/0/k is not a prefix of shared/0/kernel.
      expect(picked(model, 'shared/0/k')).toMatch(/^"shared\/0\/k" is not a group, task or parameter-name prefix/);
      expect(picked(model, 'heads.c')).toBe('"heads.c": this run has no task "c" (tasks: a, b)');
      expect(picked(model, 'heads', ['c'])).toBe(
        '"heads" picks nothing: no task of this run is in the source run (a head is loaded into the task of the ' +
          'same name); remove "heads", or name the tasks as in the source',
      );
    } finally {
      model.dispose();
    }
  });

  it('mmoe: shared is the experts and gates that every task reads; a task is its gate and head', async () => {
    await initBackend('wasm', { fma: 'off' });
    const model = build('model: { architecture: mmoe, experts: 2, trunk: [{ type: dense, units: 3 }] }');
    try {
      const shared = picked(model, 'shared');
      const task = picked(model, 'a');
      expect(Array.isArray(shared) && shared.length).toBe(model.sharedVariables.length);
      expect(task).toEqual(model.taskVariables.a?.map((v) => v.name));
      expect(Array.isArray(task) && task.some((name) => name.includes('gate'))).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('soft-sharing shares no parameters: shared picks nothing, and says so', async () => {
    await initBackend('wasm', { fma: 'off' });
    const model = build('model: { architecture: soft-sharing, trunk: [{ type: dense, units: 3 }] }');
    try {
      expect(picked(model, 'shared')).toBe('"shared" picks nothing: this model has no parameters shared by every task');
      expect(picked(model, 'b')).toEqual(model.taskVariables.b?.map((v) => v.name));
    } finally {
      model.dispose();
    }
  });
});
