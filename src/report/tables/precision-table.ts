/**
 * The `precision` report as terminal tables: the variance's error and the output's per method and
 * |mean|/std, what each method sends, and a verdict per dtype in plain sentences.
 */
import {
  type PrecisionDType,
  type PrecisionMethod,
  type PrecisionReport,
  type PrecisionRow,
  formatRatio,
} from '../../experiments/precision.js';
import { andList } from '../prose.js';
import { type Cell, renderTable } from '../table.js';

/** Relative error above which E[x^2] - E[x]^2 counts as broken. */
export const BREAK_THRESHOLD = 1e-3;
/** Relative error a method must stay within at every ratio to count as exact. */
export const EXACT_THRESHOLD = 1e-6;

/**
 * An error in one significant digit, all a precision table needs: 3e-7, 2e1, 0, NaN, inf.
 * @param value - the error.
 * @returns it as text.
 */
export function formatError(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return 'inf';
  return value.toExponential(0).replace('e+', 'e');
}

function errorCell(row: PrecisionRow): string {
  let cell = formatError(row.relError);
  if (row.negativeCount > 0) cell += ` NEG ${row.negativeCount}/${row.channelTrials}`;
  if (row.nanCount > 0) cell += ` NaN ${row.nanCount}/${row.channelTrials}`;
  return cell;
}

const broken = (r: PrecisionRow) => !(r.relError <= BREAK_THRESHOLD) || r.negativeCount > 0 || r.nanCount > 0;
const exact = (r: PrecisionRow) => r.relError <= EXACT_THRESHOLD && r.negativeCount === 0 && r.nanCount === 0;

