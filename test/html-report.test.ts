/**
 * `--html FILE`: one self-contained page per report, checked as text (no network, the table,
 * script-safe specs) and in a real browser: headless Chromium (Debian's `chromium`, which
 * .ci/apt-packages installs) opens every report kind in one launch (an index page frames them all:
 * a Chromium start costs seconds on a loaded machine) and the test checks that each page rendered
 * its chart with no error or console.error, that the charts hold marks, that a click on a legend
 * entry fades the other series and the page's "Show every series" button brings them back, and
 * that a screenshot is not blank. Without Chromium the browser test is skipped, and says so.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import type { SweepReport } from '../src/experiments/sweep.js';
import { compile } from 'vega-lite';
import { htmlReport } from '../src/report/html.js';
import { FADED_OPACITY, withLegendToggles } from '../src/report/legend-toggle.js';
import type { PlotSpec } from '../src/report/plot.js';
import { sweepPlot } from '../src/report/plots/sweep-plot.js';
import { sweepTable } from '../src/report/tables/sweep-table.js';
import { ROOT, runMain, tempDir } from './helpers.js';

const CHROMIUM = ['chromium', 'chromium-browser'].find((name) => spawnSync('which', [name]).status === 0);
if (!CHROMIUM)
  console.warn(
    'html-report.test.ts: the browser test was skipped: chromium is not installed (apt-get install chromium)',
  );

/** A sweep report built by hand: the page's rendering is under test here, not training. */
function sweepReport(): SweepReport {
  const row = (bn: string, b: number, acc: number, ci: number | null) => ({
    bn,
    norm: 'batch',
    perDeviceBatch: b,
    devices: 8,
    seeds: 3,
    trainAccMean: acc + 0.02,
    trainAccCi95: ci,
    testAccMean: acc,
    testAccCi95: ci,
    gapVsSync: null,
    lrScaling: 'none' as const,
    lr: 1,
    testAccPreciseMean: acc + 0.01,
    testAccPreciseCi95: ci,
    testAccBatchMean: acc - 0.05,
    testAccBatchCi95: ci,
    testAccBySeed: [acc - 0.01, acc, acc + 0.01],
    diverged: 0,
  });
  return {
    settings: {
      model: 'lenet-bn',
      dataset: 'synthetic',
      subset: null,
      epochs: 1,
      steps: null,
      lr: 1,
      momentum: 0,
      weightDecay: 0,
      stats: 'sums',
      evalStats: 'rank0',
      preciseBatches: 10,
      seed: 0,
      seeds: 3,
    },
    trained: 6,
    reused: 0,
    rows: [
      row('local', 2, 0.6, 0.05),
      row('sync', 2, 0.75, 0.02),
      row('local', 8, 0.78, 0.02),
      row('sync', 8, 0.8, 0.01),
    ],
  };
}

