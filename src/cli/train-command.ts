/** `syncbn-sim train`: data-parallel training with local, sync, group and ghost BN, side by side. */
import { type Command, Option } from 'commander';
import { STATS_METHODS, type StatsMethod } from '../bn/batch-moments.js';
import { ALGORITHM_NAMES, type AlgorithmName, DEFAULT_ALGORITHM } from '../collectives/algorithms/index.js';
import { InputError } from '../errors.js';
import { DATASET_NAMES, type DatasetName, trainExperiment } from '../experiments/train.js';
import type { RenormSchedule } from '../norm/batch-renorm.js';
import { trainJson } from '../report/json/train-json.js';
import { trainPlot } from '../report/plots/train-plot.js';
import { epochHeaderLine, epochLine, trainSummary } from '../report/tables/train-table.js';
import { MODEL_NAMES, type ModelName } from '../train/protocol.js';
import {
  listOf,
  normName,
  parseRenormSchedule,
  nonNegativeNumber,
  parsePositiveInteger,
  parseSeed,
  parseTimeoutMs,
  positiveNumber,
  threadsOption,
  wholeNumber,
} from './parse.js';
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
    .description(
      'data-parallel training of a real network with local, sync, group and ghost BN on the simulated devices',
    )
    .addOption(new Option('--model <name>', 'network').choices(MODEL_NAMES).default('lenet-bn'))
    .addOption(new Option('--dataset <name>', 'data').choices(DATASET_NAMES).default('synthetic'))
    .option(
      '--data-dir <dir>',
      'folder with the Fashion-MNIST IDX .gz files (default /usr/share/datasets/fashion-mnist)',
    )
    .option('--subset <n>', 'use only n training examples (and at most n test examples)', wholeNumber('--subset'))
    .option('--devices <W>', 'simulated devices', parsePositiveInteger, 8)
    .addOption(threadsOption())
    .option('--batch <B>', 'global batch, split over the devices (default 256)', wholeNumber('--batch'))
    .option(
      '--per-device-batch <list>',
      'per-device batch sizes instead (global = b x W); a list runs a grid',
      listOf('--per-device-batch', wholeNumber('--per-device-batch')),
    )
    .option(
      '--bn <modes>',
      'BN modes to train with: local, sync, group:K, ghost:G',
      listOf('--bn', (v) => v),
      ['local', 'sync'],
    )
    .option(
      '--norm <list>',
      'normalizations at the BN positions: batch, batch-renorm, group-norm:G, layer-norm, instance-norm, frn (batch and batch-renorm run in every --bn mode, the others once)',
      listOf('--norm', normName('--norm')),
      ['batch'],
    )
    .option(
      '--renorm-schedule <W,R,D>',
      "batch-renorm's warm-up in steps: r_max 1 and d_max 0 until W, then linear to r_max 3 at R and d_max 5 at D (default Ioffe 2017's 5000,40000,25000)",
      parseRenormSchedule,
    )
    .option('--epochs <E>', 'epochs per run', parsePositiveInteger, 5)
    .option('--lr <rate>', 'learning rate (plain SGD by default), > 0', positiveNumber('--lr'), 1.0)
    .addOption(
      new Option('--lr-scaling <rule>', 'linear: lr x global batch / 256 for each run')
        .choices(['none', 'linear'])
        .default('none'),
    )
    .option('--momentum <m>', 'SGD momentum', nonNegativeNumber('--momentum'), 0)
    .option('--weight-decay <wd>', 'SGD weight decay', nonNegativeNumber('--weight-decay'), 0)
    .option('--seed <n>', 'seed of initialisation, shuffling and synthetic data', parseSeed, 0)
    .addOption(new Option('--stats <method>', 'BN statistics method').choices(STATS_METHODS).default('sums'))
    .addOption(
      new Option('--algorithm <name>', 'all-reduce of the BN statistics (gradients use ring)')
        .choices(ALGORITHM_NAMES)
        .default(DEFAULT_ALGORITHM),
    )
    .addOption(
      new Option(
        '--eval-stats <whose>',
        "running statistics testAcc uses in local mode: rank 0's (as DDP) or their mean over ranks",
      )
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
  addReportOptions(command).action(async (flags: TrainFlags) => {
    checkReportFlags(flags);
    if (flags.batch !== undefined && flags.perDeviceBatch !== undefined)
      throw new InputError('give --batch or --per-device-batch, not both');
    if (flags.dataDir !== undefined && flags.dataset !== 'fashion-mnist')
      throw new InputError('--data-dir is for --dataset fashion-mnist; the synthetic set is built in');
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
              if (!headerPrinted) process.stdout.write(`${epochHeaderLine()}\n`);
              headerPrinted = true;
              process.stdout.write(`${epochLine(run, epoch)}\n`);
            }
          : undefined,
      }),
    );
    await emitReport(
      flags,
      trainJson(report),
      () => trainSummary(report),
      () => trainPlot(report),
    );
  });
}