/** Spacing of float32 values near |x|. */
function float32Spacing(x: number): number {
  const a = Math.abs(Math.fround(x));
  if (a === 0) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** Spacing of the values of a storage type near |x|. */
function spacingOf(dtype: PrecisionDType, x: number): number {
  if (dtype === 'float32' || dtype === 'float64') return float32Spacing(x);
  const a = Math.abs(x);
  const fraction = dtype === 'float16' ? 10 : 7;
  const minExp = dtype === 'float16' ? -14 : -126;
  return 2 ** (Math.max(a === 0 ? minExp : Math.floor(Math.log2(a)), minExp) - fraction);
}

/** One method's rows for one dtype, by increasing |mean|/std. */
function methodRows(r: PrecisionReport, dtype: PrecisionDType, method: PrecisionMethod): PrecisionRow[] {
  return r.rows.filter((row) => row.dtype === dtype && row.method === method).sort((a, b) => a.ratio - b.ratio);
}

function matrix(r: PrecisionReport, dtype: PrecisionDType, cell: (row: PrecisionRow) => Cell): string {
  const ratios = [...new Set(r.rows.filter((row) => row.dtype === dtype).map((row) => row.ratio))].sort(
    (a, b) => a - b,
  );
  const header = ['method \\ |mean|/std', ...ratios.map(formatRatio)];
  const body = r.settings.methods.map((m) => {
    const rows = methodRows(r, dtype, m);
    return [
      m,
      ...ratios.map((x) => {
        const row = rows.find((q) => q.ratio === x);
        return row ? cell(row) : '-';
      }),
    ];
  });
  return renderTable(header, body);
}

/**
 * One or two plain sentences for one dtype: where E[x^2] - E[x]^2 breaks, and which methods stay
 * exact at every ratio (and how far the others stray).
 * @param r - the report of {@link precisionExperiment}.
 * @param dtype - the data dtype the verdict is about.
 * @returns the sentences.
 */
export function precisionVerdict(r: PrecisionReport, dtype: PrecisionDType): string {
  const methods = r.settings.methods;
  const ratios = [...new Set(r.rows.filter((row) => row.dtype === dtype).map((row) => row.ratio))];
  const largest = formatRatio(Math.max(...ratios));
  const out: string[] = [];
  const sums = (['sums-float32', 'sums-float64'] as const).filter((m) => methods.includes(m));
  if (sums.length > 0) {
    const held: string[] = [];
    const parts: string[] = [];
    for (const m of sums) {
      const first = methodRows(r, dtype, m).find(broken);
      const name = m === 'sums-float32' ? 'float32 sums' : 'float64 sums';
      if (!first) {
        held.push(name);
        continue;
      }
      const why =
        first.negativeCount > 0
          ? `${first.negativeCount} of ${first.channelTrials} variances negative`
          : first.nanCount > 0
            ? `${first.nanCount} NaN`
            : `error ${formatError(first.relError)}`;
      parts.push(`at ${formatRatio(first.ratio)} with ${name} (${why})`);
    }
    const sentence: string[] = [];
    if (parts.length > 0)
      sentence.push(
        `E[x^2] - E[x]^2 breaks (error above ${formatError(BREAK_THRESHOLD)} or a negative variance) ${andList(parts)}`,
      );
    if (held.length > 0)
      sentence.push(
        `${parts.length > 0 ? 'it holds' : 'E[x^2] - E[x]^2 holds'} up to ${largest} with ${andList(held)}`,
      );
    out.push(`${dtype} data: ${sentence.join('; ')}.`);
  } else {
    out.push(`${dtype} data:`);
  }
  const exactMethods = methods.filter((m) => methodRows(r, dtype, m).every(exact));
  let sentence =
    exactMethods.length > 0
      ? `Within ${formatError(EXACT_THRESHOLD)} at every ratio up to ${largest}: ${andList(exactMethods)}.`
      : `No method stays within ${formatError(EXACT_THRESHOLD)} at every ratio.`;
  const others = methods.filter((m) => !exactMethods.includes(m) && !m.startsWith('sums-'));
  if (others.length > 0) {
    const worst = others.map((m) => {
      const rows = methodRows(r, dtype, m);
      const first = rows.find((row) => !exact(row))!;
      const w = rows.reduce((a, b) => (b.relError > a.relError ? b : a), rows[0]);
      return `${m} exceeds it from ${formatRatio(first.ratio)} (${formatError(first.relError)}), up to ${formatError(w.relError)} at ${formatRatio(w.ratio)}`;
    });
    sentence += ` ${andList(worst)}.`;
  }
  out.push(sentence);
  return out.join(' ');
}

/**
 * The report as terminal tables, the verdicts, and notes on what the figures are.
 * @param r - the report of {@link precisionExperiment}.
 * @returns the text, lines joined by newlines (no trailing newline).
 */
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
    lines.push(
      `${dtype} data: max relative error of the variance over ${C} channels x ${s.trials} trial${s.trials === 1 ? '' : 's'} (NEG k/${ct}: k variances came out negative)`,
    );
    lines.push(matrix(r, dtype, errorCell));
    lines.push('');
    lines.push(
      `${dtype} data: max |y - y_exact| of the normalized output (negative variances are clamped at 0, so those channels are divided by sqrt(eps))`,
    );
    lines.push(matrix(r, dtype, (row) => formatError(row.outputMaxAbsError)));
  }
  lines.push('');
  lines.push(`Communication of the statistics per forward step (C = ${C}, ${s.devices} devices, ${s.algorithm}):`);
  const header = ['method', 'rounds', 'values per all-reduce', ...s.dtypes.map((t) => `bytes/device (${t} data)`)];
  const body = s.methods.map((m) => {
    const any = r.rows.find((row) => row.method === m)!;
    const values = `${any.valuesFormula} = ${any.valuesPerAllreduce.join(', ')}`;
    return [
      m,
      any.rounds,
      values,
      ...s.dtypes.map((t) => Math.max(...methodRows(r, t, m).map((row) => row.bytesPerDevice))),
    ] as Cell[];
  });
  lines.push(renderTable(header, body));
  lines.push('');
  for (const dtype of s.dtypes) lines.push(precisionVerdict(r, dtype));
  if (s.methods.some((m) => m.startsWith('sums-'))) {
    lines.push(
      'The error of E[x^2] - E[x]^2 grows like (|mean|/std)^2 times the rounding unit of the sums (6e-8 in float32, 1e-16 in float64).',
    );
  }
  const clamped = r.rows.filter((row) => row.negativeCount > 0);
  if (clamped.length > 0) {
    const w = clamped.reduce((a, b) => (b.outputMaxAbsError > a.outputMaxAbsError ? b : a));
    lines.push(
      `A negative variance is normalized as 0: the output of that channel is then (x - mean) / sqrt(eps), off by up to ${formatError(w.outputMaxAbsError)} (${w.method}, ${w.dtype}, ${formatRatio(w.ratio)}).`,
    );
  }
  lines.push('');
  lines.push(
    'Reference: the exact variance of the data as stored (float32 values read exactly as float64), by a compensated two-pass in float64, so the errors measure the method, not the rounding of the data.',
  );
  const narrow = r.rows.filter((row) => row.dtype !== 'float64' && row.method === s.methods[0]);
  for (const row of narrow) {
    const spacing = spacingOf(row.dtype, row.offset);
    if (spacing < row.scale / 4 && row.constantChannels === 0) continue;
    lines.push(
      `${row.dtype} at |mean|/std = ${formatRatio(row.ratio)} cannot hold the spread: its spacing near ${formatRatio(Math.abs(row.offset))} is ${spacing} against a std of ${row.scale}` +
        (row.constantChannels > 0
          ? `; ${row.constantChannels} of ${ct} stored channels are constant, and their error is taken relative to scale^2 instead of 0.`
          : '; the stored spread is coarse, and the reference is its exact variance.'),
    );
  }
  lines.push(
    'welford, two-pass and shifted-sums compute in float64 on the devices whatever the dtype; sums-float32 rounds every addition to float32 in row order (a worst case);' +
      " pytorch-roundtrip computes in the data dtype as PyTorch's kernels do (Welford per device, row by row: a worst case; then mean and invstd all-gathered and var recovered as 1/invstd^2 - eps).",
  );
  if (s.methods.includes('shifted-sums')) {
    lines.push(
      'shifted-sums subtract the running mean, set before each step to the mean of a separate warm-up batch from the same distribution: shifted sums are as good as their shift.',
    );
  }
  if (r.halfCounts) lines.push('', halfCountsTable(r));
  return lines.join('\n');
}

