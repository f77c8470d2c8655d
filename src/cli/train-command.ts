/** `syncbn-sim train`: data-parallel training with local, sync, group and ghost BN, side by side. */
import { type Command, Option } from 'commander';
import { STATS_METHODS, type StatsMethod } from '../bn/batch-moments.js';
import { ALGORITHM_NAMES, type AlgorithmName, DEFAULT_ALGORITHM } from '../collectives/algorithms/index.js';
import { InputError } from '../errors.js';
import { DATASET_NAMES, type DatasetName, type EpochRow, type RunHeader, type TrainReport, normalizationLabel, trainExperiment } from '../experiments/train.js';
import type { RenormSchedule } from '../norm/batch-renorm.js';
import { trainPlot } from '../report/plots/train-plot.js';
import { formatNumber, renderTable } from '../report/table.js';
import { MODEL_NAMES, type ModelName } from '../train/protocol.js';
import { listOf, normName, parseRenormSchedule, nonNegativeNumber, parsePositiveInteger, parseSeed, parseTimeoutMs, positiveNumber, threadsOption, wholeNumber } from './parse.js';
import { withProgress } from './progress.js';
import { type ReportFlags, addReportOptions, checkReportFlags, emitReport } from './report-output.js';

interface TrainFlags extends ReportFlags {
  model: ModelName;
  dataset: DatasetName;
  dataDir?: string;
  subset?: number;
  devices: number;
  threads?: number;
  batch?: number;
  perDeviceBatch?: number[];
  bn: string[];
  norm: string[];
  renormSchedule?: RenormSchedule;
  epochs: number;
  lr: number;
  lrScaling: 'none' | 'linear';
  momentum: number;
  weightDecay: number;
  seed: number;
  stats: StatsMethod;
  algorithm: AlgorithmName;
  evalStats: 'rank0' | 'average';
  preciseBatches: number;
  timeoutMs: number;
}


/**
 * Registers `syncbn-sim train`.
 * @param program - the CLI program.
 */
export function addTrainCommand(program: Command): void {
  const command = program
    .command('train')
    .description('data-parallel training of a real network with local, sync, group and ghost BN on the simulated devices')
    .addOption(new Option('--model <name>', 'network').choices(MODEL_NAMES).default('lenet-bn'))
    .addOption(new Option('--dataset <name>', 'data').choices(DATASET_NAMES).default('synthetic'))
    .option('--data-dir <dir>', 'folder with the Fashion-MNIST IDX .gz files (default /usr/share/datasets/fashion-mnist)')
    .option('--subset <n>', 'use only n training examples (and at most n test examples)', wholeNumber('--subset'))
    .option('--devices <W>', 'simulated devices', parsePositiveInteger, 8)
    .addOption(threadsOption())
    .option('--batch <B>', 'global batch, split over the devices (default 256)', wholeNumber('--batch'))
    .option('--per-device-batch <list>', 'per-device batch sizes instead (global = b x W); a list runs a grid', listOf('--per-device-batch', wholeNumber('--per-device-batch')))
    .option('--bn <modes>', 'BN modes to train with: local, sync, group:K, ghost:G', listOf('--bn', (v) => v), ['local', 'sync'])
    .option('--norm <list>', 'normalizations at the BN positions: batch, batch-renorm, group-norm:G, layer-norm, instance-norm, frn (batch and batch-renorm run in every --bn mode, the others once)', listOf('--norm', normName('--norm')), ['batch'])
    .option('--renorm-schedule <W,R,D>', "batch-renorm's warm-up in steps: r_max 1 and d_max 0 until W, then linear to r_max 3 at R and d_max 5 at D (default Ioffe 2017's 5000,40000,25000)", parseRenormSchedule)
    .option('--epochs <E>', 'epochs per run', parsePositiveInteger, 5)
    .option('--lr <rate>', 'learning rate (plain SGD by default), > 0', positiveNumber('--lr'), 1.0)
    .addOption(new Option('--lr-scaling <rule>', 'linear: lr x global batch / 256 for each run').choices(['none', 'linear']).default('none'))
    .option('--momentum <m>', 'SGD momentum', nonNegativeNumber('--momentum'), 0)
    .option('--weight-decay <wd>', 'SGD weight decay', nonNegativeNumber('--weight-decay'), 0)
    .option('--seed <n>', 'seed of initialisation, shuffling and synthetic data', parseSeed, 0)
    .addOption(new Option('--stats <method>', 'BN statistics method').choices(STATS_METHODS).default('sums'))
    .addOption(new Option('--algorithm <name>', 'all-reduce of the BN statistics (gradients use ring)').choices(ALGORITHM_NAMES).default(DEFAULT_ALGORITHM))
    .addOption(new Option('--eval-stats <whose>', "running statistics test_acc uses in local mode: rank 0's (as DDP) or their mean over ranks").choices(['rank0', 'average']).default('rank0'))
    .option('--precise-batches <K>', 'training batches precise BN recomputes the statistics over', parsePositiveInteger, 10)
    .option('--timeout-ms <ms>', 'how long a device waits for a peer', parseTimeoutMs, 60_000);
  addReportOptions(command).action(async (flags: TrainFlags) => {
    checkReportFlags(flags);
    if (flags.batch !== undefined && flags.perDeviceBatch !== undefined) throw new InputError('give --batch or --per-device-batch, not both');
    if (flags.dataDir !== undefined && flags.dataset !== 'fashion-mnist') throw new InputError('--data-dir is for --dataset fashion-mnist; the synthetic set is built in');
    const printing = !flags.json && !flags.csv;
    // The header comes with the first epoch line, so that options refused up front print nothing on stdout.
    let headerPrinted = false;
    const report = await withProgress(({ signal, onProgress, pause }) =>
      trainExperiment({
        model: flags.model,
        dataset: flags.dataset,
        dataDir: flags.dataDir,
        subset: flags.subset,
        devices: flags.devices,
        threads: flags.threads,
        batch: flags.batch,
        perDeviceBatches: flags.perDeviceBatch,
        bn: flags.bn,
        norm: flags.norm,
        renormSchedule: flags.renormSchedule,
        epochs: flags.epochs,
        lr: flags.lr,
        lrScaling: flags.lrScaling,
        momentum: flags.momentum,
        weightDecay: flags.weightDecay,
        seed: flags.seed,
        stats: flags.stats,
        algorithm: flags.algorithm,
        evalStats: flags.evalStats,
        preciseBatches: flags.preciseBatches,
        timeoutMs: flags.timeoutMs,
        signal,
        onProgress,
        onEpoch: printing
          ? (run, epoch) => {
              pause();
              if (!headerPrinted) process.stdout.write(`${epochCells(EPOCH_HEADER)}\n`);
              headerPrinted = true;
              process.stdout.write(`${epochLine(run, epoch)}\n`);
            }
          : undefined,
      }),
    );
    const rows = report.runs.flatMap((run) => run.epochs.map((e) => ({ norm: run.norm, bn: run.bn, devices: run.devices, per_device_batch: run.per_device_batch, global_batch: run.global_batch, lr: run.lr, ...e })));
    await emitReport(flags, { ...report, rows }, () => trainSummary(report), () => trainPlot(report));
  });
}

