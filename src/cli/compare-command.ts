/**
 * `syncbn-sim compare` (also what `syncbn-sim` runs with no command): every BN mode side by side
 * on one batch split over W devices, in tables a newcomer can read at a glance.
 */
import { type Command, Option } from 'commander';
import { STATS_METHODS, type StatsMethod } from '../bn/batch-moments.js';
import type { Accumulator } from '../bn/moments.js';
import { ALGORITHM_NAMES, type AlgorithmName, DEFAULT_ALGORITHM } from '../collectives/algorithms/index.js';
import { parseMode } from '../cluster/modes.js';
import { InputError } from '../errors.js';
import { type CompareReport, DEFAULT_COMPARE_DEVICES, DEFAULT_COMPARE_SHAPE, compareModes, shardSizes } from '../experiments/compare.js';
import { count, formatNumber, renderTable } from '../report/table.js';
import { readNpyFile } from '../tensor/npy.js';
import { channelLayout, sizeOf } from '../tensor/tensor.js';
import { parsePositiveInteger, parseSeed, parseShape, parseTimeoutMs } from './parse.js';

interface CompareFlags {
  input?: string;
  shape: number[];
  seed: number;
  devices: number;
  modes?: string;
  algorithm: AlgorithmName;
  stats: StatsMethod;
  accumulator: Accumulator;
  channels: number;
  timeoutMs: number;
  json?: boolean;
}

/** Largest synthetic batch: 2^27 elements (512 MiB of float32). */
const MAX_SYNTHETIC_ELEMENTS = 2 ** 27;
/** Devices listed one by one before the table elides the rest. */
const DEVICES_SHOWN = 16;


