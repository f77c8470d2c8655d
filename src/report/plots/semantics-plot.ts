/** The figure of `semantics`: each framework's errors against exact BN, a panel per case. */
import type { SemanticsReport } from '../../experiments/semantics.js';
import { type PlotSpec, VEGA_LITE_SCHEMA } from '../plot.js';
import { FULL_LABELS, SHAPES, cycle, nestedSizes } from './marks.js';

/** Errors below this (exact zeros included) are drawn at it on the log axis. */
export const SEMANTICS_PLOT_FLOOR = 1e-17;

const MEASURES = [
  { key: 'meanError', label: 'mean (in std)' },
  { key: 'varError', label: 'variance (relative)' },
  { key: 'outputError', label: 'output (relative)' },
  { key: 'runningVarError', label: 'running variance (relative)' },
] as const;

/**
 * Errors (log) by framework, a panel per case; each measure has its own colour, hollow shape and
 * nested size, so measures that coincide all stay visible. A framework that refuses a case or
 * reaches NaN has no point in that panel and is named in the subtitle.
 * @param r - the semantics report.
 * @returns a Vega-Lite spec (one panel per case).
 */
export function semanticsPlot(r: SemanticsReport): PlotSpec {
  const labels = MEASURES.map((m) => m.label);
  const values = r.rows.flatMap((row) =>
    MEASURES.filter((m) => Number.isFinite(row[m.key])).map((m) => ({
      framework: row.framework,
      case: row.case,
      measure: m.label,
      error: Math.max(row[m.key], SEMANTICS_PLOT_FLOOR),
      exact: row.exact ? 'yes' : 'no',
    })),
  );
  const missing = r.rows
    .filter((row) => MEASURES.some((m) => !Number.isFinite(row[m.key])))
    .map((row) => `${row.framework} on ${row.case}`);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: "Each framework's synchronized BN against exact single-device BN",
      subtitle: [
        `inputs stored in ${r.dtype}${r.dtype === r.half ? '' : `, half cases in ${r.half}`}; errors below ${SEMANTICS_PLOT_FLOOR} (exact zeros included) drawn at ${SEMANTICS_PLOT_FLOOR}`,
        missing.length > 0
          ? `no point where a framework refuses the case or reaches NaN: ${missing.join(', ')}`
          : 'every framework ran every case',
      ],
    },
    data: { values },
    facet: {
      column: {
        field: 'case',
        type: 'nominal',
        title: null,
        sort: [...r.cases],
        header: { labelFontSize: 13, labelFontWeight: 'bold' },
      },
    },
    spec: {
      width: 170,
      height: 260,
      mark: { type: 'point', filled: false, strokeWidth: 1.5 },
      encoding: {
        x: {
          field: 'framework',
          type: 'nominal',
          sort: [...r.frameworks],
          title: 'framework',
          axis: { labelAngle: -45 },
        },
        y: {
          field: 'error',
          type: 'quantitative',
          scale: { type: 'log' },
          axis: { format: '.0e' },
          title: 'error against exact BN',
        },
        color: { field: 'measure', type: 'nominal', title: 'error of', scale: { domain: labels }, legend: FULL_LABELS },
        shape: {
          field: 'measure',
          type: 'nominal',
          title: 'error of',
          scale: { domain: labels, range: cycle(SHAPES, labels.length) },
        },
        size: {
          field: 'measure',
          type: 'nominal',
          title: 'error of',
          sort: labels,
          scale: { type: 'ordinal', domain: labels, range: nestedSizes(labels.length) },
        },
        tooltip: [
          { field: 'framework' },
          { field: 'case' },
          { field: 'measure' },
          { field: 'error', format: '.2e' },
          { field: 'exact' },
        ],
      },
    },
  };
}
