import { Command, CommanderError, Option } from 'commander';
import { ExitCode, MtlError } from '../errors.js';
import { mtlVersion } from '../util/version.js';
import { log } from './output.js';

// Each command's module is loaded when the command runs, not with the program: most of them reach TF.js (~0.2 s to
// load), which `--version`, `--help` and the commands that only read run folders do not need.
const commands = () => import('./commands.js');

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
const backendOption = (): Option =>
  new Option('--backend <name>', 'TF.js backend (overrides the config)').choices(['auto', 'tensorflow', 'wasm', 'cpu']);
const runsDirOption = (): Option => new Option('--runs-dir <dir>', 'run store (default: $MTL_RUNS_DIR or ./runs)');

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('mtl')
    .description('Multi-task learning experiments on TensorFlow.js: train, evaluate and compare runs.')
    .version(mtlVersion(), '-V, --version')
    .option(
      '--verbose',
      'with --version: also the TF.js backends that load here and why the others do not (as `mtl doctor`)',
    )
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  program.addHelpText(
    'after',
    '\nExit codes: 0 success, 1 run failed or diverged, 2 usage or config error, 3 a compare gate failed, ' +
      '130 interrupted.\n\nExample:\n  ' +
      'mtl train configs/quickstart.yaml --set training.epochs=5\n',
  );

  program
    .command('train')
    .description('Train the experiment a YAML config describes; prints the run id (stdout)')
    .argument('[config]', 'experiment config (YAML); not with --resume')
    .option(
      '--resume <run>',
      'continue an interrupted, crashed or failed run from its last checkpoint (id, prefix or path); a seed group: ' +
        'its unfinished members, then the seeds not started',
    )
    .option('--seeds <list>', 'train once per seed as a group, e.g. 0,1,2 (overrides seed/seeds of the config)')
    .option('--set <path=value>', 'override a config field, repeatable (e.g. training.lr=0.003)', collect)
    .addOption(backendOption())
    .addOption(runsDirOption())
    .addOption(
      new Option(
        '--baselines <kind>',
        'also train single-task baselines (one run per task) or unshared towers inside the run, and report ' +
          "whether MTL helped (overrides the config's baselines:)",
      ).choices(['none', 'single-task', 'towers']),
    )
    .option('--json', 'print the run summary as JSON on stdout')
    .option('--quiet', 'one log line per epoch instead of a progress bar')
    .addHelpText(
      'after',
      '\nExample:\n  mtl train configs/quickstart.yaml --set training.epochs=5 --set seed=1 --json\n' +
        '  mtl train --resume 20261123-164732-quickstart   # continue an interrupted or crashed run\n' +
        '  mtl train configs/quickstart.yaml --seeds 0,1,2  # one run per seed, as a group with mean ± std\n' +
        '  mtl train configs/quickstart.yaml --baselines single-task   # did MTL help each task?\n',
    )
    .action(async (config: string | undefined, flags) =>
      setExitCode(await (await commands()).trainCommand(config, flags)),
    );

  program
    .command('validate')
    .description(
      "Check a config and its data (schema, fields, files, columns, split sizes) and init's source run without " +
        'training',
    )
    .argument('<config>', 'experiment config (YAML)')
    .option('--set <path=value>', 'override a config field, repeatable', collect)
    .addOption(runsDirOption())
    .option('--json', 'print {valid, config (resolved), data} as JSON; {valid: false, error, problems} when invalid')
    .addHelpText(
      'after',
      '\nExample:\n  mtl validate configs/quickstart.yaml --set training.lr=0.01\n' +
        '  mtl validate configs/penguins-finetune.yaml --set init.from=<run> --runs-dir runs   # as train finds it\n',
    )
    .action(async (config: string, flags) => setExitCode(await (await commands()).validateCommand(config, flags)));

  program
    .command('eval')
    .description("Evaluate a run's checkpoint on a split or a new CSV; stored under the run's evals/")
    .argument('<run>', 'run id, unique id prefix, or path')
    // No commander default: --split given with --data is refused (evaluateRun reads test by default).
    .option('--split <split>', 'train, val or test (default test)')
    .option(
      '--data <csv>',
      'another CSV with the same columns (encoded as in training); TASK=CSV per source of a multi-input run',
      collect,
    )
    // No commander default: only a --checkpoint given by name refuses a run without a best checkpoint.
    .option('--checkpoint <which>', 'best or last (default best; last where no best checkpoint was written)')
    .addOption(backendOption())
    .addOption(runsDirOption())
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  mtl eval 20261123-1700 --split val --checkpoint last --json\n')
    .action(async (run: string, flags) => setExitCode(await (await commands()).evalCommand(run, flags)));

  program
    .command('features')
    .description("Write each row's learned representation (feature-based transfer) as CSV")
    .argument('<run>', 'run id, unique id prefix, or path')
    .option(
      '--data <csv>',
      "a CSV with the run's feature columns, every row (default: the run's own data); TASK=CSV per source",
      collect,
    )
    .option('--split <split>', "of the run's own data: train, val, test or all (default all)")
    .option('--layer <name>', 'shared (the trunk output the heads read; default) or tasks/<task>/output')
    .option('--checkpoint <which>', 'best or last (default best; last where no best checkpoint was written)')
    .option('--id-columns <a,b>', 'input columns copied first into each row (default none)')
    .option('--with-targets', "also copy the run's target columns, so the CSV trains an mtl config")
    .option('-o, --output <file>', 'write the CSV to a file instead of stdout')
    .addOption(backendOption())
    .addOption(runsDirOption())
    .addHelpText('after', '\nExample:\n  mtl features 20261123-1700 --data new.csv --id-columns id > features.csv\n')
    .action(async (run: string, flags) =>
      setExitCode(await (await import('./features.js')).featuresCommand(run, flags)),
    );

  program
    .command('report')
    .description(
      'An HTML report with figures (curves, weights, conflicts, baselines, trade-offs) of runs, a group or a sweep',
    )
    .argument('[runs...]', 'run ids, unique id prefixes, or paths (or --group / --sweep)')
    .option('--group <id>', 'a seed group: metrics over seeds, baselines, per-seed curves')
    .option('--sweep <id>', 'a sweep: configurations, the Pareto front, the halving ladder')
    .option('-o, --output <file>', 'the HTML file (default <runs>/reports/<id>.html); figures go to <name>-figures/')
    .option('--axes <a,b>', 'the two metrics of the trade-off figure (TASK/METRIC,TASK/METRIC; default: main metrics)')
    .option('--metric <name>', "a sweep: this metric for every task instead of each task's main metric")
    .option('--open', 'open the report in the desktop browser when written')
    .option('--json', 'print what was written as JSON')
    .addOption(runsDirOption())
    .addHelpText(
      'after',
      '\nExamples:\n  mtl report 20261123-1700 -o report.html\n  mtl report --sweep lr-grid --open\n',
    )
    .action(async (runs: string[], flags) =>
      setExitCode(await (await import('./report.js')).reportCommand(runs, flags)),
    );

  program
    .command('compare')
    .description('Side-by-side per-task test metrics with deltas and Δm against the first run (or seed group)')
    .argument(
      '[runs...]',
      'runs, or seed groups (id, prefix or path); the first is the baseline the others are compared with',
    )
    .option('--metric <name>', 'only this metric (e.g. accuracy); with --sweep: this metric of every task')
    .option('--split <split>', 'test or val (default: test; with --sweep: test if every trial has test metrics)')
    .option(
      '--baseline <kind-or-ref>',
      'single-task or towers: compare one run with the baselines trained with it (mtl train --baselines); with ' +
        '--sweep: a run, seed group or config file to compute Δm against',
    )
    .option(
      '--sweep <id>',
      'one row per configuration of a sweep (id, prefix, path or sweep file): mean ± std, Δm, rank',
    )
    .option('--group-by <paths...>', 'with --sweep: one row per value of these config paths (e.g. strategy.name)')
    .addOption(runsDirOption())
    .option('--json', 'print the comparison as JSON')
    .option('--csv', 'with --sweep: print the table as CSV')
    .option('--md', 'with --sweep: print the table as GitHub markdown (for a CI job summary)')
    .option(
      '--fail-on-regression',
      'CI gate: exit 3 when NEW is worse than BASE on a per-task metric (beyond --tolerance; with several seeds ' +
        'on both sides, significantly: paired bootstrap interval)',
    )
    .option(
      '--tolerance <task/metric=value>',
      'with --fail-on-regression: how much worse is allowed, repeatable',
      collect,
    )
    .option(
      '--confidence <level>',
      'with --fail-on-regression: level of the bootstrap interval (default 0.95)',
      // Collected so that a second --confidence is refused rather than silently replacing the first.
      collect,
    )
    .option(
      '--fail-if <expression>',
      "CI gate: exit 3 when a compared run's metric meets it, e.g. 'y1/accuracy < 0.8' (< <= > >=), repeatable",
      collect,
    )
    .addHelpText(
      'after',
      '\nExample:\n  mtl compare RUN-A RUN-B --metric accuracy\n' +
        '  mtl compare RUN --baseline single-task   # did MTL help?\n' +
        "  mtl compare BASE NEW --fail-on-regression --tolerance y1/accuracy=0.01 --fail-if 'y1/accuracy < 0.8'\n" +
        '  mtl compare --sweep lr-1a2b3c4d --group-by strategy.name --baseline configs/quickstart.yaml --md\n',
    )
    .action(async (runs: string[], flags) =>
      setExitCode(await (await import('./compare-command.js')).compareCommand(runs, flags)),
    );

  program
    .command('analyze')
    .description(
      'Which tasks belong together: gradient, affinity, performance, model and data relatedness; stored in the run',
    )
    .argument('<run>', 'run id, unique id prefix, or path')
    .option(
      '--checkpoint <which>',
      'best or last: what the model-based measures and the gradient pass read (default best; last where no best)',
    )
    .addOption(backendOption())
    .addOption(runsDirOption())
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExample:\n  mtl analyze 20261123-1700 --json\n')
    .action(async (run: string, flags) => setExitCode(await (await import('./analyze.js')).analyzeCommand(run, flags)));

  program
    .command('sweep')
    .description(
      'Train every trial of a sweep file (a base config, a space of values, seeds, task subsets), skipping trials ' +
        'done before and resuming interrupted ones; or `mtl sweep status SWEEP.yaml|ID`',
    )
    .argument('<sweep>', 'sweep file (YAML), or "status"')
    .argument('[reference]', 'with status: the sweep file or sweep id')
    .option('--dry-run', 'list the trials (hash, seed, tasks, overrides, status) without training')
    .option('--fail-fast', 'stop at the first trial that fails or diverges')
    .option('--keep-going', 'train the other trials after one fails (the default); exit 1 at the end')
    .option('--retry-failed', 'resume or train again the trials that failed before')
    .option('--shard <i/n>', 'only the trials whose index mod n is i-1, e.g. 2/4 (n machines sharing a store)')
    .option(
      '--jobs <n>',
      'train up to n trials at once in worker processes (default: the number of cores; 1: in this process)',
    )
    .option(
      '--emit <form>',
      'print a job specification whose job i runs --shard i/n: github-matrix, slurm, k8s or shell; trains nothing',
    )
    .option('--shards <n>', 'with --emit: the number of jobs (default: min(trials, 20); shell: min(trials, cores))')
    .addOption(backendOption())
    .addOption(runsDirOption())
    .option('--json', 'print the trials and their outcome (or the status) as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  mtl sweep sweeps/lr.yaml --dry-run\n  mtl sweep sweeps/lr.yaml --shard 1/2\n' +
        '  mtl sweep sweeps/lr.yaml --jobs 4\n' +
        '  mtl sweep sweeps/lr.yaml --emit slurm --shards 8 > lr.sbatch   # then: sbatch lr.sbatch\n' +
        '  mtl sweep status sweeps/lr.yaml --json\n',
    )
    .action(async (sweep: string, reference: string | undefined, flags) =>
      setExitCode(await (await import('./sweep.js')).sweepCommand(sweep, reference, flags)),
    );

  // One worker process of `mtl sweep --jobs N`, started by it over an IPC channel; not for people to run.
  program
    .command('sweep-worker', { hidden: true })
    .action(async () => setExitCode(await (await import('./sweep-worker.js')).sweepWorkerCommand()));

  program
    .command('runs')
    .description(
      'List the runs and seed groups in the store, or the members of one group; `mtl runs merge DIR…` gathers runs, ' +
        'groups and sweeps made elsewhere into the store',
    )
    .argument('[group]', 'a seed group (id, prefix or path): list its members; or "merge"')
    .argument('[dirs...]', 'with merge: run folders, seed groups, sweep folders or run stores to gather')
    .addOption(runsDirOption())
    .option('--skip-unfinished', 'with merge: leave out runs still running or locked instead of refusing the merge')
    .option('--json', 'print as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  mtl runs --runs-dir /tmp/sweep --json\n' +
        '  mtl runs 20261206-120000-quickstart-seeds-3f2a1c   # the members of a group (id or unique prefix)\n' +
        '  mtl runs merge shards/* --runs-dir runs   # identical runs skipped, conflicting ones refused (exit 2)\n',
    )
    .action(async (group: string | undefined, dirs: string[], flags) =>
      setExitCode((await import('./runs-command.js')).runsCommand(group, dirs, flags)),
    );

  program
    .command('datasets')
    .description('List the built-in datasets')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  mtl datasets --json\n')
    .action(async (flags) => setExitCode(await (await commands()).datasetsCommand(flags)));

  program
    .command('doctor')
    .description('Show which TF.js backends load here and why the others do not')
    .option('--json', 'print as JSON')
    .addHelpText('after', '\nExample:\n  mtl doctor\n')
    .action(async (flags) => setExitCode(await (await commands()).doctorCommand(flags)));

  program.exitOverride();
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Runs the CLI and returns the exit code; user mistakes print one clear message, never a stack trace. */
export async function main(argv: string[]): Promise<number> {
  let code: number = ExitCode.ok;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    // `mtl --version --verbose`: commander would print the version and stop before seeing --verbose.
    if (argv.includes('--verbose') && (argv.includes('--version') || argv.includes('-V'))) {
      process.stdout.write(`${mtlVersion()}\n`);
      return await (await commands()).doctorCommand({ json: argv.includes('--json') });
    }
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help asked for (`--help`, `mtl help`) is a success; help shown because no command was given (`mtl`,
      // `mtl --verbose`) is a usage error, so a script that forgot the command does not pass.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return ExitCode.ok;
      if (error.code === 'commander.help') return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return ExitCode.usage;
    }
    if (error instanceof MtlError) {
      log(`mtl: ${error.format()}`);
      return error.exitCode;
    }
    log(`mtl: internal error (please report it): ${(error as Error).stack ?? String(error)}`);
    return ExitCode.runFailed;
  }
}
