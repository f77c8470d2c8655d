/**
 * The per-layer reports as text: one line per layer, then the finding in words (how many
 * independent values a device's statistics really rest on) and the layers most sensitive to
 * splitting the batch over devices.
 */
import { CORRELATED_RATIO, type LayerCompareReport, type LayerNoiseReport } from '../../experiments/layers.js';
import { andList } from '../prose.js';
import { count, formatNumber, renderTable } from '../table.js';

const dims = (shape: readonly number[]) => shape.join('x');
const num = (v: number | null, digits = 3) => (v === null ? '-' : formatNumber(v, digits));

/**
 * The finding about correlated values, in words, for the layers whose noise ratio passes
 * {@link CORRELATED_RATIO}; the i.i.d. case too, so the reader knows it was looked at.
 */
function correlationFinding(
  layers: readonly {
    name: string;
    ratio: number | null;
    perRow: number | null;
    valuesPerRow: number;
    rows: number;
    values: number;
  }[],
): string[] {
  const correlated = layers.filter((l) => l.ratio !== null && l.ratio > CORRELATED_RATIO && l.valuesPerRow > 1);
  const lines: string[] = [];
  for (const l of correlated) {
    const eff = (l.perRow ?? 0) * l.rows;
    lines.push(
      `${l.name}: a device holds b x H x W = ${formatNumber(l.rows, 3)} x ${l.valuesPerRow} = ${formatNumber(l.values, 4)} values per channel, but its statistics are as noisy as ${formatNumber(eff, 3)} independent ones ` +
        `(${formatNumber(l.perRow ?? 0, 3)} per sample, not ${l.valuesPerRow}; noise ${formatNumber(l.ratio ?? 0, 3)} times i.i.d. theory).`,
    );
  }
  if (correlated.length > 0) {
    lines.push(
      "The values within one sample are spatially correlated, so the effective sample size behind a device's statistics is nearer b than b x H x W: " +
        'synthetic i.i.d. data of the same shape understates the noise of per-device BN by the ratio above.',
    );
  }
  const iid = layers.filter((l) => l.ratio !== null && l.ratio <= CORRELATED_RATIO);
  if (iid.length > 0)
    lines.push(
      `${andList(iid.map((l) => l.name))}: noise within a factor ${CORRELATED_RATIO} of i.i.d. theory (the values behave as independent).`,
    );
  return lines;
}

/**
 * `compare --input acts.npz` as text.
 * @param r - the report of {@link compareLayers}.
 * @returns the table, the finding and the summary, lines joined by newlines.
 */
export function layerCompareTable(r: LayerCompareReport): string {
  const lines = [
    `compare: captured activations from ${r.source}, ${count(r.layers.length, 'layer')}, each captured batch split over ${count(r.devices, 'device')} (local BN: each device normalizes with its own shard)`,
    '',
    renderTable(
      [
        'layer',
        'type',
        'input',
        'steps',
        'rows/device',
        'values/device',
        'stray of means',
        'i.i.d.',
        'noise ratio',
        'effective n',
        'per sample',
        'var stray',
      ],
      r.layers.map((l) => [
        l.name,
        l.type,
        dims(l.shape),
        l.rows.length,
        formatNumber(l.summary.rowsPerDevice, 4),
        formatNumber(l.summary.valuesPerDevice, 4),
        formatNumber(l.summary.meanStray, 3),
        formatNumber(l.summary.meanStrayIid, 3),
        num(l.summary.noiseRatio),
        num(l.summary.effectiveN),
        num(l.summary.effectivePerRow),
        formatNumber(Math.sqrt(l.rows.reduce((a, x) => a + x.varStrayRms ** 2, 0) / l.rows.length), 3),
      ]),
    ),
    '',
    ...correlationFinding(
      r.layers.map((l) => ({
        name: l.name,
        ratio: l.summary.noiseRatio,
        perRow: l.summary.effectivePerRow,
        valuesPerRow: l.summary.valuesPerRow,
        rows: l.summary.rowsPerDevice,
        values: l.summary.valuesPerDevice,
      })),
    ),
    `Most sensitive to the split (largest stray of the device means): ${r.mostSensitive
      .map((name) => {
        const l = r.layers.find((x) => x.name === name);
        return `${name} (${formatNumber(l?.summary.meanStray ?? 0, 3)} batch std)`;
      })
      .join(', ')}.`,
    '',
    'stray of means: root mean square over devices and channels of (device mean - batch mean) / batch std; i.i.d.: what values dealt to the devices at random would give, sqrt((1/n - 1/N) N/(N-1));',
    'noise ratio: (stray / i.i.d.)^2; effective n: values per device / noise ratio, the i.i.d. values that would stray as much; per sample: effective n / rows per device; var stray: rms of (device var / batch var - 1).',
  ];
  const constant = r.layers.filter((l) => l.rows.some((x) => x.constantChannels > 0));
  for (const l of constant)
    lines.push(
      `note: ${l.name} has constant channels in some batches (up to ${Math.max(...l.rows.map((x) => x.constantChannels))}); they are left out.`,
    );
  return lines.join('\n');
}

/**
 * `noise --input acts.npz` as text.
 * @param r - the report of {@link noiseLayers}.
 * @returns the table, the finding and the summary, lines joined by newlines.
 */
export function layerNoiseTable(r: LayerNoiseReport): string {
  const batches = [...new Set(r.layers.flatMap((l) => l.rows.map((x) => x.batch)))];
  const lines = [
    `noise: captured activations from ${r.source}, ${count(r.layers.length, 'layer')}, ${count(r.devices, 'device')}, ${count(r.trials, 'trial')} per batch size; batches of rows drawn with replacement from every captured step of a layer`,
    '',
    renderTable(
      [
        'layer',
        'type',
        'input',
        'rows',
        'values/sample',
        ...batches.map((b) => `ratio b=${b}`),
        'effective/sample',
        `Var(mean)/s^2 b=${r.layers[0]?.summary.smallestBatch ?? '-'}`,
      ],
      r.layers.map((l) => [
        l.name,
        l.type,
        dims(l.shape),
        l.population,
        l.summary.valuesPerRow,
        ...batches.map((b) => num(l.rows.find((x) => x.batch === b && x.mode === 'local')?.meanRatio ?? null)),
        formatNumber(l.summary.effectivePerRow, 3),
        formatNumber(l.summary.meanNoiseAtSmallest, 3),
      ]),
    ),
    '',
    ...correlationFinding(
      r.layers.map((l) => ({
        name: l.name,
        ratio: l.summary.noiseRatio,
        perRow: l.summary.effectivePerRow,
        valuesPerRow: l.summary.valuesPerRow,
        rows: l.summary.smallestBatch,
        values: l.summary.smallestBatch * l.summary.valuesPerRow,
      })),
    ),
    `Most sensitive to the split (noisiest per-device means at b = ${r.layers[0]?.summary.smallestBatch ?? '-'}): ${r.mostSensitive
      .map((name) => {
        const l = r.layers.find((x) => x.name === name);
        return `${name} (Var(mean) ${formatNumber(l?.summary.meanNoiseAtSmallest ?? 0, 3)} s^2, as from ${formatNumber(1 / (l?.summary.meanNoiseAtSmallest ?? 1), 3)} independent values)`;
      })
      .join(', ')}.`,
    '',
    'ratio b=B: local BN at per-device batch B, measured Var(device mean - population mean) over its i.i.d. theory s^2/n (n = b x values per sample); effective/sample: values per sample / mean ratio;',
    'every row (local, group and sync, with the variance too) is in --json, each with effective_n = n / ratio.',
  ];
  return lines.join('\n');
}
