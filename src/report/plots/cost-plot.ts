/** The figure of the `cost` experiment: sync-BN communication per training iteration. */
import type { CostReport } from '../../experiments/cost.js';
import { networkName } from '../../cost/networks.js';
import { type PlotSpec, VEGA_LITE_SCHEMA } from '../plot.js';
import { DASHES, FULL_LABELS, SECONDS_LABEL, SHAPES, cycle, inOrder, nestedSizes } from './marks.js';

const PER_LAYER = 'one all-reduce per layer';
const FUSED = 'fused all-reduces (lower bound)';

/**
 * Seconds of sync-BN communication per training iteration for each all-reduce algorithm, one
 * panel per scheme (an all-reduce per layer, and fused: a lower bound). With several W: lines
 * against W, log-log; each algorithm has its own colour, point shape, point size and dash pattern,
 * and points are hollow, so algorithms whose times coincide (ring and central are latency-bound
 * alike) stay visible. With a single W: a bar per algorithm, labelled with its time.
 * @param r the cost report
 * @returns a Vega-Lite spec
 */
export function costPlot(r: CostReport): PlotSpec {
  const values: Record<string, unknown>[] = [];
  for (const row of r.rows) {
    values.push({ devices: row.devices, algorithm: row.algorithm, seconds: row.seconds, scheme: PER_LAYER });
    values.push({ devices: row.devices, algorithm: row.algorithm, seconds: row.seconds_fused, scheme: FUSED });
  }
  const algorithms = [...r.settings.algorithms];
  const title = {
    text: `Sync-BN communication per training iteration: ${networkName(r.network.name)}, ${r.link.name} link`,
    subtitle: `${r.network.layers} BN layers, statistics by ${r.settings.stats}, ${r.settings.bytes_per_value} bytes a value; alpha-beta-gamma model, forward and backward`,
  };
  const color = {
    field: 'algorithm',
    type: 'nominal',
    title: 'all-reduce algorithm',
    scale: { domain: algorithms },
    legend: FULL_LABELS,
  } as const;
  const scheme = {
    field: 'scheme',
    type: 'nominal',
    title: null,
    sort: [PER_LAYER, FUSED],
    header: { labelFontSize: 13, labelFontWeight: 'bold' },
  } as const;
  const tooltip = [
    { field: 'devices', title: 'devices W' },
    { field: 'algorithm' },
    { field: 'scheme', title: 'all-reduces' },
    { field: 'seconds', format: '.3~s', title: 'seconds' },
  ];
  if (r.settings.devices.length === 1) return singleW(r, values, title, color, scheme, tooltip);
  const subtitle = [title.subtitle];
  const overlaps = [PER_LAYER, FUSED].flatMap((name) =>
    coinciding(
      values.filter((v) => v.scheme === name),
      algorithms,
    ).map((pair) => `${pair.join(' ≈ ')} (${name === PER_LAYER ? 'per layer' : 'fused'})`),
  );
  if (overlaps.length > 0) subtitle.push(`curves that overlap, each drawn with its own marker: ${overlaps.join(', ')}`);
  // A log axis has no place for 0 s (W = 1, or a free link with alpha = beta = gamma = 0): left
  // off and said so, unless every time is 0, which a linear axis shows as it is.
  const log = values.some((v) => (v.seconds as number) > 0);
  const zeroAt = inOrder(values.filter((v) => v.seconds === 0).map((v) => v.devices as number));
  if (log && zeroAt.length > 0) subtitle.push(`times of 0 s are left off the log axis (W = ${zeroAt.join(', ')})`);
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: title.text, subtitle },
    data: { values: log ? values.filter((v) => (v.seconds as number) > 0) : values },
    facet: { column: scheme },
    spec: {
      width: 340,
      height: 320,
      encoding: {
        x: {
          field: 'devices',
          type: 'quantitative',
          title: 'devices W',
          scale: { type: 'log', base: 2, nice: false },
          axis: { values: [...r.settings.devices], format: 'd', labelOverlap: true },
        },
        y: {
          field: 'seconds',
          type: 'quantitative',
          title: 'communication time per iteration',
          scale: { type: log ? 'log' : 'linear' },
          axis: { labelExpr: SECONDS_LABEL },
        },
        color,
      },
      layer: [
        {
          mark: { type: 'line', strokeWidth: 1.5 },
          encoding: {
            strokeDash: {
              field: 'algorithm',
              type: 'nominal',
              title: 'all-reduce algorithm',
              scale: { domain: algorithms, range: cycle(DASHES, algorithms.length) },
            },
          },
        },
        {
          // Hollow points without the dash pattern: the shape stays legible where curves overlap.
          mark: { type: 'point', filled: false, strokeWidth: 1.5 },
          encoding: {
            shape: {
              field: 'algorithm',
              type: 'nominal',
              title: 'all-reduce algorithm',
              scale: { domain: algorithms, range: cycle(SHAPES, algorithms.length) },
            },
            size: {
              field: 'algorithm',
              type: 'nominal',
              title: 'all-reduce algorithm',
              sort: algorithms,
              scale: { type: 'ordinal', domain: algorithms, range: nestedSizes(algorithms.length) },
            },
            tooltip,
          },
        },
      ],
    },
  } as PlotSpec;
}

/** Relative gap under which two curves look like one on a log axis the height of the plot. */
const OVERLAP = 0.05;

/**
 * Pairs of algorithms whose times lie within {@link OVERLAP} of each other at every W: on the
 * plot one curve hides the other, so the subtitle names them.
 */
function coinciding(values: readonly Record<string, unknown>[], algorithms: readonly string[]): string[][] {
  const series = (a: string) => values.filter((v) => v.algorithm === a).map((v) => v.seconds as number);
  const pairs: string[][] = [];
  for (let i = 0; i < algorithms.length; i++) {
    for (let j = i + 1; j < algorithms.length; j++) {
      const [a, b] = [series(algorithms[i]), series(algorithms[j])];
      if (a.length > 0 && a.length === b.length && a.every((v, k) => Math.abs(v - b[k]) <= OVERLAP * Math.max(v, b[k])))
        pairs.push([algorithms[i], algorithms[j]]);
    }
  }
  return pairs;
}

/** One W: lines would be single points, so a labelled bar per algorithm, a panel per scheme. */
function singleW(
  r: CostReport,
  values: Record<string, unknown>[],
  title: { text: string; subtitle: string },
  color: object,
  scheme: object,
  tooltip: object[],
): PlotSpec {
  const y = {
    field: 'algorithm',
    type: 'nominal',
    title: 'all-reduce algorithm',
    sort: [...r.settings.algorithms],
  } as const;
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { ...title, text: `${title.text}, W = ${r.settings.devices[0]} devices` },
    data: { values },
    transform: [{ calculate: `format(datum.seconds, '.3~s') + 's'`, as: 'label' }],
    facet: { column: scheme },
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 300,
      height: { step: 26 },
      encoding: {
        y,
        x: {
          field: 'seconds',
          type: 'quantitative',
          title: 'communication time per iteration',
          axis: { labelExpr: SECONDS_LABEL, tickCount: 5 },
          scale: { nice: true },
        },
      },
      layer: [
        // The axis names each bar: a colour legend would only repeat it.
        { mark: { type: 'bar' }, encoding: { color: { ...color, legend: null }, tooltip } },
        { mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 }, encoding: { text: { field: 'label' } } },
      ],
    },
  } as PlotSpec;
}
