/** The `compare` report as terminal tables, with a footer that says what each figure is. */
import { type CompareReport, shardSizes } from '../../experiments/compare.js';
import { count, formatNumber, renderTable } from '../table.js';

/** The channels the stray summary is over: a constant channel has no std to measure a stray in. */
function overChannels(variances: readonly number[]): string {
  const varying = variances.filter((v) => v > 0).length;
  if (varying === variances.length) return `all ${variances.length} channels`;
  return `the ${varying} of ${variances.length} channels that vary (a constant channel has no std to measure in)`;
}

/** Channels whose per-device statistics the table lists unless `compare --channels` says otherwise. */
export const DEFAULT_LISTED_CHANNELS = 3;
/** Devices listed one by one before the table elides the rest. */
const DEVICES_SHOWN = 16;

/** "4 rows" when every unit holds the same number, "3 to 4 rows" when they differ. */
function rowsRange(sizes: readonly number[]): string {
  const lo = Math.min(...sizes);
  const hi = Math.max(...sizes);
  return lo === hi ? count(lo, 'row') : `${lo} to ${hi} rows`;
}

/**
 * What a mode normalizes with, with the exact rows per normalizing unit: the reader sees at once
 * why local and ghost rows differ from sync.
 *
 * @param mode - the mode as the report names it ('local', 'sync', 'group:K', 'ghost:G').
 * @param report - the comparison, for the batch's rows and W.
 * @returns e.g. "groups of 2 devices (8 rows)".
 */
export function describeMode(mode: string, report: CompareReport): string {
  const W = report.devices;
  const rows = report.batch.shape[0];
  const shards = shardSizes(rows, W);
  const [kind, size] = mode.split(':');
  const k = Number(size);
  switch (kind) {
    case 'local':
      return `each device's own shard (${rowsRange(shards)})`;
    case 'sync':
      return `the whole batch (${count(rows, 'row')})`;
    case 'group': {
      const groups = Array.from({ length: W / k }, (_, g) =>
        shards.slice(g * k, (g + 1) * k).reduce((a, b) => a + b, 0),
      );
      return `groups of ${count(k, 'device')} (${rowsRange(groups)})`;
    }
    default: {
      const ragged = shards.some((s) => s > 0 && s % k !== 0);
      return `chunks of ${count(k, 'row')} within each shard${ragged ? ' (the last of a shard smaller)' : ''}`;
    }
  }
}

/** A relative difference: '-' when the reference is all zeros. */
function relative(value: number | null): string {
  return value === null ? '-' : formatNumber(value, 3);
}

/**
 * The report as terminal tables: the batch, the per-device statistics, the modes, the algorithms.
 *
 * @param r - the comparison.
 * @param channelsShown - channels listed in the per-device table (the rest elided).
 * @returns the tables and their footer, lines joined by '\n'.
 */
