/**
 * `syncbn-sim compare` (also what `syncbn-sim` runs with no command): every BN mode side by side
 * on one batch split over W devices, in tables a newcomer can read at a glance.
 */
import { type Command, Option } from 'commander';
import { STATS_METHODS, type StatsMethod } from '../bn/batch-moments.js';
import type { Accumulator } from '../bn/moments.js';
import { ALGORITHM_NAMES, type AlgorithmName, DEFAULT_ALGORITHM } from '../collectives/algorithms/index.js';
import { InputError } from '../errors.js';
import { HALF_FORMATS, type HalfFormat } from '../half/formats.js';
import { DEFAULT_COMPARE_DEVICES, DEFAULT_COMPARE_SHAPE, compareModes } from '../experiments/compare.js';
import { compareJson } from '../report/json/compare-json.js';
import { DEFAULT_LISTED_CHANNELS, compareTables } from '../report/tables/compare-table.js';
import { readNpyFile } from '../tensor/npy.js';
import { compareLayers } from '../experiments/layers.js';
import { layerCompareJson } from '../report/json/layers-json.js';
import { layerCompareTable } from '../report/tables/layers-table.js';
import { checkCapturedFlags, isNpzPath, readCapturedInput } from './captured-input.js';
import { channelLayout, sizeOf } from '../tensor/tensor.js';
import { comparePlot, layerComparePlot } from '../report/plots/compare-plot.js';
import type { PlotSpec } from '../report/plot.js';
import type { NamedInput } from '../io/atomic-write.js';
import { listOf, oneOf, parsePositiveInteger, parseSeed, parseShape, parseTimeoutMs, threadsOption } from './parse.js';
import { type ReportFlags, addPlotOptions, checkReportFlags, writePlotOutputs } from './report-output.js';

interface CompareFlags extends ReportFlags {
  input?: string;
  gradOutput?: string;
  shape: number[];
  seed: number;
  devices: number;
  threads?: number;
  modes?: string[];
  algorithm: AlgorithmName;
  stats: StatsMethod;
  accumulator: Accumulator;
  channels: number;
  timeoutMs: number;
  dtype?: HalfFormat;
  layers?: string[];
}

/** Largest synthetic batch: 2^27 elements (512 MiB of float32). */
const MAX_SYNTHETIC_ELEMENTS = 2 ** 27;

/**
 * Registers `syncbn-sim compare`, the default command (what `syncbn-sim` with no command runs).
 * @param program - the CLI program.
 */
