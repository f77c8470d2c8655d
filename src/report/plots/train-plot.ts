/** The figure of the `train` experiment: training curves of every run. */
import { type TrainRunReport, type TrainReport, normalizationLabel } from '../../experiments/train.js';
import { formatNumber } from '../table.js';
import { type PlotSpec, VEGA_LITE_SCHEMA } from '../plot.js';
import { DASHES, FULL_LABELS, SHAPES, bnModeOrder, cycle, inOrder, nestedSizes } from './marks.js';

/** The panels: what each epoch row holds, its panel title and its y-axis title. */
const PANELS = [
  { field: 'trainLoss', title: 'Training loss', axis: 'cross-entropy loss', format: '.2~f' },
  { field: 'trainAcc', title: 'Training accuracy', axis: 'accuracy', format: '%' },
  { field: 'testAcc', title: 'Test accuracy, running statistics', axis: 'accuracy', format: '%' },
  { field: 'testAccPrecise', title: 'Test accuracy, precise BN', axis: 'accuracy', format: '%' },
  { field: 'testAccBatch', title: 'Test accuracy, batch statistics', axis: 'accuracy', format: '%' },
] as const;

/**
 * Loss and accuracies against epoch, a panel each (three to a row): colour and the legend are the
 * BN mode; the per-device batch is the dash pattern and point shape, so runs of one mode at
 * several batch sizes share a colour and stay apart.
 * @param report the train report
 * @returns a Vega-Lite spec (five panels)
 */
export function trainPlot(report: TrainReport): PlotSpec {
  // A run's colour is its normalization and BN mode ("sync", "group-norm:2", "batch-renorm sync").
  const r = { ...report, runs: report.runs.map((run) => ({ ...run, bn: normalizationLabel(run) })) };
  const modes = bnModeOrder(r.runs.map((run) => run.bn));
  const batches = inOrder(r.runs.map((run) => run.perDeviceBatch))
    .sort((a, b) => a - b)
    .map(String);
  const values = r.runs.flatMap((run) =>
    run.epochs.map((e) => ({
      bn: run.bn,
      batch: String(run.perDeviceBatch),
      globalBatch: run.globalBatch,
      lr: run.lr,
      ...e,
    })),
  );
  const epochs = Math.max(1, ...values.map((v) => v.epoch));
  const color = {
    field: 'bn',
    type: 'nominal',
    title: 'BN mode',
    scale: { domain: modes },
    legend: FULL_LABELS,
  } as const;
  const dash = {
    field: 'batch',
    type: 'nominal',
    title: 'per-device batch',
    scale: { domain: batches, range: cycle(DASHES, batches.length) },
    legend: FULL_LABELS,
  } as const;
  const shape = {
    field: 'batch',
    type: 'nominal',
    title: 'per-device batch',
    scale: { domain: batches, range: cycle(SHAPES, batches.length) },
  } as const;
  const size = {
    field: 'bn',
    type: 'nominal',
    title: 'BN mode',
    sort: modes,
    scale: { type: 'ordinal', domain: modes, range: nestedSizes(modes.length) },
  } as const;
  const panel = (p: (typeof PANELS)[number]) => ({
    title: p.title,
    width: 260,
    height: 200,
    encoding: {
      x: {
        field: 'epoch',
        type: 'quantitative',
        title: 'epoch',
        scale: { domain: [1, epochs], nice: false },
        axis: { tickMinStep: 1, format: 'd' },
      },
      y: { field: p.field, type: 'quantitative', title: p.axis, scale: { zero: false }, axis: { format: p.format } },
      color,
    },
    layer: [
      { mark: { type: 'line', strokeWidth: 1.5 }, encoding: { strokeDash: dash } },
      {
        mark: { type: 'point', filled: false, strokeWidth: 1.5 },
        encoding: {
          shape,
          size,
          tooltip: [
            { field: 'bn', title: 'BN mode' },
            { field: 'batch', title: 'per-device batch' },
            { field: 'globalBatch', title: 'global batch' },
            { field: 'lr', title: 'learning rate' },
            { field: 'epoch' },
            { field: p.field, title: p.title, format: '.4f' },
          ],
        },
      },
    ],
  });
  const devices = inOrder(r.runs.map((run) => run.devices));
  const perBatch = inOrder(
    r.runs.map((run) => `b ${run.perDeviceBatch}: global ${run.globalBatch}, lr ${formatNumber(run.lr, 3)}`),
  );
  const subtitle = [
    `${devices.join(', ')} devices; ${perBatch.join('; ')}; ${r.dataset.train} training and ${r.dataset.test} test examples`,
  ];
  const same = identicalRuns(r.runs);
  if (same.length > 0)
    subtitle.push(`identical curves, drawn one over the other (the points nest): ${same.join('; ')}`);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: `${r.model} on ${r.dataset.name}: training curves by BN mode`, subtitle },
    data: { values },
    columns: 3,
    concat: PANELS.map(panel),
    resolve: { scale: { y: 'independent' } },
    // Above the panels: at the right of three columns the legends would sit far from most of them.
    config: { legend: { orient: 'top', direction: 'horizontal' } },
  } as PlotSpec;
}

/**
 * Runs of one per-device batch whose curves are the same to the bit, as "group:2 = sync at b 8":
 * group:K with K = W is sync, ghost:G with G >= b is local, and a reader should not have to
 * guess why a mode in the legend has no line of its own.
 */
function identicalRuns(runs: readonly TrainRunReport[]): string[] {
  const curve = (run: TrainRunReport) => JSON.stringify(run.epochs.map((e) => PANELS.map((p) => e[p.field])));
  const groups = new Map<string, { modes: string[]; batches: number[] }>();
  for (const [i, run] of runs.entries()) {
    const modes = bnModeOrder(
      runs
        .filter(
          (o, j) =>
            j >= i && o.perDeviceBatch === run.perDeviceBatch && o.devices === run.devices && curve(o) === curve(run),
        )
        .map((o) => o.bn),
    );
    if (
      modes.length < 2 ||
      runs
        .slice(0, i)
        .some((o) => o.perDeviceBatch === run.perDeviceBatch && o.devices === run.devices && curve(o) === curve(run))
    )
      continue;
    const key = modes.join(' = ');
    const group = groups.get(key) ?? { modes, batches: [] };
    group.batches.push(run.perDeviceBatch);
    groups.set(key, group);
  }
  return [...groups].map(([key, g]) => `${key} at b ${g.batches.join(', ')}`);
}
