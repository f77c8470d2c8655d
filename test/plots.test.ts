/**
 * Every plot kind rendered to PNG and decoded: a sane size, far from blank, nothing running off
 * the edge, no label shortened; and the fixes that make each read right, checked on the spec and
 * on the SVG vega draws (ticks, legends, axis titles, series that must stay visible).
 * Noise and precision come from tiny real runs on the cluster, cost from the model, train from a
 * hand-made report (a real run's plot is drawn by train.test.ts through the CLI).
 * Set SYNCBN_PLOT_DIR to keep the PNGs there for a look.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { InputError } from '../src/errors.js';
import { type CompareReport, compareModes } from '../src/experiments/compare.js';
import { type CostReport, costModel } from '../src/experiments/cost.js';
import { type LayerCompareReport, compareLayers } from '../src/experiments/layers.js';
import { type NoiseReport, noiseExperiment } from '../src/experiments/noise.js';
import { type PrecisionReport, precisionExperiment } from '../src/experiments/precision.js';
import type { TrainRunReport, TrainReport } from '../src/experiments/train.js';
import { flattenOpacity } from '../src/report/flatten-opacity.js';
import { type PlotSpec, VEGA_LITE_SCHEMA, renderPng, renderSvg } from '../src/report/plot.js';
import {
  CHANNELS_PLOTTED,
  COMPARE_PLOT_FLOOR,
  RATIO_FLOOR,
  comparePlot,
  layerComparePlot,
} from '../src/report/plots/compare-plot.js';
import { costPlot } from '../src/report/plots/cost-plot.js';
import { noisePlot } from '../src/report/plots/noise-plot.js';
import { PLOT_FLOOR, precisionPlot } from '../src/report/plots/precision-plot.js';
import { trainPlot } from '../src/report/plots/train-plot.js';
import { readCapturedActivations } from '../src/tensor/activations.js';
import { ROOT } from './helpers.js';

/** A decoded PNG: RGBA bytes, row by row. */
interface Image {
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;
}

function decode(png: Buffer): Image {
  return PNG.sync.read(png);
}

const isWhite = (d: Buffer, i: number) => d[i] >= 250 && d[i + 1] >= 250 && d[i + 2] >= 250;

/** Share of pixels that are not the white background, and how many distinct colours there are. */
function inkStats(image: Image): { ink: number; colours: number } {
  const colours = new Set<number>();
  let ink = 0;
  for (let i = 0; i < image.data.length; i += 4) {
    if (!isWhite(image.data, i)) ink++;
    colours.add(image.data.readUInt32BE(i));
  }
  return { ink: ink / (image.width * image.height), colours: colours.size };
}

/** Whether the outermost `band` pixels on each side are all background: nothing was cut at an edge. */
function marginsClear(image: Image, band: number): boolean {
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (x >= band && x < image.width - band && y >= band && y < image.height - band) continue;
      if (!isWhite(image.data, (y * image.width + x) * 4)) return false;
    }
  }
  return true;
}

/** Pixels within `tolerance` of an RGB colour. */
function pixelsOf(image: Image, rgb: readonly [number, number, number], tolerance = 24): number {
  let n = 0;
  for (let i = 0; i < image.data.length; i += 4) {
    if (
      Math.abs(image.data[i] - rgb[0]) + Math.abs(image.data[i + 1] - rgb[1]) + Math.abs(image.data[i + 2] - rgb[2]) <=
      tolerance
    )
      n++;
  }
  return n;
}

// What vega writes into the SVG's aria labels and text: enough to check the guides a reader sees.

/** Each axis drawn, with its title ('' when it has none). */
function axes(svg: string): { axis: 'X' | 'Y'; title: string }[] {
  return [...svg.matchAll(/aria-label="([XY])-axis(?: titled '([^']*)')?/g)].map((m) => ({
    axis: m[1] as 'X' | 'Y',
    title: m[2] ?? '',
  }));
}

