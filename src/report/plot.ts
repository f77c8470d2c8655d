/**
 * Plots: a Vega-Lite spec compiled and rendered to SVG with vega (no native canvas needed), and
 * from SVG to PNG with resvg (a Rust renderer shipped prebuilt inside its npm package). The spec
 * is saved beside the SVG (FILE.vl.json) so that a user can restyle it in any Vega editor.
 */
import { dirname, basename, extname } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { InputError } from '../errors.js';
import { type NamedInput, type PlacedOutputFile, checkOutputTargets } from '../io/atomic-write.js';
import { flattenOpacity } from './flatten-opacity.js';

/** A top-level Vega-Lite spec, as every plot builder in src/report/plots returns. */
export type PlotSpec = TopLevelSpec;

/** The Vega-Lite schema every spec names (vega-lite 6). */
export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * Renders a Vega-Lite spec to an SVG document.
 * @param spec the Vega-Lite spec
 * @returns the SVG text, starting with `<svg`
 */
export async function renderSvg(spec: PlotSpec): Promise<string> {
  // Loaded on first use: vega and vega-lite take about a third of a second to load, which every
  // command that draws nothing (and every test that starts the CLI) would otherwise pay.
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Options of {@link renderPng}. */
export interface PngOptions {
  /** Pixels per SVG unit; default 2, sharp on high-density screens and in print. */
  readonly scale?: number;
}

/**
 * Renders a Vega-Lite spec to a PNG image: the SVG of {@link renderSvg}, rasterized by resvg on a
 * white background with the system's fonts (vega writes `font-family="sans-serif"`; resvg maps it
 * to DejaVu Sans and falls back to any installed font that has the glyphs). Opacity is moved onto
 * fill and stroke first, so that a mark outside the canvas cannot abort the process (see
 * flatten-opacity.ts).
 * @param spec the Vega-Lite spec
 * @param options see {@link PngOptions}
 * @returns the PNG file's bytes
 * @throws InputError when `scale` is not a finite number > 0
 */
export async function renderPng(spec: PlotSpec, options: PngOptions = {}): Promise<Buffer> {
  const scale = options.scale ?? 2;
  if (!(Number.isFinite(scale) && scale > 0))
    throw new InputError(`renderPng: scale must be a finite number > 0, got ${String(scale)}`);
  const svg = flattenOpacity(await renderSvg(spec));
  // Loaded on first use: the native binding costs a few hundred ms that SVG-only runs need not pay.
  const { renderAsync } = await import('@resvg/resvg-js');
  const image = await renderAsync(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    logLevel: 'off',
  });
  return image.asPng();
}

/** The two files a plot writes: FILE.svg and FILE.vl.json beside it. */
function plotFiles(path: string): { dir: string; svg: string; spec: string } {
  return { dir: dirname(path), svg: basename(path), spec: `${basename(path, extname(path))}.vl.json` };
}

/**
 * Checks a --plot path before any work starts: it must name an .svg file, and neither it nor its
 * .vl.json may be a directory or one of the command's `inputs`.
 * @param path - the .svg file asked for.
 * @param inputs - the command's input files, which no output may overwrite; default none.
 * @throws InputError when it does not end in .svg, or names a directory or an input
 */
export function checkPlotPath(path: string, inputs: readonly NamedInput[] = []): void {
  if (extname(path).toLowerCase() !== '.svg') throw new InputError(`--plot must name an .svg file, got '${path}'`);
  const { dir, svg, spec } = plotFiles(path);
  checkOutputTargets(dir, [svg, spec], inputs);
}

/**
 * The files `--plot FILE.svg` writes: the SVG and, beside it, the Vega-Lite spec (FILE.vl.json).
 * @param path the .svg file asked for
 * @param spec the plot
 * @returns both files, rendered, with their directory
 */
export async function plotOutputFiles(path: string, spec: PlotSpec): Promise<PlacedOutputFile[]> {
  const files = plotFiles(path);
  return [
    { dir: files.dir, name: files.svg, bytes: await renderSvg(spec) },
    { dir: files.dir, name: files.spec, bytes: `${JSON.stringify(spec, null, 2)}\n` },
  ];
}
