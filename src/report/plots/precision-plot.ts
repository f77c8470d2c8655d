/** The figure of the `precision` experiment: error of the batch variance against |mean|/std. */
import type { PrecisionReport } from '../../experiments/precision.js';
import { type PlotSpec, VEGA_LITE_SCHEMA } from '../plot.js';
import { DASHES, FULL_LABELS, SHAPES, cycle, nestedSizes } from './marks.js';

/** Errors below this (exact zeros included) are drawn at it on the log axis. */
export const PLOT_FLOOR = 1e-17;

/**
 * Relative error of the variance against |mean|/std, log-log, a panel per data dtype; every
 * method has its own colour, point shape, point size and dash pattern, and points are hollow, so
 * methods whose errors coincide (exact ones sit together on the floor) all stay visible. A black ring
 * marks each case where a variance came out negative.
 * @param r the precision report
 * @returns a Vega-Lite spec (one panel per dtype)
 */
export function precisionPlot(r: PrecisionReport): PlotSpec {
  const s = r.settings;
  const values = r.rows
    .filter((row) => !Number.isNaN(row.relError) && row.ratio > 0) // a log axis has no place for 0
    .map((row) => ({
      method: row.method,
      dtype: `${row.dtype} data`,
      ratio: row.ratio,
      rel_error: Math.min(Math.max(row.relError, PLOT_FLOOR), Number.MAX_VALUE),
      negative: row.negativeCount > 0 ? `${row.negativeCount} of ${row.channelTrials}` : 'none',
    }));
  const methods = [...s.methods];
  const ratios = [...new Set(r.rows.map((q) => q.ratio).filter((q) => q > 0))].sort((a, b) => a - b);
  const x = {
    field: 'ratio',
    type: 'quantitative',
    scale: { type: 'log' },
    axis: { format: '.0e', values: ratios, grid: true },
    title: '|mean| / std of the data',
  } as const;
  const y = {
    field: 'rel_error',
    type: 'quantitative',
    scale: { type: 'log' },
    axis: { format: '.0e', tickCount: 8 },
    title: 'max relative error of the variance',
  } as const;
  const trials = `${s.trials} trial${s.trials === 1 ? '' : 's'}`;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: 'Error of the batch variance against |mean| / std, by statistics method',
      subtitle: [
        `[${s.rows},${s.channels}] batches over ${s.devices} devices, ${trials}; worst over channels and trials; log-log`,
        `errors below ${PLOT_FLOOR} (exact zeros included) are drawn at ${PLOT_FLOOR}`,
      ],
    },
    data: { values },
    facet: {
      column: { field: 'dtype', type: 'nominal', title: null, header: { labelFontSize: 13, labelFontWeight: 'bold' } },
    },
    spec: {
      width: 320,
      height: 300,
      encoding: { x, y },
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            color: {
              field: 'method',
              type: 'nominal',
              title: 'statistics method',
              scale: { domain: methods },
              legend: FULL_LABELS,
            },
            strokeDash: {
              field: 'method',
              type: 'nominal',
              title: 'statistics method',
              scale: { domain: methods, range: cycle(DASHES, methods.length) },
            },
          },
        },
        {
          mark: { type: 'point', filled: false, strokeWidth: 1.5 },
          encoding: {
            color: { field: 'method', type: 'nominal', title: 'statistics method' },
            shape: {
              field: 'method',
              type: 'nominal',
              title: 'statistics method',
              scale: { domain: methods, range: cycle(SHAPES, methods.length) },
            },
            size: {
              field: 'method',
              type: 'nominal',
              title: 'statistics method',
              sort: methods,
              scale: { type: 'ordinal', domain: methods, range: nestedSizes(methods.length) },
            },
            tooltip: [
              { field: 'method' },
              { field: 'dtype' },
              { field: 'ratio', title: '|mean| / std', format: '.0e' },
              { field: 'rel_error', title: 'relative error', format: '.2e' },
              { field: 'negative', title: 'negative variances' },
            ],
          },
        },
        {
          transform: [{ filter: "datum.negative !== 'none'" }],
          mark: { type: 'point', filled: false, size: 560, strokeWidth: 2 },
          encoding: {
            stroke: {
              datum: 'a variance came out negative',
              type: 'nominal',
              title: null,
              scale: { range: ['black'] },
              legend: { symbolType: 'circle', symbolSize: 240, symbolStrokeWidth: 2, ...FULL_LABELS },
            },
            // The ring belongs to its method's series: an HTML page fades it with them.
            detail: { field: 'method', type: 'nominal' },
          },
        },
      ],
    },
  } as PlotSpec;
}