const EPOCH_HEADER = ['run', 'epoch', 'train loss', 'train acc', 'test acc (running)', 'test acc (precise BN)', 'test acc (batch stats)', 'seconds'];

function runName(run: RunHeader): string {
  return `${normalizationLabel(run)} W=${run.devices} b=${run.per_device_batch} lr=${formatNumber(run.lr, 3)}`;
}

/** Widths of the per-epoch lines, printed one by one as epochs finish. */
const EPOCH_WIDTHS = [40, 5, 10, 9, 18, 21, 22, 7];

function epochCells(cells: readonly (string | number)[]): string {
  return cells.map((c, i) => (i === 0 ? String(c).padEnd(EPOCH_WIDTHS[i]) : String(c).padStart(EPOCH_WIDTHS[i]))).join('  ');
}

function epochLine(run: RunHeader, e: EpochRow): string {
  const f = (v: number) => v.toFixed(4);
  return epochCells([runName(run), e.epoch, f(e.train_loss), f(e.train_acc), f(e.test_acc), f(e.test_acc_precise), f(e.test_acc_batch), e.seconds.toFixed(1)]);
}

/**
 * The table printed after training: the final epoch of every run side by side, with the settings
 * and the examples each epoch dropped.
 * @param r - the training report.
 * @returns the text, lines joined by '\n' (it starts with an empty line, after the epoch lines).
 */
export function trainSummary(r: TrainReport): string {
  const lines = [
    '',
    `Final epoch of every run (${r.model} on ${r.dataset.name}: ${r.dataset.train} training and ${r.dataset.test} test examples; SGD momentum ${r.settings.momentum}, weight decay ${r.settings.weight_decay}, seed ${r.settings.seed};` +
      ` BN momentum ${r.settings.bn_momentum}, eps ${r.settings.bn_eps}, statistics by ${r.settings.stats}):`,
    renderTable(
      ['norm', 'BN', 'devices', 'per-device batch', 'global batch', 'lr', 'train loss', 'train acc', 'test acc', 'precise BN', 'batch stats', 'examples/s'],
      r.runs.map((run) => {
        const e = run.epochs[run.epochs.length - 1];
        return [run.norm, run.bn, run.devices, run.per_device_batch, run.global_batch, run.lr, formatNumber(e.train_loss, 4), formatNumber(e.train_acc, 4), formatNumber(e.test_acc, 4), formatNumber(e.test_acc_precise, 4), formatNumber(e.test_acc_batch, 4), Math.round(run.examples_per_second)];
      }),
    ),
  ];
  const dropped = r.runs.filter((run) => run.dropped_per_epoch > 0);
  for (const run of dropped) lines.push(`${runName(run)}: the last ${run.dropped_per_epoch} examples of every epoch were dropped (fewer than 2 per device).`);
  if (r.runs.some((run) => run.bn === 'none')) lines.push('BN "none": the normalization never looks across examples, so no BN mode applies; its test accuracy needs no running statistics, and all three evaluations are one.');
  if (r.settings.renorm_schedule) {
    const s = r.settings.renorm_schedule;
    lines.push(`batch-renorm: r_max 1 and d_max 0 for ${s.warmup_steps} steps, then linear to r_max ${s.r_max} at step ${s.r_max_steps} and d_max ${s.d_max} at step ${s.d_max_steps} (Ioffe 2017's warm-up${s.warmup_steps === 5000 && s.r_max_steps === 40000 && s.d_max_steps === 25000 ? '' : ', rescaled by --renorm-schedule'}).`);
  }
  lines.push(`test acc uses ${r.settings.eval_stats === 'average' ? 'the running statistics averaged over ranks (local BN)' : "rank 0's running statistics"}; precise BN recomputes them over ${r.settings.precise_batches} training batches; batch stats normalizes each test chunk of the per-device batch size with its own statistics.`);
  return lines.join('\n');
}
