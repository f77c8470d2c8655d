/**
 * Self-contained HTML reports: one page, no network, with every plot interactive (vega renders it
 * in the browser, with tooltips on hover, and legends whose entries single out a series on click:
 * see legend-toggle.ts) and the report's table beside it. The Vega-Lite specs are compiled to
 * Vega here, in Node, so the page inlines only the vega runtime (vega.min.js from the vega
 * package, about 500 KB) and no compiler.
 *
 * The page records what happened, for people and for the browser test: `data-charts` on the body
 * counts the charts rendered, `data-errors` holds any error or console.error, one per line.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { withLegendToggles } from './legend-toggle.js';
import type { PlotSpec } from './plot.js';

/** What one report page shows. */
export interface HtmlReportContent {
  /** The page title and heading. */
  readonly title: string;
  /** The report's text table, shown beside the charts in a monospace block. */
  readonly table: string;
  /** The plots, each rendered interactively. */
  readonly plots: readonly PlotSpec[];
}

const escapeHtml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JSON safe inside a <script> element: no `</script>` or `<!--` can end it early. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, '\\u003c');

let vegaRuntime: string | undefined;

/** The vega runtime's minified build, read once from the installed vega package. */
function vegaSource(): string {
  if (vegaRuntime === undefined) {
    // The package's exports name only its module entry (build/vega.module.js); the browser build
    // it ships (its "unpkg" file) sits beside it.
    const require = createRequire(import.meta.url);
    vegaRuntime = readFileSync(join(dirname(require.resolve('vega')), 'vega.min.js'), 'utf8');
  }
  return vegaRuntime;
}

const PAGE_SCRIPT = `
(function () {
  var errors = [];
  function note(message) { errors.push(String(message)); document.body.dataset.errors = errors.join('\\n'); }
  window.addEventListener('error', function (e) { note(e.message); });
  window.addEventListener('unhandledrejection', function (e) { note(e.reason && e.reason.message || e.reason); });
  var consoleError = console.error;
  console.error = function () { note(Array.prototype.join.call(arguments, ' ')); consoleError.apply(console, arguments); };
  var tip = document.getElementById('tooltip');
  function show(handler, event, item, value) {
    if (value == null || value === '') { tip.hidden = true; return; }
    var rows = typeof value === 'object'
      ? Object.keys(value).map(function (k) { return '<tr><th>' + esc(k) + '</th><td>' + esc(value[k]) + '</td></tr>'; }).join('')
      : '<tr><td>' + esc(value) + '</td></tr>';
    tip.innerHTML = '<table>' + rows + '</table>';
    tip.hidden = false;
    tip.style.left = (event.clientX + 14) + 'px';
    tip.style.top = (event.clientY + 14) + 'px';
  }
  function esc(v) { return String(v).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }
  var specs = JSON.parse(document.getElementById('specs').textContent);
  var rendered = 0;
  document.body.dataset.charts = '0';
  // The selections legends drive keep their picks in datasets named *_store: emptying them shows every series again.
  function addShowAll(view, spec, i) {
    var stores = (spec.data || []).map(function (d) { return d.name; }).filter(function (n) { return /_store$/.test(n); });
    if (stores.length === 0) return;
    var button = document.createElement('button');
    button.type = 'button';
    button.className = 'show-all';
    button.textContent = 'Show every series';
    button.addEventListener('click', function () {
      stores.forEach(function (name) { view.data(name, []); });
      view.runAsync();
    });
    document.getElementById('chart-' + i).after(button);
  }
  Promise.all(specs.map(function (spec, i) {
    var view = new vega.View(vega.parse(spec), { renderer: 'svg', container: '#chart-' + i, hover: true });
    view.tooltip(show);
    addShowAll(view, spec, i);
    return view.runAsync().then(function () { rendered++; document.body.dataset.charts = String(rendered); });
  })).then(function () { document.body.dataset.done = 'yes'; }, function (e) { note(e && e.message || e); document.body.dataset.done = 'yes'; });
})();
`;

/**
 * Builds a self-contained HTML page for a report.
 * @param content - the title, the text table and the plots.
 * @returns the page, ready to write to a file (UTF-8).
 * @throws Error when a spec does not compile (a bug in a plot builder, never the user's input).
 * @example
 * ```ts
 * const page = await htmlReport({ title: 'noise', table: noiseTable(report), plots: [noisePlot(report)] });
 * ```
 */
export async function htmlReport(content: HtmlReportContent): Promise<string> {
  const { compile } = await import('vega-lite');
  const specs = content.plots.map((plot) => compile(withLegendToggles(plot)).spec);
  const charts = specs.map((_, i) => `<div class="chart" id="chart-${i}"></div>`).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(content.title)}</title>
<style>
h1 { font-size: 1.3rem; }
.hint { color: #555; font-size: 0.9rem; margin-top: -0.5rem; }
.show-all { display: block; margin: 0.25rem 0 1rem; }
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; background: #fff; }
main { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.chart { border: 1px solid #ddd; padding: 0.5rem; background: #fff; }
pre { font-size: 12px; background: #f7f7f7; padding: 0.75rem; overflow-x: auto; max-width: 100%; }
#tooltip { position: fixed; pointer-events: none; background: #fff; border: 1px solid #999; padding: 4px 6px; font-size: 12px; box-shadow: 0 1px 4px rgba(0,0,0,.2); }
#tooltip th { text-align: left; padding-right: 8px; color: #555; font-weight: normal; }
</style>
</head>
<body>
<h1>${escapeHtml(content.title)}</h1>
<p class="hint">Hover a point for its figures. Click a legend entry to single out that series and shift-click to add another; the button under the chart shows every series again.</p>
<main>
<section class="charts">
${charts}
</section>
<section class="table"><pre>${escapeHtml(content.table)}</pre></section>
</main>
<div id="tooltip" hidden></div>
<script id="specs" type="application/json">${scriptJson(specs)}</script>
<script>${vegaSource().replace(/<\/script/gi, '<\\/script')}</script>
<script>${PAGE_SCRIPT}</script>
</body>
</html>
`;
}
