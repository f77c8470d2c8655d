/**
 * The figures of `compare`. On one batch: how far each device's mean strays from the whole batch's
 * (in batch std, beside the i.i.d. expectation) and how far every BN mode lands from single-device
 * BN on the whole batch, forward and backward. On captured activations (`--input acts.npz`): how
 * much more the device means stray in each layer than i.i.d. theory says.
 */
import { basename } from 'node:path';
import type { CompareReport } from '../../experiments/compare.js';
import type { LayerCompareReport } from '../../experiments/layers.js';
import { type PlotSpec, VEGA_LITE_SCHEMA } from '../plot.js';
import { count } from '../table.js';
import { FULL_LABELS, SHAPES, cycle, inOrder } from './marks.js';

/** Channels drawn in the stray panel of {@link comparePlot}: enough to see the spread, few enough to tell apart. */
export const CHANNELS_PLOTTED = 8;

/**
 * Relative differences below this (exact zeros included: sync BN often matches single-device BN
 * bitwise) are drawn at it, as a log axis has no place for 0; the tooltip gives the true value.
 */
export const COMPARE_PLOT_FLOOR = 1e-17;

/** Noise ratios below this (0 when every shard has the batch's mean) are drawn at it on the log axis. */
export const RATIO_FLOOR = 1e-6;

/** The three arrays a mode is compared on, in the order the table gives them. */
const QUANTITIES = [
  { key: 'Output', label: 'output y' },
  { key: 'GradInput', label: 'grad input dL/dx' },
  { key: 'GradWeight', label: 'grad gamma dL/dgamma' },
] as const;

/** A figure as the tooltip shows it: 'exact (0)' for a zero, the number otherwise. */
const exactOr = (v: number) => (v === 0 ? 'exact (0)' : v.toPrecision(3));

/**
 * Two panels. Left: each device's mean of each channel (the first {@link CHANNELS_PLOTTED}), minus the
 * whole batch's, in whole-batch std, by rank, with dashed rules at ± the root mean square i.i.d.
 * values would give; empty devices and constant channels have no point. Right: every BN mode's
 * largest difference from single-device BN, relative to that array's scale, for the output, grad
 * input and grad gamma, on a log axis (below {@link COMPARE_PLOT_FLOOR}, exact zeros included,
 * drawn at it). Every series has its own colour and shape.
 * @param r - the compare report.
 * @returns a Vega-Lite spec (two panels side by side).
 */
