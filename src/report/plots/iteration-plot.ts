/** The figure of `cost --model`: what each BN mode's communication costs an iteration, against W. */
import { type IterationDocument, iterationsOf } from '../../cost/iteration-document.js';
import { networkName } from '../../cost/networks.js';
import { type PlotSpec, VEGA_LITE_SCHEMA } from '../plot.js';
import { DASHES, FULL_LABELS, SECONDS_LABEL, SHAPES, bnModeOrder, cycle, inOrder } from './marks.js';

/**
 * BN communication per iteration (left, log scale) and its share of the iteration (right) for
 * every BN mode, against W on a log axis. Each mode has its own colour, point shape and dash, so
 * modes whose curves coincide (group:G is sync on one node) stay visible. Modes that communicate
 * nothing (local) have no place on the log axis; the subtitle says so and the share panel shows
 * them at 0%.
 * @param d - the document of `cost --model`: one iteration per node count, in order.
 * @returns a Vega-Lite spec.
 */
export function iterationPlot(d: IterationDocument): PlotSpec {
  const title = `BN communication per iteration: ${networkName(d.network.name)}, ${d.perGpuBatch} per GPU, ${d.pattern}'s pattern`;
  const values = iterationsOf(d).flatMap((r) =>
    r.rows.map((row) => ({ devices: r.devices, bn: row.bn, seconds: row.seconds, share: row.shareOfIteration })),
  );
  const modes = bnModeOrder(values.map((v) => v.bn));
  const devices = inOrder(values.map((v) => v.devices));
  const silent = inOrder(values.filter((v) => v.seconds === 0).map((v) => v.bn));
  const subtitle = ['BN collectives on the critical path, forward and backward; log axes in W'];
  if (silent.length > 0)
    subtitle.push(
      `${silent.join(', ')} ${silent.length === 1 ? 'communicates' : 'communicate'} nothing: left off the time panel, at 0% in the share panel`,
    );
  const x = {
    field: 'devices',
    type: 'quantitative',
    title: 'devices W',
    scale: { type: 'log', base: 2, nice: false },
    axis: { values: devices, format: 'd', labelOverlap: true },
  };
  const color = { field: 'bn', type: 'nominal', title: 'BN mode', scale: { domain: modes }, legend: FULL_LABELS };
  const marks = (y: object) => [
    {
      mark: { type: 'line', strokeWidth: 1.5 },
      encoding: {
        x,
        y,
        color,
        strokeDash: {
          field: 'bn',
          type: 'nominal',
          title: 'BN mode',
          scale: { domain: modes, range: cycle(DASHES, modes.length) },
        },
      },
    },
    {
      mark: { type: 'point', filled: false, strokeWidth: 1.5, size: 60 },
      encoding: {
        x,
        y,
        color,
        shape: {
          field: 'bn',
          type: 'nominal',
          title: 'BN mode',
          scale: { domain: modes, range: cycle(SHAPES, modes.length) },
        },
        tooltip: [
          { field: 'devices', title: 'devices W' },
          { field: 'bn', title: 'BN mode' },
          { field: 'seconds', format: '.3~s', title: 'seconds' },
          { field: 'share', format: '.1%', title: 'share' },
        ],
      },
    },
  ];
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: title, subtitle },
    data: { values },
    hconcat: [
      {
        width: 320,
        height: 300,
        title: 'BN communication per iteration',
        transform: [{ filter: 'datum.seconds > 0' }],
        layer: marks({
          field: 'seconds',
          type: 'quantitative',
          title: 'seconds per iteration',
          scale: { type: 'log' },
          axis: { labelExpr: SECONDS_LABEL },
        }),
      },
      {
        width: 320,
        height: 300,
        title: 'share of the iteration',
        layer: marks({
          field: 'share',
          type: 'quantitative',
          title: 'share of the iteration',
          axis: { format: '%' },
        }),
      },
    ],
  } as PlotSpec;
}
