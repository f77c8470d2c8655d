/** `syncbn-sim noise`: statistic noise against per-device batch size, beside the theory. */
import type { Command } from 'commander';
import { noiseLayers } from '../experiments/layers.js';
import { layerNoisePlot } from '../report/plots/layers-plot.js';
import { layerNoiseJson } from '../report/json/layers-json.js';
import { layerNoiseTable } from '../report/tables/layers-table.js';
import { checkCapturedFlags, isNpzPath, readCapturedInput } from './captured-input.js';
import { Option } from 'commander';
import { STATS_METHODS, type StatsMethod } from '../bn/batch-moments.js';
import { ALGORITHM_NAMES, type AlgorithmName, DEFAULT_ALGORITHM } from '../collectives/algorithms/index.js';
import { noiseExperiment } from '../experiments/noise.js';
import { noiseJson } from '../report/json/noise-json.js';
import { noisePlot } from '../report/plots/noise-plot.js';
import { noiseColumnNotes } from '../report/tables/noise-columns.js';
import { noiseTable } from '../report/tables/noise-table.js';
import { DISTRIBUTION_NAMES, type DistributionName } from '../tensor/distributions.js';
import { readNpyFile } from '../tensor/npy.js';
import { listOf, parsePositiveInteger, parseSeed, wholeNumber, threadsOption } from './parse.js';
import { withProgress } from './progress.js';
import { type ReportFlags, addReportOptions, checkReportFlags, emitReport } from './report-output.js';

interface NoiseFlags extends ReportFlags {
  batchSizes: number[];
  devices: number;
  threads?: number;
  trials: number;
  dist: DistributionName;
  input?: string;
  seed: number;
  channels: number;
  group?: number;
  algorithm: AlgorithmName;
  stats: StatsMethod;
  layers?: string[];
}

/** Default number of trials: enough for the normal-data ratios to land within a few percent of 1. */
export const DEFAULT_NOISE_TRIALS = 400;

/**
 * Registers `syncbn-sim noise`.
 * @param program - the CLI program.
 */
export function addNoiseCommand(program: Command): void {
  const command = program
    .command('noise')
    .description(
      'how noisy per-device statistics are against per-device batch size, for local, group and sync BN, beside theory',
    )
    .option(
      '--batch-sizes <list>',
      'per-device batch sizes b',
      listOf('--batch-sizes', wholeNumber('--batch-sizes')),
      [2, 4, 8, 16, 32],
    )
    .option('--devices <W>', 'simulated devices', parsePositiveInteger, 8)
    .addOption(threadsOption())
    .option('--trials <T>', 'batches drawn per batch size', parsePositiveInteger, DEFAULT_NOISE_TRIALS)
    .addOption(
      new Option('--dist <name>', 'distribution of the synthetic data')
        .choices(DISTRIBUTION_NAMES)
        .default('normal')
        .conflicts('input'),
    )
    .option(
      '--input <file>',
      'draw batches (rows, with replacement) from your .npy instead, or from every layer of activations captured by python/syncbn_capture.py (.npz)',
    )
    .option(
      '--layers <names>',
      'with --input ACTS.npz: only these layers (comma-separated)',
      listOf('--layers', (name) => name),
    )
    .option('--seed <n>', 'random seed', parseSeed, 0)
    .addOption(
      new Option('--channels <C>', 'channels of the synthetic data')
        .argParser(parsePositiveInteger)
        .default(16)
        .conflicts('input'),
    )
    .option('--group <K>', 'K of the group:K rows (default: the smallest factor of W below W)', parsePositiveInteger)
    .addOption(
      new Option('--algorithm <name>', 'all-reduce algorithm').choices(ALGORITHM_NAMES).default(DEFAULT_ALGORITHM),
    )
    .addOption(new Option('--stats <method>', 'statistics method').choices(STATS_METHODS).default('sums'));
  command.addHelpText('after', `\n${noiseColumnNotes().join('\n')}`);
  addReportOptions(command).action(async (flags: NoiseFlags, cmd: Command) => {
    const inputs = flags.input ? [{ path: flags.input, what: '--input' }] : [];
    checkReportFlags(flags, inputs);
    checkCapturedFlags(cmd, isNpzPath(flags.input), []);
    if (isNpzPath(flags.input)) {
      const acts = readCapturedInput(flags.input, flags.layers);
      const report = await withProgress(({ signal, onProgress }) =>
        noiseLayers({
          acts,
          batchSizes: flags.batchSizes,
          devices: flags.devices,
          threads: flags.threads,
          trials: flags.trials,
          seed: flags.seed,
          group: flags.group,
          algorithm: flags.algorithm,
          stats: flags.stats,
          signal,
          onProgress,
        }),
      );
      const json = layerNoiseJson(report);
      const rows = json.layers.flatMap((l) => l.rows.map((row) => ({ layer: l.name, ...row })));
      // --csv prints the rows (with their layer); --json the documented document, which has no top-level rows.
      const output = { rows, toJSON: () => json };
      await emitReport(
        flags,
        output,
        () => layerNoiseTable(report),
        () => layerNoisePlot(report),
        inputs,
      );
      return;
    }
    const input = flags.input ? readNpyFile(flags.input, 'input') : undefined;
    const report = await withProgress(({ signal, onProgress }) =>
      noiseExperiment({
        batchSizes: flags.batchSizes,
        devices: flags.devices,
        threads: flags.threads,
        trials: flags.trials,
        dist: flags.dist,
        input,
        seed: flags.seed,
        channels: flags.channels,
        group: flags.group,
        algorithm: flags.algorithm,
        stats: flags.stats,
        signal,
        onProgress,
      }),
    );
    await emitReport(
      flags,
      noiseJson(report),
      () => noiseTable(report),
      () => noisePlot(report),
      inputs,
    );
  });
}