/** Each legend drawn: its title ('' when none) and its labels in order. */
function legends(svg: string): { title: string; labels: string[] }[] {
  return [
    ...svg.matchAll(/aria-label="Symbol legend(?: titled '([^']*)')? for [^"]*? with \d+ values?: ([^"]*)"/g),
  ].map((m) => ({ title: m[1] ?? '', labels: m[2].split(', ') }));
}

/** The tick labels each y axis shows. */
function yTickLabels(svg: string): string[][] {
  return [
    ...svg.matchAll(/aria-label="Y-axis[^"]*"[\s\S]*?class="mark-text role-axis-label"[^>]*>([\s\S]*?)<\/g>/g),
  ].map((m) =>
    [...m[1].matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].filter((t) => !/\sopacity="0"/.test(t[1])).map((t) => t[2]),
  );
}

/** The tick labels each x axis shows (vega hides overlapping ones with opacity 0). */
function xTickLabels(svg: string): string[][] {
  return [
    ...svg.matchAll(/aria-label="X-axis[^"]*"[\s\S]*?class="mark-text role-axis-label"[^>]*>([\s\S]*?)<\/g>/g),
  ].map((m) =>
    [...m[1].matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].filter((t) => !/\sopacity="0"/.test(t[1])).map((t) => t[2]),
  );
}

const out = process.env.SYNCBN_PLOT_DIR;

/** Renders to PNG (kept in SYNCBN_PLOT_DIR when set) and checks what every plot must satisfy. */
async function renderAndCheck(name: string, spec: PlotSpec): Promise<{ svg: string; image: Image }> {
  const png = await renderPng(spec);
  if (out) {
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, `${name}.png`), png);
  }
  expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
  expect(png.length).toBeGreaterThan(20_000);
  expect(png.length).toBeLessThan(3_000_000);
  const image = decode(png);
  const warn = vi.spyOn(console, 'warn');
  const svg = await renderSvg(spec);
  expect(warn).not.toHaveBeenCalled(); // a vega-lite warning flags a spec it had to guess at, and would reach the CLI's stderr
  warn.mockRestore();
  const size = /width="(\d+)" height="(\d+)"/.exec(svg)!;
  expect([image.width, image.height]).toEqual([2 * Number(size[1]), 2 * Number(size[2])]); // the default scale is 2
  expect(image.width).toBeGreaterThan(600);
  expect(image.width).toBeLessThan(4000);
  expect(image.height).toBeGreaterThan(300);
  expect(image.height).toBeLessThan(3000);
  const { ink, colours } = inkStats(image);
  expect(ink).toBeGreaterThan(0.02);
  expect(ink).toBeLessThan(0.5);
  expect(colours).toBeGreaterThan(50); // antialiased text and lines alone give dozens
  expect(marginsClear(image, 6)).toBe(true);
  expect(svg).not.toContain('…'); // vega's mark of a label cut to fit
  const titles = axes(svg);
  expect(titles.length).toBeGreaterThanOrEqual(2);
  for (const a of titles) {
    expect(a.title).not.toBe('');
    expect(a.title).not.toMatch(/^value$/i);
  }
  return { svg, image };
}

let noise: NoiseReport;
let precision: PrecisionReport;
let costSeveral: CostReport;
let costSingle: CostReport;
let compare: CompareReport;
let compareEmpty: CompareReport;
let layerCompare: LayerCompareReport;
let layerCompareSteps: LayerCompareReport;
const train = handMadeTrainReport();

beforeAll(async () => {
  noise = await noiseExperiment({ batchSizes: [2, 3, 4, 8], devices: 4, trials: 10, channels: 2, seed: 1 });
  precision = await precisionExperiment({ rows: 16, channels: 2, devices: 2, trials: 1 });
  costSeveral = costModel({ devices: [2, 8, 64, 512] });
  costSingle = costModel({ devices: [8] });
  // 10 channels, more than the plot draws; 3 rows over 4 devices leaves device 3 empty.
  compare = await compareModes({ devices: 4, shape: [16, 10, 2, 2], seed: 2 });
  compareEmpty = await compareModes({ devices: 4, shape: [3, 2, 2, 2], seed: 1, modes: ['local', 'sync'] });
  layerCompare = await compareLayers({
    acts: readCapturedActivations(join(ROOT, 'test', 'fixtures', 'npz', 'acts-deflated.npz')),
    devices: 4,
  });
  layerCompareSteps = await compareLayers({
    acts: readCapturedActivations(join(ROOT, 'test', 'fixtures', 'npz', 'acts.npz')),
    devices: 8,
  });
});