/**
 * Where counts kept in a 16-bit format break: each count as stored, and PyTorch's unbiased
 * running variance after one step (from 1, batch variance 1, momentum 0.1) with it.
 * @param r - a report with `halfCounts` (a 16-bit dtype ran).
 * @returns the table and a line on what it means.
 */
export function halfCountsTable(r: PrecisionReport): string {
  const rows = r.halfCounts ?? [];
  const num = (v: number) => (Number.isNaN(v) ? 'NaN' : Number.isFinite(v) ? String(Number(v.toPrecision(9))) : 'inf');
  return [
    "Counts kept in 16 bits (a .half() model: PyTorch SyncBatchNorm casts its per-rank counts to the running statistics' dtype); running var after one step from 1, batch var 1, momentum 0.1:",
    renderTable(
      ['format', 'values per channel', 'stored as', 'exact', 'running var (exact count)', 'running var (stored count)'],
      rows.map((c) => [
        c.format,
        c.count === 100352 ? '100352 (32x56x56)' : c.count,
        num(c.stored),
        c.exact ? 'yes' : 'NO',
        num(c.runningVarExact),
        num(c.runningVarStored),
      ]),
    ),
    "float16 holds whole numbers exactly only to 2048 and overflows from 65520 (largest finite 65504): one ResNet stage at batch 32 (32 x 56 x 56 = 100,352 values per channel) is infinity, n / (n - 1) is NaN, and so is the running variance. bfloat16 is exact only to 256 but has float32's range.",
  ].join('\n');
}
