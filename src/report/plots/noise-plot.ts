/** The figure of the `noise` experiment: statistic noise against per-device batch size. */
import type { NoiseReport } from '../../experiments/noise.js';
import { type PlotSpec, VEGA_LITE_SCHEMA } from '../plot.js';
import { FULL_LABELS, SHAPES, bnModeOrder, cycle, inOrder } from './marks.js';

/** A value a log axis can place; anything else (0, NaN, infinity: b = 1 has no variance theory) is left out. */
const onLogAxis = (v: number): number | null => (Number.isFinite(v) && v > 0 ? v : null);

/**
 * Noise of the mean and of the variance against per-device batch size b, log-log, one panel
 * each: points measured, dashed lines i.i.d. theory, colour and shape the BN mode. The x ticks
 * are exactly the batch sizes measured (a log axis would otherwise tick at 2.5, 3, 3.5).
 * @param r the noise report
 * @returns a Vega-Lite spec (two panels side by side)
 */
export function noisePlot(r: NoiseReport): PlotSpec {
  const batches = inOrder(r.rows.map((row) => row.batch)).sort((a, b) => a - b);
  const modes = bnModeOrder(r.rows.map((row) => row.mode));
  const source =
    r.source.kind === 'synthetic' ? `${r.source.dist} data` : `rows of your [${r.source.shape.join(',')}] array`;
  const x = {
    field: 'b',
    type: 'quantitative',
    title: 'per-device batch size b (rows per device)',
    scale: { type: 'log', base: 2, nice: false, padding: 12 },
    axis: { values: batches, format: 'd', grid: true },
  } as const;
  const color = {
    field: 'mode',
    type: 'nominal',
    title: 'BN mode',
    scale: { domain: modes },
    legend: FULL_LABELS,
  } as const;
  const shape = {
    field: 'mode',
    type: 'nominal',
    title: 'BN mode',
    scale: { domain: modes, range: cycle(SHAPES, modes.length) },
  } as const;
  const panel = (
    title: string,
    yTitle: string,
    measured: 'meanNoise' | 'varNoise',
    theory: 'meanNoiseTheory' | 'varNoiseTheory',
  ) => ({
    title,
    width: 300,
    height: 260,
    data: {
      values: r.rows.map((row) => ({
        b: row.batch,
        mode: row.mode,
        n: row.valuesPerUnit,
        measured: onLogAxis(row[measured]),
        theory: onLogAxis(row[theory]),
      })),
    },
    encoding: { x, color },
    layer: [
      {
        mark: { type: 'line', strokeDash: [5, 3], strokeWidth: 1.5 },
        encoding: { y: { field: 'theory', type: 'quantitative', scale: { type: 'log' }, title: yTitle } },
      },
      {
        mark: { type: 'point', filled: true, size: 70, opacity: 0.9 },
        encoding: {
          y: { field: 'measured', type: 'quantitative' },
          shape,
          tooltip: [
            { field: 'mode', title: 'BN mode' },
            { field: 'b', title: 'per-device batch' },
            { field: 'n', title: 'values per unit n' },
            { field: 'measured', format: '.3g' },
            { field: 'theory', title: 'i.i.d. theory', format: '.3g' },
          ],
        },
      },
    ],
  });
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: 'Noise of the statistics each device normalizes with, against per-device batch size',
      subtitle: `${r.devices} devices, ${r.trials} trials, ${source} of variance s²; points: measured; dashed lines: i.i.d. theory (log-log)`,
    },
    hconcat: [
      panel('Noise of the mean', 'Var(mean) / s²', 'meanNoise', 'meanNoiseTheory'),
      panel('Noise of the variance', 'Var(unbiased variance) / s⁴', 'varNoise', 'varNoiseTheory'),
    ],
    resolve: { scale: { y: 'independent' } },
  } as PlotSpec;
}
