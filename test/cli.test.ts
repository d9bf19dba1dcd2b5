import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir, writeFile } from './helpers.js';
import { bin, mtl, root } from './helpers/cli.js';
import { FINISHED_RUN_FILES } from './helpers/runs.js';

describe('the mtl command line (built CLI as a child process)', () => {
  it('train → run directory → eval → compare --json, with exit codes', () => {
    expect(existsSync(path.join(root, 'dist', 'cli', 'main.js')), 'run npm run build first').toBe(true);
    const runsDir = tempDir();
    const config = path.join(root, 'configs', 'quickstart.yaml');
    const common = [
      '--runs-dir',
      runsDir,
      '--set',
      'training.epochs=2',
      '--set',
      'data.options.samples=1000',
      '--backend',
      'wasm',
    ];

    const first = mtl(['train', config, ...common]);
    expect(first.code, first.stderr).toBe(0);
    const id = first.stdout.trim();
    expect(id).toMatch(/^\d{8}-\d{6}-quickstart-[0-9a-f]{6}$/);
    expect(first.stderr).toMatch(/epoch 1\/2 /);
    // 96 pixels → dense 128 → dense 64: 96·128+128 + 128·64+64 = 20,672 shared; a 10-way head per task, 64·10+10.
    expect(first.stderr).toContain(
      'hard-sharing on wasm: 21,972 trainable parameters (shared 20,672; left 650, right 650)',
    );
    expect(first.stderr).not.toContain('\u001b['); // no ANSI codes when not on a TTY
    const runDir = path.join(runsDir, id);
    expect(readdirSync(runDir).sort()).toEqual(FINISHED_RUN_FILES);
    expect(readdirSync(path.join(runDir, 'checkpoints')).sort()).toEqual(['best', 'last']);

    const second = mtl(['train', config, ...common, '--set', 'seed=5', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const summary = JSON.parse(second.stdout);
    expect(summary.status).toBe('completed');
    expect(summary.test['left/accuracy']).toBeGreaterThan(0.5);

    // A prefix that only this run's id has: the second run may start in the same second, sharing its time and name.
    const evaluated = mtl(['eval', id.slice(0, -1), '--runs-dir', runsDir, '--split', 'val', '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const result = JSON.parse(evaluated.stdout);
    expect(result).toMatchObject({ run: id, data: 'val', checkpoint: 'best' });
    expect(readdirSync(path.join(runDir, 'evals'))).toHaveLength(1);

    const compared = mtl(['compare', id, summary.id, '--runs-dir', runsDir, '--metric', 'accuracy', '--json']);
    expect(compared.code, compared.stderr).toBe(0);
    const comparison = JSON.parse(compared.stdout);
    expect(comparison.rows.map((r: { metric: string }) => r.metric)).toEqual([
      'left/accuracy',
      'right/accuracy',
      'mean/accuracy',
    ]);
    const left = comparison.rows[0];
    expect(left.relative[1]).toBeCloseTo((left.values[1] - left.values[0]) / left.values[0], 12);
    expect(comparison.runs[1].deltaM).toBeCloseTo(
      (comparison.rows[0].relative[1] + comparison.rows[1].relative[1]) / 2,
      12,
    );

    const listed = mtl(['runs', '--runs-dir', runsDir, '--json']);
    expect(JSON.parse(listed.stdout).map((r: { id: string }) => r.id)).toEqual([id, summary.id].sort());

    const text = mtl(['compare', id, summary.id, '--runs-dir', runsDir]);
    expect(text.stdout).toMatch(/^metric +/);
    expect(text.stdout).toMatch(/Δm/);
  });

  it('exits 2 with a clear message for config errors, unknown runs and bad flags', () => {
    const dir = tempDir();
    const bad = writeFile(
      dir,
      'bad.yaml',
      'data: { dataset: multi-digits }\ntasks:\n  - { name: a, type: multiclas }\n',
    );
    const invalid = mtl(['validate', bad]);
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain(
      'bad.yaml:3:22: tasks[0].type: "multiclas" is not allowed; did you mean "multiclass"?',
    );
    expect(invalid.stderr).not.toMatch(/\n\s+at /); // no stack trace
    // A CI step asking for JSON gets its verdict on stdout too, with the same problems; stderr keeps the message.
    const invalidJson = mtl(['validate', bad, '--json']);
    expect(invalidJson.code).toBe(2);
    expect(JSON.parse(invalidJson.stdout)).toEqual({
      valid: false,
      error: `${bad} has 1 problem:`,
      problems: [expect.stringContaining('bad.yaml:3:22: tasks[0].type: "multiclas" is not allowed')],
    });
    expect(invalidJson.stderr).toContain('bad.yaml:3:22: tasks[0].type');
    const missingRun = mtl(['eval', 'nope', '--runs-dir', dir]);
    expect(missingRun.code).toBe(2);
    expect(missingRun.stderr).toMatch(/No run "nope"/);
    expect(mtl(['train']).code).toBe(2);
    expect(mtl(['train', bad, '--backend', 'gpu']).code).toBe(2);
    const emptySegment = mtl(['validate', path.join(root, 'configs', 'quickstart.yaml'), '--set', 'training..lr=1']);
    expect(emptySegment.code).toBe(2);
    expect(emptySegment.stderr).toContain(
      '--set "training..lr=1": "training..lr" has an empty segment; use dots between keys, e.g. training.lr',
    );
    expect(emptySegment.stderr).not.toMatch(/\n\s+at /);
    writeFile(dir, 'twice.csv', 'x,y,x\n1,2,3\n');
    const twice = mtl([
      'train',
      writeFile(dir, 'twice.yaml', 'data: { csv: twice.csv }\ntasks: [{ name: y, type: regression }]\n'),
      '--runs-dir',
      dir,
    ]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(
      /twice\.csv:1: column name "x" appears twice \(columns 1 and 3\); rename one of them\./,
    );
    expect(twice.stderr).not.toMatch(/\n\s+at /);
    const valid = mtl(['validate', path.join(root, 'configs', 'quickstart.yaml')]);
    expect(valid.code).toBe(0);
    const datasets = JSON.parse(mtl(['datasets', '--json']).stdout);
    expect(datasets.find((d: { name: string }) => d.name === 'penguins')).toMatchObject({
      rows: 333,
      features: 5,
      licence: expect.stringMatching(/^CC0/),
    });
    // The table: text columns left-aligned, each description its opening (never cut at a colon), at most 72 wide.
    const listed = mtl(['datasets']).stdout.trimEnd().split('\n');
    const parkinsons = listed.find((line) => line.startsWith('parkinsons-updrs'));
    expect(parkinsons).toMatch(
      / {2}motor_updrs:regression total_updrs:regression +CC-BY-4\.0 {2}UCI Parkinsons Telemonitoring: \S/,
    );
    expect(parkinsons?.endsWith('…')).toBe(true);
    const help = mtl(['train', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Example:/);
  });

  it('evaluates a run on a new CSV with the stored preprocessing, and names a missing column', () => {
    const dir = tempDir();
    const rows = (n: number, offset: number) =>
      Array.from({ length: n }, (_, i) => {
        const x = ((i + offset) % 17) / 17;
        const colour = ['red', 'green', 'blue'][(i + offset) % 3];
        const score = 3 * x + (colour === 'red' ? 1 : 0);
        return `${x.toFixed(4)},${colour},${x > 0.5 ? 'high' : 'low'},${score.toFixed(4)}`;
      }).join('\n');
    writeFile(dir, 'train.csv', `x,colour,level,score\n${rows(200, 0)}\n`);
    writeFile(dir, 'new.csv', `x,colour,level,score\n${rows(30, 5)}\n`);
    writeFile(dir, 'broken.csv', `x,level,score\n0.1,low,0.3\n`);
    const config = writeFile(
      dir,
      'exp.yaml',
      'name: csv\nbackend: wasm\ndata: { csv: train.csv }\ntasks:\n  - { name: level, type: binary }\n  - { name: ' +
        'score, type: regression }\ntraining: { epochs: 3 }\n',
    );
    const trained = mtl(['train', config, '--runs-dir', dir]);
    expect(trained.code, trained.stderr).toBe(0);
    const id = trained.stdout.trim();
    const evaluated = mtl(['eval', id, '--runs-dir', dir, '--data', path.join(dir, 'new.csv'), '--json']);
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const result = JSON.parse(evaluated.stdout);
    expect(result.rows).toBe(30);
    expect(Object.keys(result.metrics)).toEqual(expect.arrayContaining(['level/accuracy', 'score/r2', 'mean/loss']));
    const broken = mtl(['eval', id, '--runs-dir', dir, '--data', path.join(dir, 'broken.csv')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/column "colour" is not in .*broken\.csv/);
    // Classes come from every usable training row, so a label unseen in training can only come with other data.
    writeFile(dir, 'unseen.csv', 'x,colour,level,score\n0.1,red,low,1.3\n0.9,blue,medium,2.7\n');
    const unseen = mtl(['eval', id, '--runs-dir', dir, '--data', path.join(dir, 'unseen.csv')]);
    expect(unseen.code).toBe(2);
    expect(unseen.stderr).toMatch(
      new RegExp(
        String.raw`unseen\.csv: line 3: label "medium" of "level" was not seen in training \(known: high, low\); the ` +
          String.raw`model has no output for it: leave such rows out or relabel them\.`,
      ),
    );
    expect(unseen.stderr).not.toMatch(/\n\s+at /);
  });

  it('Ctrl-C finishes the batch, saves a checkpoint, marks the run interrupted and exits 130', async () => {
    const runsDir = tempDir();
    const child = spawn(
      process.execPath,
      [
        bin,
        'train',
        path.join(root, 'configs', 'quickstart.yaml'),
        '--runs-dir',
        runsDir,
        '--set',
        'training.epochs=200',
        '--set',
        'training.early_stopping.patience=0',
      ],
      {
        cwd: root,
        env: { ...process.env, CI: 'true' },
      },
    );
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('epoch 1/200') && !child.killed) child.kill('SIGINT');
      });
      child.on('exit', (c) => resolve(c));
    });
    expect(code, stderr).toBe(130);
    const id = stdout.trim();
    const meta = JSON.parse(readFileSync(path.join(runsDir, id, 'meta.json'), 'utf8'));
    expect(meta.status).toBe('interrupted');
    expect(existsSync(path.join(runsDir, id, 'checkpoints', 'last', 'model.json'))).toBe(true);
  });
});
