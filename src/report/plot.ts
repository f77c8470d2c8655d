/**
 * Plots: a Vega-Lite spec compiled and rendered to SVG with vega (no native canvas needed). The
 * spec is saved beside the SVG (FILE.vl.json) so that a user can restyle it in any Vega editor.
 */
import { dirname, basename, extname } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { InputError } from '../errors.js';
import { writeFilesAtomically } from '../io/atomic-write.js';

export type PlotSpec = TopLevelSpec;

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export async function renderSvg(spec: PlotSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Checks a --plot path before any work starts: it must name an .svg file. */
export function checkPlotPath(path: string): void {
  if (extname(path).toLowerCase() !== '.svg') throw new InputError(`--plot must name an .svg file, got '${path}'`);
}

/** Writes FILE.svg and FILE.vl.json together, whole or not at all. Returns the paths written. */
export async function writePlot(path: string, spec: PlotSpec): Promise<string[]> {
  checkPlotPath(path);
  const svg = await renderSvg(spec);
  const stem = basename(path, extname(path));
  return writeFilesAtomically(dirname(path), [
    { name: basename(path), bytes: svg },
    { name: `${stem}.vl.json`, bytes: `${JSON.stringify(spec, null, 2)}\n` },
  ]);
}