export function compareTables(r: CompareReport, channelsShown: number): string {
  const C = r.global.mean.length;
  const shown = Math.min(channelsShown, C);
  const sizes = shardSizes(r.batch.shape[0], r.devices);
  const source = r.batch.source === 'synthetic' ? `synthetic batch (seed ${r.batch.seed})` : 'your batch';
  const gradient =
    r.gradOutput.source === 'input' ? 'your grad output' : `a synthetic grad output (seed ${r.gradOutput.seed})`;
  const out: string[] = [];
  out.push(
    `${source} [${r.batch.shape.join(',')}] ${r.batch.dtype} over ${count(r.devices, 'device')}, ${rowsRange(sizes)} each; ` +
      `statistics by ${r.stats} (${r.settings.accumulator} sums), eps ${r.settings.eps}; backward with ${gradient}`,
  );
  if (r.settings.shift) out.push(`note: ${r.settings.shift.note}`);
  out.push('');
  out.push(`Statistics each device sees of its own shard (channels 0-${shown - 1} of ${C}; var is biased):`);
  const header = ['', 'count'];
  for (let c = 0; c < shown; c++) header.push(`mean[${c}]`, `var[${c}]`);
  const cells = (m: { count: number; mean: number[]; var: number[] }) => {
    const row: (string | number)[] = [m.count];
    for (let c = 0; c < shown; c++)
      row.push(m.count === 0 ? '-' : formatNumber(m.mean[c], 4), m.count === 0 ? '-' : formatNumber(m.var[c], 4));
    return row;
  };
  const rows: (string | number)[][] = [['whole batch', ...cells(r.global)]];
  const listed = r.perDevice.slice(0, DEVICES_SHOWN);
  for (const d of listed) rows.push([`device ${d.rank}`, ...cells(d)]);
  out.push(renderTable(header, rows));
  if (r.perDevice.length > listed.length) out.push(`... ${r.perDevice.length - listed.length} more devices in --json`);
  const s = r.summary;
  out.push('');
  if (!r.global.var.some((v) => v > 0))
    out.push('Every channel is constant over the batch: there is no std for device means to stray in.');
  else
    out.push(
      `Over ${overChannels(r.global.var)}, device means stray from the batch mean by ${formatNumber(s.rmsMeanShiftInStd, 3)} batch std (rms; max ${formatNumber(s.maxMeanShiftInStd, 3)};` +
        ` i.i.d. values would stray by ${formatNumber(s.iidRmsMeanShiftInStd, 3)}),` +
        ` and device variances are ${formatNumber(s.minVarRatio, 3)}x to ${formatNumber(s.maxVarRatio, 3)}x the batch's (rms error ${formatNumber(s.rmsVarRatioError, 3)}).` +
        (s.emptyDevices > 0 ? ` ${s.emptyDevices} devices hold no rows.` : ''),
    );
  out.push('');
  out.push(
    `Each BN mode against single-device BN on the whole batch (forward and backward, ${r.settings.algorithm} all-reduce):`,
  );
  out.push(
    renderTable(
      [
        'mode',
        'normalizes with',
        'max |diff| output',
        'rel',
        'max |diff| grad input',
        'rel',
        'max |diff| grad gamma',
        'rel',
        'messages',
        'bytes',
      ],
      r.modes.map((m) => [
        m.mode,
        describeMode(m.mode, r),
        formatNumber(m.maxAbsDiffOutput, 3),
        relative(m.relDiffOutput),
        formatNumber(m.maxAbsDiffGradInput, 3),
        relative(m.relDiffGradInput),
        formatNumber(m.maxAbsDiffGradWeight, 3),
        relative(m.relDiffGradWeight),
        m.messages,
        m.bytes,
      ]),
    ),
  );
  out.push('');
  out.push('Sync BN with each all-reduce algorithm (forward and backward, all devices):');
  out.push(
    renderTable(
      ['algorithm', 'messages', 'bytes', 'most sent by one device', 'max |diff| output', 'same bits on every device'],
      r.algorithms.map((a) => [
        a.algorithm,
        a.messages,
        a.bytes,
        a.maxMessagesPerRank,
        formatNumber(a.maxAbsDiffOutput, 3),
        a.identicalOnAllRanks ? 'yes' : 'NO',
      ]),
    ),
  );
  out.push('');
  out.push(compareFooter(r));
  return out.join('\n');
}

/**
 * What the figures are: the scale of each relative difference and the i.i.d. expectation.
 *
 * @param r - the comparison.
 * @returns two lines, joined by '\n'.
 */
export function compareFooter(r: CompareReport): string {
  return [
    `rel: max |diff| divided by the scale of the single-device array, max |value| over it: ${formatNumber(r.scale.output, 3)} (output),` +
      ` ${formatNumber(r.scale.gradInput, 3)} (grad input), ${formatNumber(r.scale.gradWeight, 3)} (grad gamma); '-' when that array is all zeros.`,
    'i.i.d. stray: the rms of (device mean - batch mean) / batch std expected if the batch values were i.i.d. and dealt to the devices at random,' +
      " sqrt((1/n - 1/N) N/(N-1)) with n a device's values per channel and N the batch's (finite-population correction).",
  ].join('\n');
}