describe('noise plot', () => {
  it('ticks the x axis at exactly the batch sizes measured, with a titled panel per statistic', async () => {
    const spec = noisePlot(noise);
    expect(spec.$schema).toBe(VEGA_LITE_SCHEMA);
    const { svg } = await renderAndCheck('noise', spec);
    expect(xTickLabels(svg)).toEqual([
      ['2', '3', '4', '8'],
      ['2', '3', '4', '8'],
    ]);
    expect(
      axes(svg)
        .filter((a) => a.axis === 'Y')
        .map((a) => a.title),
    ).toEqual(['Var(mean) / s²', 'Var(unbiased variance) / s⁴']);
    expect(legends(svg)).toEqual([{ title: 'BN mode', labels: ['local', 'group:2', 'sync'] }]);
  });

  it('keeps the ticks to the batch sizes when only two are measured (a log axis would add 2.5, 3, 3.5)', async () => {
    const two = { ...noise, rows: noise.rows.filter((r) => r.batch === 2 || r.batch === 4) };
    expect(xTickLabels(await renderSvg(noisePlot(two)))).toEqual([
      ['2', '4'],
      ['2', '4'],
    ]);
  });
});

describe('precision plot', () => {
  it('gives every method its own colour, shape and dash, one panel per dtype', async () => {
    const spec = precisionPlot(precision);
    const { svg } = await renderAndCheck('precision', spec);
    const methods = [...precision.settings.methods];
    const methodLegend = legends(svg).find((l) => l.title === 'statistics method');
    expect(methodLegend?.labels).toEqual(methods);
    const layers = (
      spec as unknown as { spec: { layer: { encoding: Record<string, { scale?: { range?: unknown[] } }> }[] } }
    ).spec.layer;
    const shapes = layers[1].encoding.shape.scale!.range!;
    const dashes = layers[0].encoding.strokeDash.scale!.range!.map((d) => JSON.stringify(d));
    expect(new Set(shapes).size).toBe(methods.length);
    expect(new Set(dashes).size).toBe(methods.length);
    expect(svg).toContain("Title text 'float32 data'");
    expect(svg).toContain("Title text 'float64 data'");
    // Exact methods sit on the floor together: drawn there, not dropped.
    expect(
      (spec as unknown as { data: { values: { rel_error: number }[] } }).data.values.some(
        (v) => v.rel_error === PLOT_FLOOR,
      ),
    ).toBe(true);
  });
});

/** The data of each layer of a spec, by mark type: what vega is given to draw. */
function layerValues(spec: unknown): Record<string, unknown>[] {
  return (spec as { layer: { data: { values: Record<string, unknown>[] } }[] }).layer.flatMap((l) => l.data.values);
}

