/**
 * `syncbn-sim sweep`: a grid of training runs over seeds, with 95% confidence intervals, in one
 * command. Independent runs train at once on the machine's cores; Ctrl-C stops every run cleanly;
 * `--resume DIR` keeps each finished run there and reuses it on the next sweep.
 */
import { type Command, Option } from 'commander';
import { STATS_METHODS, type StatsMethod } from '../bn/batch-moments.js';
import { ALGORITHM_NAMES, type AlgorithmName, DEFAULT_ALGORITHM } from '../collectives/algorithms/index.js';
import { InputError } from '../errors.js';
import { InterruptedError } from '../experiments/interrupt.js';
import { formatNumber } from '../report/table.js';
import { type DivergedRun, SWEEP_NO_BN_MODE, type SweepRunResult, sweepExperiment } from '../experiments/sweep.js';
import { DATASET_NAMES, type DatasetName } from '../experiments/train.js';
import { sweepJson } from '../report/json/sweep-json.js';
import { sweepPlot } from '../report/plots/sweep-plot.js';
import { sweepTable } from '../report/tables/sweep-table.js';
import { MODEL_NAMES, type ModelName } from '../train/protocol.js';
import {
  listOf,
  nonNegativeNumber,
  oneOf,
  parsePositiveInteger,
  parseSeed,
  parseTimeoutMs,
  normName,
  positiveNumber,
  threadsOption,
  wholeNumber,
} from './parse.js';
import { withProgress } from './progress.js';
import { type ReportFlags, addReportOptions, checkReportFlags, emitReport } from './report-output.js';

interface SweepFlags extends ReportFlags {
  perDeviceBatch: number[];
  bn: string[];
  norm: string[];
  devices: number[];
  lrScaling: ('none' | 'linear')[];
  seeds: number;
  seed: number;
  epochs?: number;
  steps?: number;
  jobs?: number;
  threads?: number;
  resume?: string;
  model: ModelName;
  dataset: DatasetName;
  dataDir?: string;
  subset?: number;
  lr: number;
  momentum: number;
  weightDecay: number;
  stats: StatsMethod;
  algorithm: AlgorithmName;
  evalStats: 'rank0' | 'average';
  preciseBatches: number;
  timeoutMs: number;
}

/** How a finished run is announced, one line each, as it finishes. */
function runLine(r: SweepRunResult, done: number, total: number): string {
  const c = r.config;
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const what = c.norm === 'batch' ? c.bn : c.bn === SWEEP_NO_BN_MODE ? c.norm : `${c.norm} ${c.bn}`;
  const head = `run ${done}/${total}${r.reused ? ' (reused)' : ''}: ${what} W=${c.devices} b=${c.perDeviceBatch} lr-scaling ${c.lrScaling} seed ${c.seed}`;
  if (!r.run) {
    const d = r.diverged as DivergedRun;
    return `${head}: diverged (${d.what} at epoch ${d.epoch}, step ${d.step}, lr ${formatNumber(d.lr, 4)})`;
  }
  const e = r.run.epochs[r.run.epochs.length - 1];
  return `${head}: test acc ${pct(e.testAcc)} (precise BN ${pct(e.testAccPrecise)}, batch stats ${pct(e.testAccBatch)}), train acc ${pct(e.trainAcc)}`;
}

/**
 * Registers `syncbn-sim sweep`.
 * @param program - the CLI program.
 */