export function addCompareCommand(program: Command): void {
  program
    .command('compare', { isDefault: true })
    .description('the main job: local, sync, group and ghost BN side by side on one batch over W devices (the default command)')
    .option('--input <file>', 'your batch, [N,C] or [N,C,H,W] .npy (default: a built-in synthetic batch)')
    .option('--shape <dims>', 'shape of the synthetic batch', parseShape, [...DEFAULT_COMPARE_SHAPE])
    .option('--seed <n>', 'seed of the synthetic batch and of the upstream gradient', parseSeed, 0)
    .option('--devices <W>', 'simulated devices', parsePositiveInteger, DEFAULT_COMPARE_DEVICES)
    .option('--modes <list>', 'comma-separated modes (default: local, sync, group:K, ghost:G chosen for W)')
    .addOption(new Option('--algorithm <name>', 'all-reduce of the mode rows (every algorithm gets its own row too)').choices(ALGORITHM_NAMES).default(DEFAULT_ALGORITHM))
    .addOption(new Option('--stats <method>', 'how partial statistics are computed and merged').choices(STATS_METHODS).default('sums'))
    .addOption(new Option('--accumulator <precision>', 'precision of the sums').choices(['float64', 'float32']).default('float64'))
    .option('--channels <k>', 'channels listed in the per-device table', parsePositiveInteger, 3)
    .option('--timeout-ms <ms>', 'how long a device waits for a peer', parseTimeoutMs, 30_000)
    .option('--json', 'print the report as JSON')
    .action(async (flags: CompareFlags) => {
      const input = flags.input ? readNpyFile(flags.input, 'input') : undefined;
      if (!input) {
        channelLayout(flags.shape);
        if (sizeOf(flags.shape) > MAX_SYNTHETIC_ELEMENTS) {
          throw new InputError(`--shape ${flags.shape.join(',')} has ${sizeOf(flags.shape)} elements; the synthetic batch is limited to ${MAX_SYNTHETIC_ELEMENTS}`);
        }
      }
      const modes = flags.modes?.split(',').map((m) => m.trim());
      if (modes) for (const m of modes) parseMode(m, flags.devices);
      const report = await compareModes({
        input,
        shape: flags.shape,
        seed: flags.seed,
        devices: flags.devices,
        modes,
        algorithm: flags.algorithm,
        stats: flags.stats,
        accumulator: flags.accumulator,
        timeoutMs: flags.timeoutMs,
      });
      process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${compareTables(report, flags.channels, flags.algorithm)}\n`);
    });
}

function describeMode(mode: string, report: CompareReport): string {
  const W = report.devices;
  const rows = report.batch.shape[0];
  const perDevice = Math.ceil(rows / W);
  const [kind, size] = mode.split(':');
  switch (kind) {
    case 'local':
      return `each device's own shard (${perDevice === rows / W ? count(perDevice, 'row') : `up to ${count(perDevice, 'row')}`})`;
    case 'sync':
      return `the whole batch (${count(rows, 'row')})`;
    case 'group':
      return `groups of ${count(Number(size), 'device')} (about ${count(Math.round((rows / W) * Number(size)), 'row')})`;
    default:
      return `chunks of ${count(Number(size), 'row')} within each shard`;
  }
}

/** The report as terminal tables. */
export function compareTables(r: CompareReport, channelsShown: number, algorithm: string): string {
  const C = r.global.mean.length;
  const shown = Math.min(channelsShown, C);
  const sizes = shardSizes(r.batch.shape[0], r.devices);
  const uneven = new Set(sizes).size > 1;
  const source = r.batch.source === 'synthetic' ? `synthetic batch (seed ${r.batch.seed})` : 'your batch';
  const out: string[] = [];
  out.push(
    `${source} [${r.batch.shape.join(',')}] ${r.batch.dtype} over ${count(r.devices, 'device')}, ${uneven ? `${Math.min(...sizes)} to ${Math.max(...sizes)} rows` : count(sizes[0], 'row')} each; statistics by ${r.stats}`,
  );
  out.push('');
  out.push(`Statistics each device sees of its own shard (channels 0-${shown - 1} of ${C}; var is biased):`);
  const header = ['', 'count'];
  for (let c = 0; c < shown; c++) header.push(`mean[${c}]`, `var[${c}]`);
  const cells = (m: { count: number; mean: number[]; var: number[] }) => {
    const row: (string | number)[] = [m.count];
    for (let c = 0; c < shown; c++) row.push(m.count === 0 ? '-' : formatNumber(m.mean[c], 4), m.count === 0 ? '-' : formatNumber(m.var[c], 4));
    return row;
  };
  const rows: (string | number)[][] = [['whole batch', ...cells(r.global)]];
  const listed = r.per_device.slice(0, DEVICES_SHOWN);
  for (const d of listed) rows.push([`device ${d.rank}`, ...cells(d)]);
  out.push(renderTable(header, rows));
  if (r.per_device.length > listed.length) out.push(`... ${r.per_device.length - listed.length} more devices in --json`);
  const s = r.summary;
  out.push('');
  out.push(
    `Over all ${C} channels, device means stray from the batch mean by ${formatNumber(s.rms_mean_shift_in_std, 3)} batch std (rms; max ${formatNumber(s.max_mean_shift_in_std, 3)}),` +
      ` and device variances are ${formatNumber(s.min_var_ratio, 3)}x to ${formatNumber(s.max_var_ratio, 3)}x the batch's (rms error ${formatNumber(s.rms_var_ratio_error, 3)}).` +
      (s.empty_devices > 0 ? ` ${s.empty_devices} devices hold no rows.` : ''),
  );
  out.push('');
  out.push(`Each BN mode against single-device BN on the whole batch (forward and backward, ${algorithm} all-reduce):`);
  out.push(
    renderTable(
      ['mode', 'normalizes with', 'max |diff| output', 'max |diff| grad input', 'max |diff| grad gamma', 'messages', 'bytes'],
      r.modes.map((m) => [m.mode, describeMode(m.mode, r), formatNumber(m.max_abs_diff_output, 3), formatNumber(m.max_abs_diff_grad_input, 3), formatNumber(m.max_abs_diff_grad_weight, 3), m.messages, m.bytes]),
    ),
  );
  out.push('');
  out.push('Sync BN with each all-reduce algorithm (forward and backward, all devices):');
  out.push(
    renderTable(
      ['algorithm', 'messages', 'bytes', 'most sent by one device', 'max |diff| output', 'same bits on every device'],
      r.algorithms.map((a) => [a.algorithm, a.messages, a.bytes, a.max_messages_per_rank, formatNumber(a.max_abs_diff_output, 3), a.identical_on_all_ranks ? 'yes' : 'NO']),
    ),
  );
  return out.join('\n');
}