export function addCompareCommand(program: Command): void {
  const command = program
    .command('compare', { isDefault: true })
    .description(
      'the main job: local, sync, group and ghost BN side by side on one batch over W devices (the default command)',
    )
    .option(
      '--input <file>',
      'your batch, [N,C] or [N,C,H,W] .npy, or activations captured by python/syncbn_capture.py (.npz: every layer) (default: a built-in synthetic batch)',
    )
    .option(
      '--layers <names>',
      'with --input ACTS.npz: only these layers (comma-separated, as the manifest names them)',
      listOf('--layers', (name) => name),
    )
    .option(
      '--grad-output <file>',
      'your dL/dy for the backward, the shape and dtype of --input (default: a seeded synthetic one)',
    )
    .addOption(
      new Option('--shape <dims>', 'shape of the synthetic batch')
        .argParser(parseShape)
        .default([...DEFAULT_COMPARE_SHAPE])
        .conflicts('input'),
    )
    .option('--seed <n>', 'seed of the synthetic batch and of the upstream gradient', parseSeed, 0)
    .option('--devices <W>', 'simulated devices', parsePositiveInteger, DEFAULT_COMPARE_DEVICES)
    .addOption(threadsOption())
    .option(
      '--modes <list>',
      'comma-separated modes (default: local, sync, group:K, ghost:G chosen for W)',
      listOf('--modes', (mode) => mode),
    )
    .addOption(
      new Option('--algorithm <name>', 'all-reduce of the mode rows (every algorithm gets its own row too)')
        .choices(ALGORITHM_NAMES)
        .default(DEFAULT_ALGORITHM),
    )
    .addOption(
      new Option('--stats <method>', 'how partial statistics are computed and merged')
        .choices(STATS_METHODS)
        .default('sums'),
    )
    .addOption(
      new Option('--accumulator <precision>', 'precision of the sums')
        .choices(['float64', 'float32'])
        .default('float64'),
    )
    .addOption(
      new Option('--channels <k>', 'channels listed in the per-device table')
        .argParser(parsePositiveInteger)
        .default(DEFAULT_LISTED_CHANNELS)
        .conflicts('json'),
    )
    .option('--timeout-ms <ms>', 'how long a device waits for a peer', parseTimeoutMs, 30_000)
    .option(
      '--dtype <format>',
      'store the batch, the gradient and every output in float16 or bfloat16 (statistics in float32 or wider)',
      oneOf('--dtype', HALF_FORMATS),
    )
    .option('--json', 'print the report as JSON');
  addPlotOptions(command).action(async (flags: CompareFlags, command: Command) => {
    if (flags.gradOutput !== undefined && flags.input === undefined)
      throw new InputError('--grad-output needs --input: give the batch it belongs to');
    if (flags.gradOutput !== undefined && command.getOptionValueSource('seed') === 'cli') {
      throw new InputError(
        '--seed has no effect with --input and --grad-output (it seeds only the synthetic batch and gradient): drop it',
      );
    }
    const inputs = [
      ...(flags.input ? [{ path: flags.input, what: '--input' }] : []),
      ...(flags.gradOutput ? [{ path: flags.gradOutput, what: '--grad-output' }] : []),
    ];
    checkReportFlags(flags, inputs);
    checkCapturedFlags(command, isNpzPath(flags.input), [
      'gradOutput',
      'seed',
      'modes',
      'algorithm',
      'accumulator',
      'channels',
      'threads',
      'timeoutMs',
    ]);
    if (isNpzPath(flags.input)) {
      const acts = readCapturedInput(flags.input, flags.layers);
      const report = await compareLayers({ acts, devices: flags.devices, stats: flags.stats });
      await print(
        flags,
        () => layerCompareJson(report),
        () => layerCompareTable(report),
        () => layerComparePlot(report),
        inputs,
      );
      return;
    }
    const input = flags.input ? readNpyFile(flags.input, 'input') : undefined;
    const gradOutput = flags.gradOutput ? readNpyFile(flags.gradOutput, 'grad output') : undefined;
    if (!input) {
      channelLayout(flags.shape);
      if (sizeOf(flags.shape) > MAX_SYNTHETIC_ELEMENTS) {
        throw new InputError(
          `--shape ${flags.shape.join(',')} has ${sizeOf(flags.shape)} elements; the synthetic batch is limited to ${MAX_SYNTHETIC_ELEMENTS}`,
        );
      }
    }
    const report = await compareModes({
      input,
      shape: flags.shape,
      seed: flags.seed,
      devices: flags.devices,
      threads: flags.threads,
      modes: flags.modes,
      algorithm: flags.algorithm,
      stats: flags.stats,
      accumulator: flags.accumulator,
      timeoutMs: flags.timeoutMs,
      gradOutput,
      storage: flags.dtype,
    });
    await print(
      flags,
      () => compareJson(report),
      () => compareTables(report, flags.channels),
      () => comparePlot(report),
      inputs,
    );
  });
}

/**
 * Prints the report (JSON with --json, the table otherwise), then writes what --plot, --html and
 * --png ask for and says so (not with --json, whose stdout is the document alone).
 */
async function print(
  flags: CompareFlags,
  json: () => object,
  table: () => string,
  plot: () => PlotSpec,
  inputs: readonly NamedInput[],
): Promise<void> {
  let text = flags.json ? `${JSON.stringify(json(), null, 2)}\n` : `${table()}\n`;
  const written = await writePlotOutputs(flags, table, plot, inputs);
  if (!flags.json) text += written.map((line) => `${line}\n`).join('');
  process.stdout.write(text);
}
