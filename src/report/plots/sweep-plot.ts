/**
 * The figure of a sweep: test accuracy against per-device batch, one line per BN mode with its 95%
 * confidence band over seeds (the shape of the first figure of Wu and He's Group Normalization
 * paper). A panel per device count and learning-rate scaling when the sweep has several.
 */
import { SWEEP_NO_BN_MODE, type SweepReport } from '../../experiments/sweep.js';
import { type PlotSpec, VEGA_LITE_SCHEMA } from '../plot.js';
import { count } from '../table.js';
import { DASHES, FULL_LABELS, SHAPES, bnModeOrder, cycle, inOrder } from './marks.js';

/**
 * Accuracy against per-device batch (log2 axis, ticks at the batch sizes run) by BN mode, with
 * bands: a line and points at the mean, an area from mean - CI to mean + CI.
 * @param r - the sweep report.
 * @returns a Vega-Lite spec.
 */
export function sweepPlot(r: SweepReport): PlotSpec {
  const label = (bn: string, norm: string) =>
    norm === 'batch' ? bn : bn === SWEEP_NO_BN_MODE ? norm : `${norm} ${bn}`;
  // A configuration whose every seed diverged has no accuracy to draw; the subtitle names it.
  const drawn = r.rows.filter((row) => row.testAccMean !== null);
  const values = drawn.map((row) => ({
    mode: label(row.bn, row.norm),
    b: row.perDeviceBatch,
    panel: `W = ${row.devices}, lr scaling ${row.lrScaling}`,
    acc: row.testAccMean as number,
    lo: (row.testAccMean as number) - (row.testAccCi95 ?? 0),
    hi: (row.testAccMean as number) + (row.testAccCi95 ?? 0),
    ci: row.testAccCi95,
    precise: row.testAccPreciseMean,
    batch: row.testAccBatchMean,
    train: row.trainAccMean,
    gap: row.gapVsSync,
    seeds: row.seeds,
    diverged: row.diverged,
  }));
  // Axes, legend and panels from every configuration, drawn or not, so that they stay as asked.
  const modes = bnModeOrder(r.rows.map((row) => label(row.bn, row.norm)));
  const batches = inOrder(r.rows.map((row) => row.perDeviceBatch)).sort((a, b) => a - b);
  const panels = inOrder(r.rows.map((row) => `W = ${row.devices}, lr scaling ${row.lrScaling}`));
  const color = {
    field: 'mode',
    type: 'nominal',
    title: 'BN mode',
    scale: { domain: modes },
    legend: { ...FULL_LABELS, symbolOpacity: 1 },
  } as const;
  const x = {
    field: 'b',
    type: 'quantitative',
    title: 'per-device batch (log scale)',
    scale: { type: 'log', base: 2, domain: [batches[0], batches[batches.length - 1]], nice: false },
    axis: { values: batches, format: 'd' },
  } as const;
  // clear: false as on every page's legends (legend-toggle.ts): the page's button clears them.
  const legendToggle = {
    name: 'pick',
    select: { type: 'point', fields: ['mode'], clear: false },
    bind: 'legend',
  } as const;
  const faded = { condition: { param: 'pick', value: 1 }, value: 0.12 } as const;
  const layer = [
    {
      mark: { type: 'area', opacity: 0.18 },
      encoding: {
        x,
        y: { field: 'lo', type: 'quantitative' },
        y2: { field: 'hi' },
        color,
        opacity: { condition: { param: 'pick', value: 0.18 }, value: 0.03 },
      },
    },
    {
      mark: { type: 'line', strokeWidth: 1.8 },
      encoding: {
        x,
        y: {
          field: 'acc',
          type: 'quantitative',
          title: 'test accuracy (running statistics)',
          scale: { zero: false },
          axis: { format: '%' },
        },
        color,
        strokeDash: {
          field: 'mode',
          type: 'nominal',
          title: 'BN mode',
          scale: { domain: modes, range: cycle(DASHES, modes.length) },
        },
        opacity: faded,
      },
    },
    {
      params: [legendToggle],
      mark: { type: 'point', filled: true, size: 60 },
      encoding: {
        x,
        y: { field: 'acc', type: 'quantitative' },
        color,
        shape: {
          field: 'mode',
          type: 'nominal',
          title: 'BN mode',
          scale: { domain: modes, range: cycle(SHAPES, modes.length) },
        },
        opacity: faded,
        tooltip: [
          { field: 'mode', title: 'BN mode' },
          { field: 'panel', title: 'devices, scaling' },
          { field: 'b', title: 'per-device batch' },
          { field: 'acc', title: 'test acc (running), mean', format: '.2%' },
          { field: 'ci', title: '95% CI half-width', format: '.2%' },
          { field: 'precise', title: 'test acc (precise BN)', format: '.2%' },
          { field: 'batch', title: 'test acc (batch stats)', format: '.2%' },
          { field: 'train', title: 'train acc', format: '.2%' },
          { field: 'gap', title: 'gap vs sync', format: '+.2%' },
          { field: 'seeds', title: 'seeds' },
          { field: 'diverged', title: 'seeds diverged' },
        ],
      },
    },
  ];
  const s = r.settings;
  const budget = s.steps !== null ? count(s.steps, 'step') : count(s.epochs ?? 0, 'epoch');
  const divergedRows = r.rows.filter((row) => row.diverged > 0);
  const subtitle = [
    `mean over ${count(s.seeds, 'seed')} with 95% confidence bands (Student's t); ${budget} per run`,
    ...(divergedRows.length > 0
      ? [
          `diverged seeds left out: ${divergedRows.map((row) => `${label(row.bn, row.norm)} b=${row.perDeviceBatch} W=${row.devices} ${row.lrScaling}: ${row.diverged} of ${row.seeds}`).join('; ')}`,
        ]
      : []),
  ];
  const base = {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: `${s.model} on ${s.dataset}: test accuracy against per-device batch`, subtitle },
    data: { values },
  };
  if (panels.length === 1) return { ...base, width: 420, height: 280, layer } as unknown as PlotSpec;
  return {
    ...base,
    facet: { field: 'panel', type: 'nominal', title: null, sort: panels },
    columns: 2,
    spec: { width: 320, height: 240, layer },
  } as unknown as PlotSpec;
}
