import { lineChart } from './charts.js';
import { figureId, type Figure } from './types.js';

/** What the trainer logs per epoch for each adversary (epochs.jsonl `adversaries`, issue #18). */
export interface AdversaryEpoch {
  epoch: number;
  adversaries?: Record<string, { loss: number; accuracy: number; chance: number }>;
}

/**
 * Per adversary (an adversarial task's head, a domain or task discriminator, a feature discriminator): its accuracy
 * over training against its chance level — the majority rate of its targets, 0.5 for a GAN discriminator — drawn as
 * a dashed line. An adversary that works against the shared features falls toward chance.
 */
export function adversaryFigures(epochs: readonly AdversaryEpoch[], prefix = ''): Figure[] {
  const names = [...new Set(epochs.flatMap((e) => Object.keys(e.adversaries ?? {})))];
  return names.map((name) => {
    const rows = epochs.flatMap((e) => {
      const a = e.adversaries?.[name];
      if (!a) return [];
      return [
        { epoch: e.epoch, series: 'accuracy', value: a.accuracy },
        { epoch: e.epoch, series: 'chance', value: a.chance },
      ];
    });
    return {
      id: figureId(prefix, 'adversary', name),
      title: `Adversary ${name}: accuracy against chance`,
      caption:
        `The accuracy of adversary ${name} on the validation split per epoch, and its chance level (the majority ` +
        'rate of its targets on those rows; 0.5 for a discriminator of real against fake). The closer to chance, the ' +
        'less the shared features tell it.',
      spec: lineChart({
        rows,
        x: 'epoch',
        y: 'value',
        series: 'series',
        xTitle: 'epoch',
        yTitle: 'accuracy',
        yDomain: [0, 1],
      }),
    };
  });
}