export function comparePlot(r: CompareReport): PlotSpec {
  const channels = Math.min(CHANNELS_PLOTTED, r.global.mean.length);
  const channelNames = Array.from({ length: channels }, (_, c) => `channel ${c}`);
  const stray = r.perDevice.flatMap((d) =>
    d.count === 0
      ? []
      : channelNames.flatMap((name, c) => {
          const std = Math.sqrt(r.global.var[c]);
          const shift = (d.mean[c] - r.global.mean[c]) / std;
          if (!Number.isFinite(shift)) return []; // a constant channel has no std to measure in
          return [
            {
              rank: d.rank,
              channel: name,
              shift,
              rows: `${d.rows[0]} to ${d.rows[1] - 1} (${d.rows[1] - d.rows[0]})`,
              n: d.count,
              mean: d.mean[c],
              globalMean: r.global.mean[c],
              globalStd: std,
              varRatio: d.var[c] / r.global.var[c],
            },
          ];
        }),
  );
  const iid = r.summary.iidRmsMeanShiftInStd;
  const ranks = r.perDevice.map((d) => d.rank);
  const empty = r.perDevice.filter((d) => d.count === 0).map((d) => d.rank);
  const shownChannels = inOrder(stray.map((s) => s.channel));
  const channelNote =
    r.global.mean.length > channels ? `the first ${channels} of ${r.global.mean.length} channels` : 'every channel';
  const constant = channelNames.filter((_, c) => !(r.global.var[c] > 0));
  const strayPanel = {
    title: {
      text: "Each device's mean against the whole batch's",
      anchor: 'start',
      subtitle: [
        `${channelNote}, in whole-batch std`,
        iid > 0
          ? `dashed: ± ${iid.toPrecision(3)}, the rms stray of i.i.d. values`
          : 'one device holds the whole batch: its means are the batch means',
        ...(empty.length > 0
          ? [`no point for ${empty.length === 1 ? 'device' : 'devices'} ${empty.join(', ')}: no rows`]
          : []),
        ...(constant.length > 0
          ? [`no point for ${constant.join(', ')}: constant over the batch (no std to measure in)`]
          : []),
      ],
    },
    width: Math.max(340, Math.min(560, 48 * ranks.length)),
    height: 280,
    layer: [
      {
        data: { values: iid > 0 ? [{ level: iid }, { level: -iid }] : [] },
        mark: { type: 'rule', strokeDash: [5, 4], color: '#777', strokeWidth: 1.2 },
        encoding: { y: { field: 'level', type: 'quantitative' } },
      },
      {
        data: { values: [{ zero: 0 }] },
        mark: { type: 'rule', color: '#bbb', strokeWidth: 1 },
        encoding: { y: { field: 'zero', type: 'quantitative' } },
      },
      {
        data: { values: stray },
        mark: { type: 'point', filled: false, strokeWidth: 1.6, size: 55 },
        encoding: {
          x: {
            field: 'rank',
            type: 'ordinal',
            title: 'device (rank)',
            scale: { domain: ranks },
            axis: { labelAngle: 0 },
          },
          xOffset: { field: 'channel', type: 'nominal', scale: { domain: shownChannels, paddingOuter: 0.3 } },
          y: {
            field: 'shift',
            type: 'quantitative',
            title: '(device mean − batch mean) / batch std',
            // Every shift is 0 on one device: give the axis a span to show it in.
            ...(iid > 0 ? {} : { scale: { domain: [-1, 1] } }),
          },
          color: {
            field: 'channel',
            type: 'nominal',
            title: 'channel',
            scale: { domain: shownChannels },
            legend: shownChannels.length > 0 ? FULL_LABELS : null,
          },
          shape: {
            field: 'channel',
            type: 'nominal',
            title: 'channel',
            scale: { domain: shownChannels, range: cycle(SHAPES, shownChannels.length) },
          },
          tooltip: [
            { field: 'rank', title: 'device' },
            { field: 'channel' },
            { field: 'rows', title: 'rows (count)' },
            { field: 'n', title: 'values per channel' },
            { field: 'mean', title: 'device mean', format: '.4g' },
            { field: 'globalMean', title: 'batch mean', format: '.4g' },
            { field: 'globalStd', title: 'batch std', format: '.4g' },
            { field: 'shift', title: 'shift in batch std', format: '+.3f' },
            { field: 'varRatio', title: 'device var / batch var', format: '.3f' },
          ],
        },
      },
    ],
  };

  const modes = r.modes.map((m) => m.mode);
  const quantities = QUANTITIES.map((q) => q.label);
  const diffs = r.modes.flatMap((m) =>
    QUANTITIES.flatMap((q) => {
      const rel = m[`relDiff${q.key}`];
      if (rel === null || Number.isNaN(rel)) return []; // the single-device array is all zeros: nothing to be relative to
      const abs = m[`maxAbsDiff${q.key}`];
      return [
        {
          mode: m.mode,
          quantity: q.label,
          rel: Math.min(Math.max(rel, COMPARE_PLOT_FLOOR), Number.MAX_VALUE),
          relText: rel < COMPARE_PLOT_FLOOR && rel > 0 ? `${rel.toPrecision(3)} (drawn at the floor)` : exactOr(rel),
          absText: exactOr(abs),
          messages: m.messages,
          bytes: m.bytes,
        },
      ];
    }),
  );
  // An array that single-device BN gives as zero everywhere has no scale to be relative to.
  const unscaled = QUANTITIES.filter((q) => !diffs.some((d) => d.quantity === q.label)).map((q) => q.label);
  const diffPanel = {
    title: {
      text: 'Each BN mode against single-device BN',
      anchor: 'start',
      subtitle: [
        'on the whole batch: max |diff| / max |value| of the array',
        `dotted: ${COMPARE_PLOT_FLOOR}, where exact matches are drawn`,
        ...(unscaled.length > 0
          ? [`no point for ${unscaled.join(', ')}: zero everywhere in single-device BN, nothing to be relative to`]
          : []),
      ],
    },
    width: Math.max(300, Math.min(480, 80 * modes.length)),
    height: 280,
    layer: [
      {
        data: { values: [{ floor: COMPARE_PLOT_FLOOR }] },
        mark: { type: 'rule', strokeDash: [2, 3], color: '#999' },
        encoding: {
          y: { field: 'floor', type: 'quantitative', scale: { type: 'log', domainMin: COMPARE_PLOT_FLOOR / 10 } },
        },
      },
      {
        data: { values: diffs },
        mark: { type: 'point', filled: true, size: 80, opacity: 0.85 },
        encoding: {
          x: { field: 'mode', type: 'nominal', title: 'BN mode', sort: modes, axis: { labelAngle: 0 } },
          xOffset: { field: 'quantity', type: 'nominal', sort: quantities, scale: { paddingOuter: 0.4 } },
          y: {
            field: 'rel',
            type: 'quantitative',
            title: 'relative difference (log scale)',
            scale: { type: 'log' },
            axis: { format: '.0e' },
          },
          color: {
            field: 'quantity',
            type: 'nominal',
            title: 'array compared',
            scale: { domain: quantities, scheme: 'dark2' },
            legend: FULL_LABELS,
          },
          shape: {
            field: 'quantity',
            type: 'nominal',
            title: 'array compared',
            scale: { domain: quantities, range: cycle(['square', 'triangle-up', 'diamond'], quantities.length) },
          },
          tooltip: [
            { field: 'mode', title: 'BN mode' },
            { field: 'quantity', title: 'array' },
            { field: 'relText', title: 'relative difference' },
            { field: 'absText', title: 'max |difference|' },
            { field: 'messages', title: 'messages (fwd + bwd)' },
            { field: 'bytes', title: 'bytes (fwd + bwd)' },
          ],
        },
      },
    ],
  };

  const source = r.batch.source === 'synthetic' ? `synthetic batch (seed ${r.batch.seed})` : 'your batch';
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: {
      text: `compare: one batch split over ${count(r.devices, 'device')}`,
      subtitle: `${source} [${r.batch.shape.join(',')}] ${r.batch.dtype}, statistics by ${r.stats}`,
    },
    hconcat: [strayPanel, diffPanel],
    spacing: 40,
    resolve: { scale: { color: 'independent', shape: 'independent', xOffset: 'independent' } },
  } as unknown as PlotSpec;
}

