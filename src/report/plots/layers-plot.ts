/**
 * The figure of `noise --input acts.npz`: for every captured layer, the measured noise of the
 * device means over i.i.d. theory against per-device batch (local BN), on log axes, with the
 * i.i.d. level 1 drawn as a rule. Layers whose values are correlated within a sample sit far above
 * it, at about (values per sample) / (effective values per sample).
 */
import type { LayerNoiseReport } from '../../experiments/layers.js';
import { type PlotSpec, VEGA_LITE_SCHEMA } from '../plot.js';
import { count } from '../table.js';
import { DASHES, FULL_LABELS, SHAPES, cycle, inOrder } from './marks.js';

/**
 * Noise ratio against per-device batch, a line per layer (local BN rows).
 * @param r - the per-layer noise report.
 * @returns a Vega-Lite spec.
 */
export function layerNoisePlot(r: LayerNoiseReport): PlotSpec {
  const values = r.layers.flatMap((l) =>
    l.rows
      .filter((row) => row.mode === 'local')
      .map((row) => ({
        layer: `${l.name} (${l.type}, ${l.summary.valuesPerRow} per sample)`,
        b: row.batch,
        ratio: row.meanRatio,
        effective: row.effectiveN,
        n: row.valuesPerUnit,
      })),
  );
  const layers = inOrder(values.map((v) => v.layer));
  const batches = inOrder(values.map((v) => v.b)).sort((a, b) => a - b);
  const x = {
    field: 'b',
    type: 'quantitative',
    title: 'per-device batch b (log scale)',
    scale: { type: 'log', base: 2, domain: [batches[0], batches[batches.length - 1]], nice: false },
    axis: { values: batches, format: 'd' },
  } as const;
  const y = {
    field: 'ratio',
    type: 'quantitative',
    title: 'Var(device mean) / i.i.d. theory (log scale)',
    scale: { type: 'log' },
  } as const;
  const color = {
    field: 'layer',
    type: 'nominal',
    title: 'layer',
    scale: { domain: layers },
    legend: FULL_LABELS,
  } as const;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: `Noise of per-device means in each captured layer, against i.i.d. theory`,
      subtitle: `${r.source}: local BN over ${count(r.devices, 'device')}, ${count(r.trials, 'trial')}; 1 = independent values, k = as noisy as n/k independent values`,
    },
    width: 420,
    height: 280,
    layer: [
      {
        data: { values: [{ one: 1 }] },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
        encoding: { y: { field: 'one', type: 'quantitative' } },
      },
      {
        data: { values },
        mark: { type: 'line', point: false, strokeWidth: 1.8 },
        encoding: {
          x,
          y,
          color,
          strokeDash: {
            field: 'layer',
            type: 'nominal',
            title: 'layer',
            scale: { domain: layers, range: cycle(DASHES, layers.length) },
          },
        },
      },
      {
        data: { values },
        mark: { type: 'point', filled: true, size: 60 },
        encoding: {
          x,
          y,
          color,
          shape: {
            field: 'layer',
            type: 'nominal',
            title: 'layer',
            scale: { domain: layers, range: cycle(SHAPES, layers.length) },
          },
          tooltip: [
            { field: 'layer' },
            { field: 'b', title: 'per-device batch' },
            { field: 'n', title: 'values per device' },
            { field: 'ratio', title: 'noise / i.i.d.', format: '.3~g' },
            { field: 'effective', title: 'effective n', format: '.3~g' },
          ],
        },
      },
    ],
  } as unknown as PlotSpec;
}
