/** `syncbn-sim run`: batch norm on the user's .npy files, outputs written whole or not at all. */
import { type Command, Option } from 'commander';
import { InputError } from '../errors.js';
import { HALF_FORMATS, type HalfFormat } from '../half/formats.js';
import { roundInPlace } from '../half/storage.js';
import { parseRunNorm, runNorm } from '../experiments/run-norm.js';
import { normRunStatsJson } from '../report/json/run-norm-json.js';
import { normRunOutputFiles } from '../report/run-norm-files.js';
import { STATS_METHODS, type StatsMethod } from '../bn/batch-moments.js';
import type { Accumulator } from '../bn/moments.js';
import type { RunningConvention } from '../bn/running-stats.js';
import { ALGORITHM_NAMES, type AlgorithmName, DEFAULT_ALGORITHM } from '../collectives/algorithms/index.js';
import type { Fault } from '../cluster/protocol.js';
import {
  RUN_OUTPUT_NAMES,
  type RunReport,
  describeOverflow,
  loadRunInputs,
  runBatchNorm,
  runInputFiles,
  runOnCluster,
  storeInputsInHalf,
  storeOutputsInHalf,
} from '../experiments/run.js';
import { checkOutputTargets, writeFilesAtomically } from '../io/atomic-write.js';
import { runStatsJson } from '../report/json/run-json.js';
import { runOutputFiles } from '../report/run-files.js';
import { count, renderTable } from '../report/table.js';
import { interruptibleWrite } from './interruptible-write.js';
import {
  numberInRange,
  oneOf,
  parseFault,
  parsePositiveInteger,
  parseTimeoutMs,
  positiveNumber,
  threadsOption,
} from './parse.js';

interface RunFlags {
  input: string;
  gradOutput?: string;
  weight?: string;
  bias?: string;
  runningMean?: string;
  runningVar?: string;
  eval?: boolean;
  momentum?: number;
  eps: number;
  stats: StatsMethod;
  accumulator: Accumulator;
  convention: RunningConvention;
  out: string;
  json?: boolean;
  devices?: number;
  threads?: number;
  mode?: string;
  algorithm?: AlgorithmName;
  injectFault?: Fault;
  timeoutMs: number;
  norm?: string;
  dtype?: HalfFormat;
}

/** Flags of batch norm that a batch-independent normalization has no use for. */
const BN_ONLY_FLAGS: readonly [keyof RunFlags, string][] = [
  ['eval', '--eval'],
  ['momentum', '--momentum'],
  ['convention', '--convention'],
  ['stats', '--stats'],
  ['accumulator', '--accumulator'],
  ['algorithm', '--algorithm'],
  ['injectFault', '--inject-fault'],
  ['threads', '--threads'],
];

/** How many channels the terminal summary lists before it elides the rest. */
const CHANNELS_SHOWN = 8;

/**
 * Registers `syncbn-sim run`.
 * @param program - the CLI program.
 */