export function addSweepCommand(program: Command): void {
  const command = program
    .command('sweep')
    .description(
      'a grid of training runs (per-device batch x BN mode x devices x lr scaling) over seeds: mean accuracy with 95% confidence intervals, gap to sync BN',
    )
    .option(
      '--per-device-batch <list>',
      'per-device batch sizes b',
      listOf('--per-device-batch', wholeNumber('--per-device-batch')),
      [2, 4, 8, 16],
    )
    .option(
      '--bn <modes>',
      'BN modes: local, sync, group:K, ghost:G',
      listOf('--bn', (v) => v),
      ['local', 'sync'],
    )
    .option(
      '--norm <list>',
      'normalizations: batch, batch-renorm, group-norm:G, layer-norm, instance-norm, frn (batch and batch-renorm run in every --bn mode, the others once)',
      listOf('--norm', normName('--norm')),
      ['batch'],
    )
    .option('--devices <list>', 'device counts W', listOf('--devices', wholeNumber('--devices')), [8])
    .option(
      '--lr-scaling <list>',
      'learning-rate rules: none, linear (lr x global batch / 256)',
      listOf('--lr-scaling', oneOf('--lr-scaling', ['none', 'linear'] as const)),
      ['none'],
    )
    .option('--seeds <K>', 'runs per configuration, seeds --seed to --seed + K - 1', parsePositiveInteger, 3)
    .option('--seed <n>', 'the first seed', parseSeed, 0)
    .addOption(
      new Option('--epochs <E>', 'budget of every run in epochs (default 1)')
        .argParser(parsePositiveInteger)
        .conflicts('steps'),
    )
    .addOption(
      new Option('--steps <S>', 'budget of every run in training steps instead')
        .argParser(parsePositiveInteger)
        .conflicts('epochs'),
    )
    .option('--jobs <J>', "runs trained at once (default: the machine's cores)", wholeNumber('--jobs'))
    .addOption(threadsOption().default(1, '1 per run'))
    .option('--resume <dir>', 'write each finished run to DIR, and reuse the runs already there (same settings)')
    .addOption(new Option('--model <name>', 'network').choices(MODEL_NAMES).default('lenet-bn'))
    .addOption(new Option('--dataset <name>', 'data').choices(DATASET_NAMES).default('synthetic'))
    .option('--data-dir <dir>', 'folder with the Fashion-MNIST IDX .gz files')
    .option('--subset <n>', 'use only n training examples (and at most n test examples)', wholeNumber('--subset'))
    .option('--lr <rate>', 'base learning rate, > 0', positiveNumber('--lr'), 1.0)
    .option('--momentum <m>', 'SGD momentum', nonNegativeNumber('--momentum'), 0)
    .option('--weight-decay <wd>', 'SGD weight decay', nonNegativeNumber('--weight-decay'), 0)
    .addOption(new Option('--stats <method>', 'BN statistics method').choices(STATS_METHODS).default('sums'))
    .addOption(
      new Option('--algorithm <name>', 'all-reduce of the BN statistics')
        .choices(ALGORITHM_NAMES)
        .default(DEFAULT_ALGORITHM),
    )
    .addOption(
      new Option('--eval-stats <whose>', 'running statistics test accuracy uses in local mode')
        .choices(['rank0', 'average'])
        .default('rank0'),
    )
    .option(
      '--precise-batches <K>',
      'training batches precise BN recomputes the statistics over',
      parsePositiveInteger,
      10,
    )
    .option('--timeout-ms <ms>', 'how long a device waits for a peer', parseTimeoutMs, 60_000);
  addReportOptions(command).action(async (flags: SweepFlags) => {
    checkReportFlags(flags);
    if (flags.dataDir !== undefined && flags.dataset !== 'fashion-mnist')
      throw new InputError('--data-dir is for --dataset fashion-mnist; the synthetic set is built in');
    const printing = !flags.json && !flags.csv;
    let finishedRuns = 0;
    try {
      const report = await withProgress(({ signal, onProgress, pause }) =>
        sweepExperiment({
          perDeviceBatches: flags.perDeviceBatch,
          bn: flags.bn,
          norms: flags.norm,
          devices: flags.devices,
          lrScaling: flags.lrScaling,
          seeds: flags.seeds,
          seed: flags.seed,
          epochs: flags.epochs,
          steps: flags.steps,
          jobs: flags.jobs,
          threads: flags.threads,
          resumeDir: flags.resume,
          model: flags.model,
          dataset: flags.dataset,
          dataDir: flags.dataDir,
          subset: flags.subset,
          lr: flags.lr,
          momentum: flags.momentum,
          weightDecay: flags.weightDecay,
          stats: flags.stats,
          algorithm: flags.algorithm,
          evalStats: flags.evalStats,
          preciseBatches: flags.preciseBatches,
          timeoutMs: flags.timeoutMs,
          signal,
          onProgress,
          onRun: (run, done, total) => {
            if (!run.reused) finishedRuns++;
            if (!printing) return;
            pause();
            process.stdout.write(`${runLine(run, done, total)}\n`);
          },
        }),
      );
      await emitReport(
        flags,
        sweepJson(report),
        () => `${printing ? '\n' : ''}${sweepTable(report)}`,
        () => sweepPlot(report),
      );
    } catch (error) {
      if (error instanceof InterruptedError || (error as { code?: string })?.code === 'E_DIVERGED') {
        process.stderr.write(
          flags.resume !== undefined
            ? `syncbn-sim: ${finishedRuns} runs finished in this sweep are kept in ${flags.resume}; the same command goes on from there\n`
            : 'syncbn-sim: finished runs were not kept: give --resume DIR to keep them and go on later\n',
        );
      }
      throw error;
    }
  });
}