/**
 * Per captured layer (x, in the model's order): the measured variance of the device means over
 * i.i.d. theory, log scale, a hollow point per captured step and a filled diamond for the layer
 * pooled over its steps, with a rule at 1 (as i.i.d. theory predicts). W = 1 has no ratio and no
 * point.
 * @param r - the per-layer compare report.
 * @returns a Vega-Lite spec.
 */
export function layerComparePlot(r: LayerCompareReport): PlotSpec {
  const layers = r.layers.map((l) => l.name);
  const stepCounts = r.layers.map((l) => l.rows.length);
  const severalSteps = stepCounts.some((n) => n > 1);
  // With one step per layer the pooled figure is that step's: one series then, not two on top of each other.
  const STEP = 'one captured step';
  const POOLED = severalSteps ? 'pooled over the steps' : 'the captured step';
  let clamped = false;
  const onAxis = (ratio: number) => {
    if (ratio < RATIO_FLOOR) clamped = true;
    return Math.max(ratio, RATIO_FLOOR);
  };
  const values = r.layers.flatMap((l) => [
    ...l.rows
      .filter((row) => severalSteps && row.noiseRatio !== null)
      .map((row) => ({
        layer: l.name,
        type: l.type,
        series: STEP,
        step: String(row.step),
        ratio: onAxis(row.noiseRatio!),
        ratioText: exactOr(row.noiseRatio!),
        effective: row.effectiveN,
        rowsPerDevice: row.rowsPerDevice,
        valuesPerDevice: row.valuesPerDevice,
        stray: row.meanStray,
        strayIid: row.meanStrayIid,
      })),
    ...(l.summary.noiseRatio === null
      ? []
      : [
          {
            layer: l.name,
            type: l.type,
            series: POOLED,
            step: severalSteps ? `all ${l.rows.length}` : String(l.rows[0].step),
            ratio: onAxis(l.summary.noiseRatio),
            ratioText: exactOr(l.summary.noiseRatio),
            effective: l.summary.effectiveN,
            rowsPerDevice: l.summary.rowsPerDevice,
            valuesPerDevice: l.summary.valuesPerDevice,
            stray: l.summary.meanStray,
            strayIid: l.summary.meanStrayIid,
          },
        ]),
  ]);
  const series = severalSteps ? [STEP, POOLED] : [POOLED];
  const fewest = Math.min(...stepCounts);
  const most = Math.max(...stepCounts);
  const steps = fewest === most ? count(most, 'captured step') : `${fewest} to ${most} captured steps`;
  const subtitle = [
    `${basename(r.source)}: ${steps} per layer, each batch split over ${count(r.devices, 'device')}`,
    '1 = the device means stray as i.i.d. theory says; k = as much as n/k independent values would',
    ...(r.devices === 1 ? ['one device: nothing is split, so there is no ratio to draw'] : []),
    ...(clamped ? [`ratios below ${RATIO_FLOOR} drawn at ${RATIO_FLOOR}`] : []),
  ];
  const width = Math.max(260, Math.min(640, 60 * layers.length));
  return {
    $schema: VEGA_LITE_SCHEMA,
    title: { text: 'Stray of the device means in each captured layer, against i.i.d. theory', subtitle },
    width,
    height: 280,
    layer: [
      {
        data: { values: [{ one: 1 }] },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
        encoding: { y: { field: 'one', type: 'quantitative' } },
      },
      {
        data: { values: [{ one: 1 }] },
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 4, color: '#666' },
        encoding: { y: { field: 'one', type: 'quantitative' }, x: { value: width }, text: { value: 'i.i.d.' } },
      },
      {
        data: { values },
        mark: { type: 'point', strokeWidth: 1.6 },
        encoding: {
          x: {
            field: 'layer',
            type: 'nominal',
            title: 'captured layer (in the model’s order)',
            scale: { domain: layers },
            axis: { labelAngle: layers.some((l) => l.length > 6) ? -30 : 0 },
          },
          y: {
            field: 'ratio',
            type: 'quantitative',
            title: 'Var(device mean) / i.i.d. theory (log scale)',
            // Room below the rule at 1, so points near it do not sit on the axis.
            scale: { type: 'log', domainMin: Math.min(0.5, ...values.map((v) => v.ratio / 2)) },
          },
          color: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: series, range: severalSteps ? ['#4c78a8', '#d62728'] : ['#d62728'] },
            legend: FULL_LABELS,
          },
          shape: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: series, range: severalSteps ? ['circle', 'diamond'] : ['diamond'] },
          },
          fill: {
            field: 'series',
            type: 'nominal',
            title: null,
            scale: { domain: series, range: severalSteps ? ['transparent', '#d62728'] : ['#d62728'] },
          },
          size: {
            field: 'series',
            type: 'nominal',
            title: null,
            sort: series,
            scale: { type: 'ordinal', domain: series, range: severalSteps ? [50, 130] : [130] },
          },
          tooltip: [
            { field: 'layer' },
            { field: 'type' },
            { field: 'step' },
            { field: 'ratioText', title: 'noise / i.i.d.' },
            { field: 'effective', title: 'effective n', format: '.4~g' },
            { field: 'rowsPerDevice', title: 'rows per device', format: '.4~g' },
            { field: 'valuesPerDevice', title: 'values per device', format: '.4~g' },
            { field: 'stray', title: 'stray of means (batch std)', format: '.3~g' },
            { field: 'strayIid', title: 'i.i.d. stray', format: '.3~g' },
          ],
        },
      },
    ],
  } as unknown as PlotSpec;
}