describe('compare plot', () => {
  type Panels = {
    hconcat: {
      layer?: { data: { values: Record<string, unknown>[] } }[];
      data?: { values: Record<string, unknown>[] };
    }[];
  };
  const strayPoints = (spec: PlotSpec) => (spec as unknown as Panels).hconcat[0].layer![2].data.values;
  const levels = (spec: PlotSpec) => (spec as unknown as Panels).hconcat[0].layer![0].data.values.map((v) => v.level);
  const diffPoints = (spec: PlotSpec) => (spec as unknown as Panels).hconcat[1].layer![1].data.values;

  it('draws the device means against the batch and every mode against single-device BN, titled and with legends', async () => {
    const spec = comparePlot(compare);
    expect(spec.$schema).toBe(VEGA_LITE_SCHEMA);
    const { svg } = await renderAndCheck('compare', spec);
    expect(
      axes(svg)
        .filter((a) => a.axis === 'Y')
        .map((a) => a.title),
    ).toEqual(['(device mean − batch mean) / batch std', 'relative difference (log scale)']);
    // vega's aria label names the first few entries of a long legend and then the last.
    expect(legends(svg)).toEqual([
      {
        title: 'channel',
        labels: ['channel 0', 'channel 1', 'channel 2', 'channel 3', 'channel 4', 'ending with channel 7'],
      },
      { title: 'array compared', labels: ['output y', 'grad input dL/dx', 'grad gamma dL/dgamma'] },
    ]);
    expect(xTickLabels(svg)).toEqual([
      ['0', '1', '2', '3'],
      ['local', 'sync', 'group:2', 'ghost:2'],
    ]);
    // One point per device and drawn channel, each the shift in batch std; the cap is said.
    const points = strayPoints(spec);
    expect(points).toHaveLength(4 * CHANNELS_PLOTTED);
    const d = compare.perDevice[1];
    const c = 5;
    expect(points.find((p) => p.rank === 1 && p.channel === `channel ${c}`)!.shift).toBe(
      (d.mean[c] - compare.global.mean[c]) / Math.sqrt(compare.global.var[c]),
    );
    expect(JSON.stringify(spec)).toContain(`the first ${CHANNELS_PLOTTED} of 10 channels`);
    expect(levels(spec)).toEqual([compare.summary.iidRmsMeanShiftInStd, -compare.summary.iidRmsMeanShiftInStd]);
    expect(diffPoints(spec)).toHaveLength(4 * 3);
  });

  it('draws an exact match at the floor, says "exact" in its tooltip, and leaves out a difference with no scale', () => {
    const zero = {
      ...compare,
      modes: compare.modes.map((m) =>
        m.mode === 'sync'
          ? {
              ...m,
              maxAbsDiffOutput: 0,
              relDiffOutput: 0,
              maxAbsDiffGradInput: 1e-20,
              relDiffGradInput: 1e-20,
              relDiffGradWeight: null,
            }
          : m,
      ),
    };
    const sync = diffPoints(comparePlot(zero)).filter((p) => p.mode === 'sync');
    expect(sync.map((p) => p.quantity)).toEqual(['output y', 'grad input dL/dx']);
    for (const p of sync) expect(p.rel).toBe(COMPARE_PLOT_FLOOR);
    expect(sync[0].relText).toBe('exact (0)');
    expect(sync[0].absText).toBe('exact (0)');
    expect(sync[1].relText).toBe('1.00e-20 (drawn at the floor)');
    for (const p of diffPoints(comparePlot(compare))) {
      expect(Number.isFinite(p.rel)).toBe(true);
      expect(p.rel as number).toBeGreaterThanOrEqual(COMPARE_PLOT_FLOOR);
    }
  });

  it('gives an empty device no point (no NaN) and says which device it is', async () => {
    expect(compareEmpty.perDevice[3].count).toBe(0);
    const spec = comparePlot(compareEmpty);
    const points = strayPoints(spec);
    expect(points.map((p) => p.rank)).toEqual([0, 0, 1, 1, 2, 2]);
    for (const p of points) expect(Number.isFinite(p.shift)).toBe(true);
    expect(JSON.stringify(spec)).not.toMatch(/NaN|null/);
    expect(JSON.stringify(spec)).toContain('no point for device 3: no rows');
    const { svg } = await renderAndCheck('compare-empty-device', spec);
    expect(xTickLabels(svg)[0]).toEqual(['0', '1', '2', '3']);
  });
});