describe('html reports as text', () => {
  it('are self-contained, carry the table, and keep </script> in data from ending a script', async () => {
    const report = sweepReport();
    const page = await htmlReport({
      title: 'a </script><b>title',
      table: sweepTable(report),
      plots: [sweepPlot(report)],
    });
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page).not.toMatch(/<(script|link|img)[^>]+(src|href)=["']?https?:/i);
    expect(page).toContain('local  batch  8  2');
    expect(page).toContain('<title>a &lt;/script&gt;&lt;b&gt;title</title>');
    // Only the page's three script elements close: no data or library text ends one early.
    expect(page.match(/<\/script>/gi)).toHaveLength(3);
    expect(page.length).toBeGreaterThan(400_000); // vega is inlined
  });

  it('--html refuses a path that is not .html, naming it', async () => {
    const r = await runMain(['cost', '--devices', '8', '--html', join(tempDir(), 'x.htm')]);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toMatch(/--html must name an \.html file, got '.*x\.htm'$/);
  });
});

describe('legend toggles', () => {
  const spec = (color: Record<string, unknown>) =>
    ({
      data: { values: [{ x: 1, y: 2, mode: 'sync' }] },
      encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' }, color },
      layer: [
        { mark: 'line' },
        { mark: { type: 'point', filled: true } },
        { mark: 'rule', encoding: { color: { value: 'grey' } } },
        // Drawn in black but tied to its series by `detail`, as precision's rings are.
        { mark: 'text', encoding: { color: { value: 'black' }, detail: { field: 'mode', type: 'nominal' } } },
      ],
    }) as unknown as PlotSpec;

  it('bind one selection to the legend and fade every series drawn by its field, keeping each mark its own opacity', () => {
    const out = withLegendToggles(spec({ field: 'mode', type: 'nominal' })) as unknown as {
      layer: { params?: unknown[]; encoding?: { opacity?: unknown } }[];
    };
    expect(out.layer[0].params).toEqual([
      { name: 'legend_0', select: { type: 'point', fields: ['mode'], clear: false }, bind: 'legend' },
    ]);
    expect(out.layer[1].params).toBeUndefined();
    expect(out.layer[0].encoding?.opacity).toEqual({
      condition: { param: 'legend_0', value: 1 },
      value: FADED_OPACITY,
    });
    expect(out.layer[1].encoding?.opacity).toEqual({
      condition: { param: 'legend_0', value: 0.7 },
      value: FADED_OPACITY,
    });
    // The grey rule is not a series: it keeps its colour and opacity. The black text is its series'.
    expect(out.layer[2].encoding?.opacity).toBeUndefined();
    expect(out.layer[3].encoding?.opacity).toEqual({
      condition: { param: 'legend_0', value: 1 },
      value: FADED_OPACITY,
    });
    expect(() => compile(out as unknown as PlotSpec)).not.toThrow();
  });

  it('a legend of shapes is bound too, and a mark drawn by two legends shows when both keep it', () => {
    const twoLegends = {
      data: { values: [{ x: 1, y: 2, mode: 'sync', b: 2 }] },
      encoding: {
        x: { field: 'x', type: 'quantitative' },
        y: { field: 'y', type: 'quantitative' },
        color: { field: 'mode', type: 'nominal' },
        shape: { field: 'b', type: 'nominal' },
      },
      mark: 'point',
    } as unknown as PlotSpec;
    const out = withLegendToggles(twoLegends) as unknown as {
      params: { name: string }[];
      encoding: { opacity: unknown };
    };
    expect(out.params.map((p) => p.name)).toEqual(['legend_0', 'legend_1']);
    expect(out.encoding.opacity).toEqual({
      condition: { test: { and: [{ param: 'legend_0' }, { param: 'legend_1' }] }, value: 0.7 },
      value: FADED_OPACITY,
    });
    expect(() => compile(out as unknown as PlotSpec)).not.toThrow();
  });

  it('leave a spec with its own params, or with no colour legend, as it is', () => {
    const own = { ...sweepPlot(sweepReport()) };
    expect(withLegendToggles(own)).toBe(own);
    const hidden = spec({ field: 'mode', type: 'nominal', legend: null });
    expect(withLegendToggles(hidden)).toBe(hidden);
    const quantitative = spec({ field: 'y', type: 'quantitative' });
    expect(withLegendToggles(quantitative)).toBe(quantitative);
  });
});

describe('--png FILE', () => {
  it('renders the plot to a PNG that is not blank, and refuses another extension', async () => {
    const path = join(tempDir(), 'cost.png');
    const r = await runMain(['cost', '--devices', '2,8', '--png', path]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`image written to ${path}`);
    const image = PNG.sync.read(readFileSync(path));
    expect(image.width).toBeGreaterThan(400);
    let ink = 0;
    for (let i = 0; i < image.data.length; i += 4)
      if (image.data[i] + image.data[i + 1] + image.data[i + 2] < 3 * 235) ink++;
    expect(ink / (image.width * image.height)).toBeGreaterThan(0.01);
    const bad = await runMain(['cost', '--devices', '8', '--png', join(tempDir(), 'cost.jpg')]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--png must name a \.png file, got '.*cost\.jpg'/);
  });
});

describe.skipIf(!CHROMIUM)('html reports in headless Chromium', () => {
  it('every report kind loads with no error, renders its chart with marks, and the screenshot is not blank', async () => {
    const dir = tempDir('syncbn-html-');
    const kinds: Record<string, string[]> = {
      compare: ['compare', '--devices', '8', '--shape', '64,4,2,2', '--threads', '1'],
      'compare-layers': ['compare', '--input', join(ROOT, 'test', 'fixtures', 'npz', 'acts-deflated.npz')],
      'cost-model': ['cost', '--model', 'resnet50', '--per-gpu-batch', '32', '--nodes', '1,4', '--simulate'],
      semantics: ['semantics', '--cases', 'uneven,empty'],
      cost: ['cost', '--devices', '2,8,64'],
      noise: ['noise', '--batch-sizes', '2,8', '--devices', '2', '--threads', '1', '--trials', '10', '--channels', '2'],
      precision: [
        'precision',
        '--rows',
        '16',
        '--channels',
        '2',
        '--devices',
        '2',
        '--threads',
        '1',
        '--trials',
        '1',
        '--dtype',
        'float32',
      ],
      layers: [
        'noise',
        '--input',
        join(ROOT, 'test', 'fixtures', 'npz', 'acts-deflated.npz'),
        '--batch-sizes',
        '2,4',
        '--devices',
        '2',
        '--threads',
        '1',
        '--trials',
        '10',
      ],
      train: [
        'train',
        '--model',
        'mlp',
        '--subset',
        '64',
        '--devices',
        '2',
        '--threads',
        '1',
        '--per-device-batch',
        '4',
        '--epochs',
        '1',
        '--precise-batches',
        '1',
        '--json',
      ],
    };
    for (const [kind, args] of Object.entries(kinds)) {
      const r = await runMain([...args, '--html', join(dir, `${kind}.html`)]);
      expect(r.status, `${kind}: ${r.stderr}`).toBe(0);
    }
    const report = sweepReport();
    writeFileSync(
      join(dir, 'sweep.html'),
      await htmlReport({ title: 'sweep', table: sweepTable(report), plots: [sweepPlot(report)] }),
    );
    const names = [...Object.keys(kinds), 'sweep'];
    // The index frames every report and writes what each one recorded into its own body.
    const index = `<!DOCTYPE html><html><body>${names.map((n) => `<iframe id="${n}" src="${n}.html" width="1300" height="700"></iframe>`).join('')}
<script>
// Marks drawn faded (legend entries excepted): a click on a legend entry must add some.
function faded(doc) {
  return Array.prototype.filter.call(doc.querySelectorAll('svg [opacity]'), function (el) {
    return !el.closest('.role-legend') && Number(el.getAttribute('opacity')) < 0.15;
  }).length;
}
var toggled = {};
function clickLegend(name, doc) {
  var before = faded(doc);
  var entries = doc.querySelectorAll('.role-legend-symbol path');
  if (entries.length < 2) { toggled[name] = 'single'; return; }
  var entry = entries[0];
  entry.dispatchEvent(new MouseEvent('click', { bubbles: true, clientX: 1, clientY: 1 }));
  setTimeout(function () {
    var after = faded(doc);
    // The page's button shows every series again.
    var showAll = doc.querySelector('button.show-all');
    if (!showAll) { toggled[name] = before + '-' + after + '-no-button'; return; }
    showAll.click();
    setTimeout(function () { toggled[name] = before + '-' + after + '-' + faded(doc); }, 400);
  }, 400);
}
function check() {
  var states = ${JSON.stringify(names)}.map(function (n) {
    var doc = document.getElementById(n).contentDocument;
    var body = doc && doc.body;
    if (!body || body.dataset.done !== 'yes') return null;
    if (!(n in toggled)) { toggled[n] = null; clickLegend(n, doc); }
    if (toggled[n] === null) return null;
    return n + '=' + body.dataset.charts + '/' + doc.querySelectorAll('svg path, svg line, svg rect').length + '/' + (body.dataset.errors ? encodeURIComponent(body.dataset.errors) : 'ok') + '/' + toggled[n];
  });
  if (states.every(function (s) { return s; })) document.body.dataset.summary = states.join(';');
  else setTimeout(check, 50);
}
window.addEventListener('load', check);
</script></body></html>`;
    writeFileSync(join(dir, 'index.html'), index);
    const png = join(dir, 'shot.png');
    const dom = await new Promise<string>((resolve) => {
      const child = spawn(CHROMIUM as string, [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--allow-file-access-from-files',
        '--hide-scrollbars',
        '--virtual-time-budget=30000',
        '--window-size=1300,3600',
        `--screenshot=${png}`,
        '--dump-dom',
        `file://${join(dir, 'index.html')}`,
      ]);
      let out = '';
      child.stdout.on('data', (d) => {
        out += String(d);
      });
      child.on('exit', () => resolve(out));
    });
    const summary = /data-summary="([^"]*)"/.exec(dom)?.[1];
    expect(summary, 'the index page recorded no summary: a report did not finish').toBeDefined();
    const states = Object.fromEntries((summary ?? '').split(';').map((s) => s.split('=') as [string, string]));
    for (const name of names) {
      const [charts, marks, errors, toggle] = (states[name] ?? '').split('/');
      expect(decodeURIComponent(errors ?? ''), name).toBe('ok');
      expect(charts, name).toBe('1');
      expect(Number(marks), name).toBeGreaterThan(20);
      // A click on the first legend entry fades the other series: more faded marks than before.
      // One step per layer in the captured fixture leaves compare's layer plot with one series.
      if (name === 'compare-layers') {
        expect(toggle, name).toBe('single');
        continue;
      }
      const [before, after, reset] = (toggle ?? '').split('-').map(Number);
      expect(after, `${name}: faded marks before and after a legend click: ${toggle}`).toBeGreaterThan(before);
      expect(reset, `${name}: faded marks after "Show every series": ${toggle}`).toBe(before);
    }
    const image = PNG.sync.read(readFileSync(png));
    let ink = 0;
    const colours = new Set<number>();
    for (let i = 0; i < image.data.length; i += 4) {
      const [r, g, b] = [image.data[i], image.data[i + 1], image.data[i + 2]];
      if (r + g + b < 3 * 235) ink++;
      colours.add((r >> 4) * 256 + (g >> 4) * 16 + (b >> 4));
    }
    expect(ink / (image.width * image.height)).toBeGreaterThan(0.01);
    expect(colours.size).toBeGreaterThan(20);
  }, 120_000);
});
