/**
 * `syncbn-sim precision`: where E[x^2] - E[x]^2 breaks as |mean|/std grows, which statistics
 * methods stay exact, and what each costs to communicate.
 */
import type { Command } from 'commander';
import {
  PRECISION_ALL_DTYPES,
  PRECISION_DEFAULTS,
  type PrecisionDType,
  PRECISION_METHODS,
  type PrecisionMethod,
  precisionExperiment,
  resolvePrecisionOptions,
} from '../experiments/precision.js';
import { precisionJson } from '../report/json/precision-json.js';
import { precisionPlot } from '../report/plots/precision-plot.js';
import { precisionTable } from '../report/tables/precision-table.js';
import { withProgress } from './progress.js';
import {
  finiteNumber,
  knownName,
  listOf,
  oneOf,
  parseSeed,
  positiveNumber,
  threadsOption,
  wholeNumberFrom,
} from './parse.js';
import { type ReportFlags, addReportOptions, checkReportFlags, emitReport } from './report-output.js';

interface PrecisionFlags extends ReportFlags {
  offset?: number;
  scale: number;
  dtype?: PrecisionDType;
  rows: number;
  channels: number;
  devices: number;
  threads?: number;
  trials: number;
  seed: number;
  methods: PrecisionMethod[];
  eps: number;
}

/**
 * Registers `syncbn-sim precision`.
 * @param program - the CLI program.
 */
export function addPrecisionCommand(program: Command): void {
  const d = PRECISION_DEFAULTS;
  const command = program
    .command('precision')
    .description(
      'error of the batch variance by each statistics method as |mean|/std grows (1 to 1e8), float32 and float64, and its communication cost',
    )
    .option(
      '--offset <X>',
      'mean of the data (default: sweep |mean|/std over 1, 1e2, 1e4, 1e6, 1e8)',
      finiteNumber('--offset'),
    )
    .option('--scale <S>', 'standard deviation of the data, > 0', positiveNumber('--scale'), d.scale)
    .option(
      '--dtype <type>',
      'float32, float64, float16 or bfloat16 (default: float32 and float64; 16 bits: data stored in 16 bits, methods as for float32 data, and where half-precision counts break)',
      oneOf('--dtype', PRECISION_ALL_DTYPES),
    )
    .option('--rows <N>', 'rows of each batch, >= 2', wholeNumberFrom('--rows', 2), d.rows)
    .option('--channels <C>', 'channels of each batch', wholeNumberFrom('--channels', 1), d.channels)
    .option('--devices <W>', 'simulated devices', wholeNumberFrom('--devices', 1), d.devices)
    .addOption(threadsOption())
    .option('--trials <T>', 'batches per case (seeds seed .. seed+T-1)', wholeNumberFrom('--trials', 1), d.trials)
    .option('--seed <n>', 'seed of the first batch', parseSeed, d.seed)
    .option(
      '--methods <list>',
      `comma-separated methods (${PRECISION_METHODS.join(', ')})`,
      listOf('--methods', knownName('--methods', PRECISION_METHODS, 'method')),
      [...PRECISION_METHODS],
    )
    .option('--eps <E>', 'added to the variance when normalizing, > 0', positiveNumber('--eps'), d.eps);
  addReportOptions(command).action(async (flags: PrecisionFlags) => {
    checkReportFlags(flags);
    const options = {
      offset: flags.offset,
      scale: flags.scale,
      dtypes: flags.dtype ? [flags.dtype] : undefined,
      rows: flags.rows,
      channels: flags.channels,
      devices: flags.devices,
      threads: flags.threads,
      trials: flags.trials,
      seed: flags.seed,
      methods: flags.methods,
      eps: flags.eps,
    };
    resolvePrecisionOptions(options); // bad input fails before any bar or thread starts
    const report = await withProgress(({ signal, onProgress }) =>
      precisionExperiment({ ...options, signal, onProgress }),
    );
    await emitReport(
      flags,
      precisionJson(report),
      () => precisionTable(report),
      () => precisionPlot(report),
    );
  });
}
