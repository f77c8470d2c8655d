/**
 * `syncbn-sim precision`: where E[x^2] - E[x]^2 breaks as |mean|/std grows, which statistics
 * methods stay exact, and what each costs to communicate.
 */
import type { Command } from 'commander';
import {
  PRECISION_DEFAULTS,
  PRECISION_DTYPES,
  PRECISION_METHODS,
  type PrecisionMethod,
  type PrecisionReport,
  type PrecisionRow,
  formatRatio,
  precisionExperiment,
  resolvePrecisionOptions,
} from '../experiments/precision.js';
import { precisionPlot } from '../report/plots/precision-plot.js';
import { type Cell, renderTable } from '../report/table.js';
import type { DType } from '../tensor/tensor.js';
import { withProgress } from './progress.js';
import { finiteNumber, knownName, listOf, oneOf, parseSeed, positiveNumber, threadsOption, wholeNumberFrom } from './parse.js';
import { type ReportFlags, addReportOptions, checkReportFlags, emitReport } from './report-output.js';

interface PrecisionFlags extends ReportFlags {
  offset?: number;
  scale: number;
  dtype?: DType;
  rows: number;
  channels: number;
  devices: number;
  threads?: number;
  trials: number;
  seed: number;
  methods: PrecisionMethod[];
  eps: number;
}

/** Relative error above which E[x^2] - E[x]^2 counts as broken. */
export const BREAK_THRESHOLD = 1e-3;
/** Relative error a method must stay within at every ratio to count as exact. */
export const EXACT_THRESHOLD = 1e-6;

export function addPrecisionCommand(program: Command): void {
  const d = PRECISION_DEFAULTS;
  const command = program
    .command('precision')
    .description('error of the batch variance by each statistics method as |mean|/std grows (1 to 1e8), float32 and float64, and its communication cost')
    .option('--offset <X>', 'mean of the data (default: sweep |mean|/std over 1, 1e2, 1e4, 1e6, 1e8)', finiteNumber('--offset'))
    .option('--scale <S>', 'standard deviation of the data, > 0', positiveNumber('--scale'), d.scale)
    .option('--dtype <type>', 'float32 or float64 (default: both)', oneOf('--dtype', PRECISION_DTYPES))
    .option('--rows <N>', 'rows of each batch, >= 2', wholeNumberFrom('--rows', 2), d.rows)
    .option('--channels <C>', 'channels of each batch', wholeNumberFrom('--channels', 1), d.channels)
    .option('--devices <W>', 'simulated devices', wholeNumberFrom('--devices', 1), d.devices)
    .addOption(threadsOption())
    .option('--trials <T>', 'batches per case (seeds seed .. seed+T-1)', wholeNumberFrom('--trials', 1), d.trials)
    .option('--seed <n>', 'seed of the first batch', parseSeed, d.seed)
    .option('--methods <list>', `comma-separated methods (${PRECISION_METHODS.join(', ')})`, listOf('--methods', knownName('--methods', PRECISION_METHODS, 'method')), [...PRECISION_METHODS])
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
    const report = await withProgress(({ signal, onProgress }) => precisionExperiment({ ...options, signal, onProgress }));
    await emitReport(flags, report, () => precisionTable(report), () => precisionPlot(report));
  });
}

// ---------------------------------------------------------------------------------------------
// Table

/** 3e-7, 2e1, 0, NaN: one significant digit is all a precision table needs. */
export function formatError(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return 'inf';
  return value.toExponential(0).replace('e+', 'e');
}

function errorCell(row: PrecisionRow): string {
  let cell = formatError(row.rel_error);
  if (row.negative_count > 0) cell += ` NEG ${row.negative_count}/${row.channel_trials}`;
  if (row.nan_count > 0) cell += ` NaN ${row.nan_count}/${row.channel_trials}`;
  return cell;
}

const broken = (r: PrecisionRow) => !(r.rel_error <= BREAK_THRESHOLD) || r.negative_count > 0 || r.nan_count > 0;
const exact = (r: PrecisionRow) => r.rel_error <= EXACT_THRESHOLD && r.negative_count === 0 && r.nan_count === 0;