describe('layer compare plot', () => {
  type Point = { layer: string; series: string; step: string; ratio: number; ratioText: string };
  const points = (spec: PlotSpec) => layerValues(spec).filter((v) => 'series' in v) as unknown as Point[];

  it('draws every layer in the manifest order, one point per layer of a one-step capture, the i.i.d. rule at 1', async () => {
    const spec = layerComparePlot(layerCompare);
    const values = layerValues(structuredClone(spec)); // vega tags the values it is given
    const drawn = points(structuredClone(spec));
    const { svg } = await renderAndCheck('layer-compare', spec);
    const names = layerCompare.layers.map((l) => l.name);
    expect(xTickLabels(svg)).toEqual([names]);
    expect(legends(svg)).toEqual([{ title: '', labels: ['the captured step'] }]);
    expect(values[0]).toEqual({ one: 1 });
    expect(svg).toContain('>i.i.d.</text>');
    expect(drawn.map((p) => p.layer)).toEqual(names);
    expect(drawn.map((p) => p.ratio)).toEqual(layerCompare.layers.map((l) => l.summary.noiseRatio));
    for (const p of drawn) expect(Number.isFinite(p.ratio) && p.ratio > 0).toBe(true);
    expect(JSON.stringify(spec.title)).toContain(
      'acts-deflated.npz: 1 captured step per layer, each batch split over 4 devices',
    );
  });

  it('with several steps: a hollow point per step and a filled one pooled, told apart in the legend', async () => {
    const spec = layerComparePlot(layerCompareSteps);
    const drawn = points(structuredClone(spec));
    const { svg } = await renderAndCheck('layer-compare-steps', spec);
    expect(legends(svg)).toEqual([{ title: '', labels: ['one captured step', 'pooled over the steps'] }]);
    const steps = layerCompareSteps.layers.reduce((a, l) => a + l.rows.length, 0);
    expect(steps).toBeGreaterThan(layerCompareSteps.layers.length);
    expect(drawn.filter((p) => p.series === 'one captured step')).toHaveLength(steps);
    expect(drawn.filter((p) => p.series === 'pooled over the steps').map((p) => p.layer)).toEqual(
      layerCompareSteps.layers.map((l) => l.name),
    );
  });

  it('has no point and says why with one device (no ratio), and draws a ratio of 0 at the floor', () => {
    const one = {
      ...layerCompare,
      devices: 1,
      layers: layerCompare.layers.map((l) => ({
        ...l,
        rows: l.rows.map((r) => ({ ...r, noiseRatio: null, effectiveN: null })),
        summary: { ...l.summary, noiseRatio: null, effectiveN: null, effectivePerRow: null },
      })),
    };
    const spec = layerComparePlot(one);
    expect(points(spec)).toEqual([]);
    expect(JSON.stringify(spec)).toContain('one device: nothing is split');
    const zero = {
      ...layerCompareSteps,
      layers: layerCompareSteps.layers.map((l, i) =>
        i === 0 ? { ...l, summary: { ...l.summary, noiseRatio: 0 } } : l,
      ),
    };
    const zeroSpec = layerComparePlot(zero);
    const pooled = points(zeroSpec).find((p) => p.series === 'pooled over the steps')!;
    expect(pooled.ratio).toBe(RATIO_FLOOR);
    expect(pooled.ratioText).toBe('exact (0)');
    expect(JSON.stringify(zeroSpec.title)).toContain(`ratios below ${RATIO_FLOOR} drawn at ${RATIO_FLOOR}`);
  });
});

describe('cost plot', () => {
  it('with several W: a panel per scheme, every algorithm its own colour, shape and dash', async () => {
    const spec = costPlot(costSeveral);
    const { svg } = await renderAndCheck('cost-several-w', spec);
    expect(svg).toContain("Title text 'one all-reduce per layer'");
    expect(svg).toContain("Title text 'fused all-reduces (lower bound)'");
    expect(legends(svg)).toEqual([
      { title: 'all-reduce algorithm', labels: ['ring', 'tree', 'recursive-doubling', 'allgather', 'central'] },
    ]);
    expect(xTickLabels(svg)).toEqual([
      ['2', '8', '64', '512'],
      ['2', '8', '64', '512'],
    ]);
    // Ring and central take nearly the same time per layer (both latency-bound): the subtitle says so.
    expect(JSON.stringify(spec.title)).toContain('ring ≈ central (per layer)');
  });

  it('with several W: every algorithm keeps at least 40% of its own pixels where the others run over it', async () => {
    // The per-layer panel only, no legend, a pure colour per algorithm: a pixel of that colour is
    // that series showing through. Drawn alone, each series gives the count it could show.
    type Editable = {
      data: { values: { scheme: string; algorithm: string }[] };
      spec: { encoding: { color: { scale: { range?: string[] } } } };
      config?: object;
    };
    const spec = structuredClone(costPlot(costSeveral)) as unknown as Editable;
    spec.data.values = spec.data.values.filter((v) => v.scheme === 'one all-reduce per layer');
    const colours: [number, number, number][] = [
      [255, 0, 0],
      [0, 170, 0],
      [0, 0, 255],
      [255, 0, 255],
      [0, 170, 170],
    ];
    spec.spec.encoding.color.scale.range = colours.map(([r, g, b]) => `rgb(${r},${g},${b})`);
    spec.config = { legend: { disable: true } };
    const together = decode(await renderPng(spec as unknown as PlotSpec));
    for (const [i, algorithm] of costSeveral.settings.algorithms.entries()) {
      const alone = structuredClone(spec);
      alone.data.values = spec.data.values.filter((v) => v.algorithm === algorithm);
      const own = pixelsOf(decode(await renderPng(alone as unknown as PlotSpec)), colours[i]);
      expect(own).toBeGreaterThan(300);
      const share = pixelsOf(together, colours[i]) / own;
      expect(share, algorithm).toBeGreaterThan(0.4); // 0.29 for ring with one dash and filled points
    }
  });

  it('says which times of 0 s a log axis leaves off, and draws an all-zero model on a linear one', async () => {
    const withOne = costPlot(costModel({ devices: [1, 2, 8] })) as unknown as {
      title: { subtitle: string[] };
      data: { values: { devices: number }[] };
    };
    expect(withOne.title.subtitle).toContain('times of 0 s are left off the log axis (W = 1)');
    expect(withOne.data.values.some((v) => v.devices === 1)).toBe(false);
    const free = costPlot(costModel({ devices: [2, 8], alpha: 0, beta: 0, gamma: 0 }));
    expect(axes(await renderSvg(free)).filter((a) => a.axis === 'Y')).toHaveLength(1);
    expect(
      (free as unknown as { spec: { encoding: { y: { scale: { type: string } } } } }).spec.encoding.y.scale.type,
    ).toBe('linear');
  });

  it('with a single W: a labelled bar per algorithm and scheme', async () => {
    const spec = costPlot(costSingle);
    const { svg } = await renderAndCheck('cost-single-w', spec);
    expect(svg.match(/aria-roledescription="bar"/g)).toHaveLength(2 * 5);
    expect(svg).toMatch(/>[\d.]+ms<\/text>/);
    expect(svg).toMatch(/>[\d.]+µs<\/text>/);
    expect(svg).toContain('W = 8 devices');
  });
});