export function addRunCommand(program: Command): void {
  program
    .command('run')
    .description('batch norm (forward, optional backward, running statistics) on your own .npy arrays')
    .requiredOption('--input <file>', 'input activations, [N,C] or [N,C,H,W] float32/float64 .npy')
    .option('--grad-output <file>', 'dL/dy, same shape as the input: also computes the gradients')
    .option('--weight <file>', 'gamma, [C] (default ones)')
    .option('--bias <file>', 'beta, [C] (default zeros)')
    .option('--running-mean <file>', 'running mean before the step, [C] (default zeros)')
    .option('--running-var <file>', 'running variance before the step, [C] (default ones)')
    .option('--eval', 'normalize with the running statistics instead of the batch statistics')
    .addOption(
      new Option('--momentum <m>', 'running-stats momentum in [0, 1] (default 0.1; 0.99 with --convention keras)')
        .argParser(numberInRange('--momentum', 0, 1))
        .conflicts('eval'),
    )
    .option('--eps <eps>', 'added to the variance, > 0', positiveNumber('--eps'), 1e-5)
    .addOption(
      new Option('--stats <method>', 'how the batch statistics are computed').choices(STATS_METHODS).default('sums'),
    )
    .addOption(
      new Option('--accumulator <precision>', 'precision of the sums')
        .choices(['float64', 'float32'])
        .default('float64'),
    )
    .addOption(
      new Option('--convention <name>', 'running-statistics convention')
        .choices(['pytorch', 'keras'])
        .default('pytorch')
        .conflicts('eval'),
    )
    .option('--devices <W>', 'simulated devices the batch is split over', parsePositiveInteger)
    .addOption(threadsOption())
    .option('--mode <mode>', 'BN across devices: local, sync, group:K or ghost:G (default sync)')
    .addOption(
      new Option('--algorithm <name>', `all-reduce algorithm (default ${DEFAULT_ALGORITHM})`).choices(ALGORITHM_NAMES),
    )
    .option('--inject-fault <fault>', 'make one device fail: crash:RANK, hang:RANK or skip:RANK', parseFault)
    .option('--timeout-ms <ms>', 'how long a device waits for a peer before the run fails', parseTimeoutMs, 30_000)
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--json', 'print stats.json to stdout instead of a table')
    .option(
      '--dtype <format>',
      'store input, grad output, output and grad input in float16 or bfloat16 (mixed precision: statistics in float32, by welford unless --stats says)',
      oneOf('--dtype', HALF_FORMATS),
    )
    .option(
      '--norm <name>',
      'group-norm:G, layer-norm (over C,H,W; weight and bias shaped as one example) or instance-norm instead of batch norm',
    )
    .action(async (flags: RunFlags, command: Command) => {
      const inputFiles = runInputFiles(flags);
      if (flags.norm !== undefined) {
        try {
          parseRunNorm(flags.norm);
        } catch (error) {
          throw new InputError(`--norm: ${(error as Error).message}`);
        }
        const given = BN_ONLY_FLAGS.filter(([key]) => command.getOptionValueSource(key) === 'cli').map(
          ([, flag]) => flag,
        );
        if (given.length > 0)
          throw new InputError(
            `--norm ${flags.norm} takes its statistics per sample: ${given.join(', ')} ${given.length === 1 ? 'is' : 'are'} for batch norm`,
          );
        checkOutputTargets(flags.out, RUN_OUTPUT_NAMES, inputFiles);
        await runNormCommand(flags, inputFiles);
        return;
      }
      checkOutputTargets(flags.out, RUN_OUTPUT_NAMES, inputFiles);
      const onDevices =
        flags.devices !== undefined ||
        flags.threads !== undefined ||
        flags.mode !== undefined ||
        flags.algorithm !== undefined ||
        flags.injectFault !== undefined;
      // 16-bit storage makes a new array; otherwise the devices read the file's own in shared memory.
      const loaded = loadRunInputs(flags, { shared: onDevices && flags.dtype === undefined });
      const inputs = flags.dtype ? storeInputsInHalf(loaded, flags.dtype) : loaded;
      // 16-bit data: PyTorch's kernels accumulate in float (acc_type<Half>) with Welford
      // (aten/src/ATen/native/cuda/Normalization.cuh), unless the flags say otherwise.
      const byDefault = (key: string) => command.getOptionValueSource(key) !== 'cli';
      const settings = {
        training: !flags.eval,
        momentum: flags.momentum,
        eps: flags.eps,
        stats: flags.dtype && byDefault('stats') ? ('welford' as const) : flags.stats,
        accumulator: flags.dtype && byDefault('accumulator') ? ('float32' as const) : flags.accumulator,
        convention: flags.convention,
      };
      const computed: RunReport = onDevices
        ? await runOnCluster(inputs, settings, {
            devices: flags.devices ?? 1,
            threads: flags.threads,
            mode: flags.mode,
            algorithm: flags.algorithm,
            timeoutMs: flags.timeoutMs,
            fault: flags.injectFault,
          })
        : runBatchNorm(inputs, settings);
      const report = flags.dtype ? storeOutputsInHalf(computed, flags.dtype) : computed;
      const files = runOutputFiles(report);
      const { written, removed } = await interruptibleWrite((hooks) =>
        writeFilesAtomically(flags.out, files, { ...hooks, replaces: RUN_OUTPUT_NAMES, inputs: inputFiles }),
      );
      const stats = runStatsJson(report);
      if (stats.overflow)
        process.stderr.write(
          `syncbn-sim: warning: ${describeOverflow(stats.overflow.where, stats.settings.accumulator, stats.input.dtype)}\n`,
        );
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...stats, files: written, removed }, null, 2)}\n`);
        return;
      }
      const { global } = report;
      const shown = Math.min(global.mean.length, CHANNELS_SHOWN);
      const rows = Array.from({ length: shown }, (_, c) => [
        c,
        global.mean[c],
        global.var[c],
        stats.running.mean[c],
        stats.running.var[c],
      ]);
      const where = report.cluster
        ? `, ${count(report.cluster.devices, 'device')}, ${report.cluster.mode} BN, ${report.cluster.comm.algorithm}: ${report.cluster.comm.messages} messages, ${report.cluster.comm.bytes} bytes`
        : '';
      const lines = [
        `input [${stats.input.shape.join(',')}] ${report.storage ? `stored in ${report.storage}` : stats.input.dtype}, ${stats.mode} mode, ${global.count} values per channel, stats: ${stats.settings.stats}, eps ${stats.settings.eps}` +
          `${stats.mode === 'train' ? `, momentum ${stats.settings.momentum} (${stats.settings.convention})` : ''}${where}`,
        renderTable(
          [
            'channel',
            'batch mean',
            'batch var (biased)',
            `running mean${report.cluster ? ' (rank 0)' : ''}`,
            `running var${report.cluster ? ' (rank 0)' : ''}`,
          ],
          rows,
        ),
      ];
      if (global.mean.length > shown) lines.push(`... ${global.mean.length - shown} more channels in stats.json`);
      if (stats.settings.shift?.note)
        lines.push(`note: --stats shifted-sums shifts by the running mean; ${stats.settings.shift.note}`);
      lines.push(`wrote ${written.length} files to ${flags.out}: ${files.map((f) => f.name).join(', ')}`);
      if (removed.length > 0)
        lines.push(`removed ${removed.join(', ')} of an earlier run there (this run does not write them)`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}

/** `run --norm`: a batch-independent normalization, on one device or split as W devices would hold the batch. */
async function runNormCommand(flags: RunFlags, inputFiles: ReturnType<typeof runInputFiles>): Promise<void> {
  const loaded = loadRunInputs(flags, { anyAffineShape: true });
  const inputs = flags.dtype ? storeInputsInHalf(loaded, flags.dtype) : loaded;
  const onDevices = flags.devices !== undefined || flags.mode !== undefined;
  const report = runNorm(
    inputs,
    { norm: flags.norm!, eps: flags.eps },
    onDevices ? { devices: flags.devices ?? 1, mode: flags.mode } : undefined,
  );
  if (flags.dtype) {
    roundInPlace(report.output.data, flags.dtype);
    if (report.gradInput) roundInPlace(report.gradInput.data, flags.dtype);
  }
  const files = normRunOutputFiles(report);
  const { written, removed } = await interruptibleWrite((hooks) =>
    writeFilesAtomically(flags.out, files, { ...hooks, replaces: RUN_OUTPUT_NAMES, inputs: inputFiles }),
  );
  const stats = normRunStatsJson(report);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...stats, files: written, removed }, null, 2)}\n`);
    return;
  }
  const where = report.cluster
    ? `, ${count(report.cluster.devices, 'device')} (${report.cluster.mode}): ${count(report.cluster.pieces.length, 'piece')} normalized on their own, nothing sent`
    : '';
  const lines = [
    `input [${stats.input.shape.join(',')}] ${stats.input.dtype}, ${report.norm}, eps ${report.eps}${where}`,
    `wrote ${written.length} files to ${flags.out}: ${files.map((f) => f.name).join(', ')}`,
  ];
  if (removed.length > 0)
    lines.push(`removed ${removed.join(', ')} of an earlier run there (this run does not write them)`);
  process.stdout.write(`${lines.join('\n')}\n`);
}