/** Spacing of float32 values near |x|. */
function float32Spacing(x: number): number {
  const a = Math.abs(Math.fround(x));
  if (a === 0) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

function rowsOf(r: PrecisionReport, dtype: DType, method: PrecisionMethod): PrecisionRow[] {
  return r.rows.filter((row) => row.dtype === dtype && row.method === method).sort((a, b) => a.ratio - b.ratio);
}

function matrix(r: PrecisionReport, dtype: DType, cell: (row: PrecisionRow) => Cell): string {
  const ratios = [...new Set(r.rows.filter((row) => row.dtype === dtype).map((row) => row.ratio))].sort((a, b) => a - b);
  const header = ['method \\ |mean|/std', ...ratios.map(formatRatio)];
  const body = r.settings.methods.map((m) => {
    const rows = rowsOf(r, dtype, m);
    return [m, ...ratios.map((x) => {
      const row = rows.find((q) => q.ratio === x);
      return row ? cell(row) : '-';
    })];
  });
  return renderTable(header, body);
}

function list(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** One or two plain sentences per dtype: where E[x^2] - E[x]^2 breaks, and what stays exact. */
export function precisionVerdict(r: PrecisionReport, dtype: DType): string {
  const methods = r.settings.methods;
  const ratios = [...new Set(r.rows.filter((row) => row.dtype === dtype).map((row) => row.ratio))];
  const largest = formatRatio(Math.max(...ratios));
  const out: string[] = [];
  const sums = (['sums-float32', 'sums-float64'] as const).filter((m) => methods.includes(m));
  if (sums.length > 0) {
    const held: string[] = [];
    const parts: string[] = [];
    for (const m of sums) {
      const first = rowsOf(r, dtype, m).find(broken);
      const name = m === 'sums-float32' ? 'float32 sums' : 'float64 sums';
      if (!first) {
        held.push(name);
        continue;
      }
      const why =
        first.negative_count > 0
          ? `${first.negative_count} of ${first.channel_trials} variances negative`
          : first.nan_count > 0
            ? `${first.nan_count} NaN`
            : `error ${formatError(first.rel_error)}`;
      parts.push(`at ${formatRatio(first.ratio)} with ${name} (${why})`);
    }
    const sentence: string[] = [];
    if (parts.length > 0) sentence.push(`E[x^2] - E[x]^2 breaks (error above ${formatError(BREAK_THRESHOLD)} or a negative variance) ${list(parts)}`);
    if (held.length > 0) sentence.push(`${parts.length > 0 ? 'it holds' : 'E[x^2] - E[x]^2 holds'} up to ${largest} with ${list(held)}`);
    out.push(`${dtype} data: ${sentence.join('; ')}.`);
  } else {
    out.push(`${dtype} data:`);
  }
  const exactMethods = methods.filter((m) => rowsOf(r, dtype, m).every(exact));
  let sentence = exactMethods.length > 0 ? `Within ${formatError(EXACT_THRESHOLD)} at every ratio up to ${largest}: ${list(exactMethods)}.` : `No method stays within ${formatError(EXACT_THRESHOLD)} at every ratio.`;
  const others = methods.filter((m) => !exactMethods.includes(m) && !m.startsWith('sums-'));
  if (others.length > 0) {
    const worst = others.map((m) => {
      const rows = rowsOf(r, dtype, m);
      const first = rows.find((row) => !exact(row))!;
      const w = rows.reduce((a, b) => (b.rel_error > a.rel_error ? b : a), rows[0]);
      return `${m} exceeds it from ${formatRatio(first.ratio)} (${formatError(first.rel_error)}), up to ${formatError(w.rel_error)} at ${formatRatio(w.ratio)}`;
    });
    sentence += ` ${list(worst)}.`;
  }
  out.push(sentence);
  return out.join(' ');
}

/** The report as terminal tables. */
export function precisionTable(r: PrecisionReport): string {
  const s = r.settings;
  const C = s.channels;
  const ct = C * s.trials;
  const lines: string[] = [];
  const data = s.offset === null ? `offset = ratio x scale, scale ${s.scale}` : `offset ${s.offset}, scale ${s.scale}`;
  lines.push(
    `precision of the batch variance: [${s.rows},${C}] batches (${data}) over ${s.devices} devices (${s.algorithm}), ${s.trials} trial${s.trials === 1 ? '' : 's'} (${s.trials > 1 ? `seeds ${s.seed}-${s.seed + s.trials - 1}` : `seed ${s.seed}`}), eps ${s.eps}`,
  );
  for (const dtype of s.dtypes) {
    lines.push('');
    lines.push(`${dtype} data: max relative error of the variance over ${C} channels x ${s.trials} trial${s.trials === 1 ? '' : 's'} (NEG k/${ct}: k variances came out negative)`);
    lines.push(matrix(r, dtype, errorCell));
    lines.push('');
    lines.push(`${dtype} data: max |y - y_exact| of the normalized output (negative variances are clamped at 0, so those channels are divided by sqrt(eps))`);
    lines.push(matrix(r, dtype, (row) => formatError(row.output_max_abs_error)));
  }
  lines.push('');
  lines.push(`Communication of the statistics per forward step (C = ${C}, ${s.devices} devices, ${s.algorithm}):`);
  const header = ['method', 'rounds', 'values per all-reduce', ...s.dtypes.map((t) => `bytes/device (${t} data)`)];
  const body = s.methods.map((m) => {
    const any = r.rows.find((row) => row.method === m)!;
    const values = `${any.values_formula} = ${any.values_per_allreduce.join(', ')}`;
    return [m, any.rounds, values, ...s.dtypes.map((t) => Math.max(...rowsOf(r, t, m).map((row) => row.bytes_per_device)))] as Cell[];
  });
  lines.push(renderTable(header, body));
  lines.push('');
  for (const dtype of s.dtypes) lines.push(precisionVerdict(r, dtype));
  if (s.methods.some((m) => m.startsWith('sums-'))) {
    lines.push('The error of E[x^2] - E[x]^2 grows like (|mean|/std)^2 times the rounding unit of the sums (6e-8 in float32, 1e-16 in float64).');
  }
  const clamped = r.rows.filter((row) => row.negative_count > 0);
  if (clamped.length > 0) {
    const w = clamped.reduce((a, b) => (b.output_max_abs_error > a.output_max_abs_error ? b : a));
    lines.push(
      `A negative variance is normalized as 0: the output of that channel is then (x - mean) / sqrt(eps), off by up to ${formatError(w.output_max_abs_error)} (${w.method}, ${w.dtype}, ${formatRatio(w.ratio)}).`,
    );
  }
  lines.push('');
  lines.push(
    'Reference: the exact variance of the data as stored (float32 values read exactly as float64), by a compensated two-pass in float64, so the errors measure the method, not the rounding of the data.',
  );
  const f32 = r.rows.filter((row) => row.dtype === 'float32' && row.method === s.methods[0]);
  for (const row of f32) {
    const spacing = float32Spacing(row.offset);
    if (spacing < row.scale / 4 && row.constant_channels === 0) continue;
    lines.push(
      `float32 at |mean|/std = ${formatRatio(row.ratio)} cannot hold the spread: its spacing near ${formatRatio(Math.abs(row.offset))} is ${spacing} against a std of ${row.scale}` +
        (row.constant_channels > 0
          ? `; ${row.constant_channels} of ${ct} stored channels are constant, and their error is taken relative to scale^2 instead of 0.`
          : '; the stored spread is coarse, and the reference is its exact variance.'),
    );
  }
  lines.push(
    'welford, two-pass and shifted-sums compute in float64 on the devices whatever the dtype; sums-float32 rounds every addition to float32 in row order (a worst case);' +
      ' pytorch-roundtrip computes in the data dtype as PyTorch\'s kernels do (Welford per device, row by row: a worst case; then mean and invstd all-gathered and var recovered as 1/invstd^2 - eps).',
  );
  if (s.methods.includes('shifted-sums')) {
    lines.push('shifted-sums subtract the running mean, set before each step to the mean of a separate warm-up batch from the same distribution: shifted sums are as good as their shift.');
  }
  return lines.join('\n');
}