describe('train plot', () => {
  it('colours by BN mode, tells per-device batches apart by dash and shape, and titles every axis', async () => {
    const { svg } = await renderAndCheck('train', trainPlot(train));
    expect(legends(svg)).toEqual([
      { title: 'BN mode', labels: ['local', 'group:2', 'sync'] },
      { title: 'per-device batch', labels: ['4', '32'] },
    ]);
    const ys = axes(svg)
      .filter((a) => a.axis === 'Y')
      .map((a) => a.title);
    expect(ys).toEqual(['cross-entropy loss', 'accuracy', 'accuracy', 'accuracy', 'accuracy']);
    expect(xTickLabels(svg)[0]).toEqual(['1', '2', '3']);
    for (const t of [
      'Training loss',
      'Training accuracy',
      'Test accuracy, running statistics',
      'Test accuracy, precise BN',
      'Test accuracy, batch statistics',
    ]) {
      expect(svg).toContain(`Title text '${t}'`);
    }
  });
});

describe('train plot, accuracies within a point of each other', () => {
  it('labels every accuracy tick differently: as many decimals as the tick step needs', async () => {
    const close = {
      ...train,
      runs: train.runs.map((run, i) => ({
        ...run,
        epochs: run.epochs.map((e, j) => ({
          ...e,
          trainAcc: 0.181 + 0.002 * i + 0.001 * j,
          testAcc: 0.12 + 0.001 * i,
          testAccPrecise: 0.125 + 0.0015 * i,
          testAccBatch: 0.11 + 0.0025 * j,
        })),
      })),
    };
    const { svg } = await renderAndCheck('train-close', trainPlot(close));
    const accuracyAxes = yTickLabels(svg).slice(1);
    expect(accuracyAxes).toHaveLength(4);
    for (const labels of accuracyAxes) {
      expect(labels.length).toBeGreaterThan(2);
      expect(new Set(labels).size, labels.join(' ')).toBe(labels.length);
    }
  });
});

describe('train plot, identical runs', () => {
  it('names modes whose curves are the same to the bit, and gives each mode its own marker size', () => {
    const sync = train.runs.filter((r) => r.bn === 'sync');
    const runs = train.runs.map((r) =>
      r.bn === 'group:2' ? { ...r, epochs: sync.find((s) => s.perDeviceBatch === r.perDeviceBatch)!.epochs } : r,
    );
    const spec = trainPlot({ ...train, runs }) as unknown as {
      title: { subtitle: string[] };
      concat: { layer: { encoding: { size?: { scale: { range: number[] } } } }[] }[];
    };
    expect(spec.title.subtitle[1]).toBe(
      'identical curves, drawn one over the other (the points nest): group:2 = sync at b 4, 32',
    );
    expect((trainPlot(train) as unknown as { title: { subtitle: string[] } }).title.subtitle).toHaveLength(1);
    const sizes = spec.concat[0].layer[1].encoding.size!.scale.range;
    expect(new Set(sizes).size).toBe(3);
  });
});

describe('renderPng', () => {
  const tiny: PlotSpec = {
    $schema: VEGA_LITE_SCHEMA,
    width: 100,
    height: 100,
    data: {
      values: [
        { x: 1, y: 1 },
        { x: 2, y: 3 },
      ],
    },
    mark: 'point',
    encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
  };

  it('scales the image and refuses a scale that is not a number > 0', async () => {
    const one = decode(await renderPng(tiny, { scale: 1 }));
    const three = decode(await renderPng(tiny, { scale: 3 }));
    expect([three.width, three.height]).toEqual([3 * one.width, 3 * one.height]);
    for (const scale of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(renderPng(tiny, { scale })).rejects.toBeInstanceOf(InputError);
    }
  });

  it('survives a mark drawn outside the canvas (resvg 2.6 would abort the process)', async () => {
    const outside: PlotSpec = {
      ...tiny,
      autosize: { type: 'none' },
      padding: 0,
      data: {
        values: [
          { x: 0.5, y: 0.5 },
          { x: 5, y: 0.5 },
        ],
      },
      mark: { type: 'point', clip: false },
      encoding: {
        x: { field: 'x', type: 'quantitative', scale: { domain: [0, 1] } },
        y: { field: 'y', type: 'quantitative', scale: { domain: [0, 1] } },
      },
    };
    expect(decode(await renderPng(outside, { scale: 1 })).width).toBe(100);
  });
});

describe('flattenOpacity', () => {
  it('moves opacity into fill-opacity and stroke-opacity, multiplying what is there', () => {
    expect(flattenOpacity('<path d="M0,0" fill="red" opacity="0.5"/>')).toBe(
      '<path d="M0,0" fill="red" fill-opacity="0.5" stroke-opacity="0.5"/>',
    );
    expect(flattenOpacity('<path fill-opacity="0.5" stroke-opacity="0.25" opacity="0.5"/>')).toBe(
      '<path fill-opacity="0.25" stroke-opacity="0.125"/>',
    );
    expect(flattenOpacity('<text x="3" opacity="0">2.5</text>')).toBe(
      '<text x="3" fill-opacity="0" stroke-opacity="0">2.5</text>',
    );
  });

  it('leaves groups, elements without opacity and fill-opacity alone', () => {
    for (const svg of [
      '<g opacity="0.3"><rect width="1"/></g>',
      '<line x2="5" fill-opacity="0.5"/>',
      '<path d="M0,0"/>',
    ]) {
      expect(flattenOpacity(svg)).toBe(svg);
    }
  });
});

/** Three BN modes at per-device batches 4 and 32 over three epochs: curves that differ by mode and batch. */
function handMadeTrainReport(): TrainReport {
  const runs: TrainRunReport[] = [];
  for (const [m, bn] of ['local', 'group:2', 'sync'].entries()) {
    for (const b of [4, 32]) {
      runs.push({
        norm: 'batch',
        bn,
        devices: 4,
        perDeviceBatch: b,
        globalBatch: 4 * b,
        lr: (4 * b) / 256,
        epochs: [1, 2, 3].map((epoch) => ({
          epoch,
          trainLoss: 2.3 / epoch + (b === 4 ? 0.3 : 0) - 0.1 * m,
          trainAcc: 0.3 + 0.15 * epoch + 0.03 * m - (b === 4 ? 0.05 : 0),
          testAcc: 0.25 + 0.12 * epoch + 0.04 * m - (b === 4 ? 0.08 : 0),
          testAccPrecise: 0.3 + 0.12 * epoch + 0.02 * m,
          testAccBatch: 0.2 + 0.1 * epoch + 0.05 * m - (b === 4 ? 0.1 : 0),
          seconds: 1,
        })),
        droppedPerEpoch: 0,
        stepsPerEpoch: 10,
        examplesPerSecond: 1000,
      });
    }
  }
  return {
    model: 'mlp',
    dataset: { name: 'synthetic', train: 1000, test: 200 },
    settings: {
      epochs: 3,
      momentum: 0,
      weightDecay: 0,
      seed: 0,
      evalStats: 'rank0',
      preciseBatches: 10,
      lrScaling: 'linear',
      bnMomentum: 0.1,
      bnEps: 1e-5,
      stats: 'sums',
    },
    runs,
  };
}
