/**
 * Plots: a Vega-Lite spec compiled and rendered to SVG with vega (no native canvas needed). The
 * spec is saved beside the SVG (FILE.vl.json) so that a user can restyle it in any Vega editor.
 */
import { dirname, basename, extname } from 'node:path';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { InputError } from '../errors.js';
import { type AtomicWriteOptions, type NamedInput, checkOutputTargets, writeFilesAtomically } from '../io/atomic-write.js';

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

/** The two files a plot writes: FILE.svg and FILE.vl.json beside it. */
function plotFiles(path: string): { dir: string; svg: string; spec: string } {
  return { dir: dirname(path), svg: basename(path), spec: `${basename(path, extname(path))}.vl.json` };
}

/**
 * Checks a --plot path before any work starts: it must name an .svg file, and neither it nor its
 * .vl.json may be a directory or one of the command's `inputs`.
 */
export function checkPlotPath(path: string, inputs: readonly NamedInput[] = []): void {
  if (extname(path).toLowerCase() !== '.svg') throw new InputError(`--plot must name an .svg file, got '${path}'`);
  const { dir, svg, spec } = plotFiles(path);
  checkOutputTargets(dir, [svg, spec], inputs);
}

/** Writes FILE.svg and FILE.vl.json together, whole or not at all. Returns the paths written. */
export async function writePlot(path: string, spec: PlotSpec, options: AtomicWriteOptions = {}): Promise<string[]> {
  checkPlotPath(path, options.inputs);
  const svg = await renderSvg(spec);
  const files = plotFiles(path);
  const { written } = await writeFilesAtomically(
    files.dir,
    [
      { name: files.svg, bytes: svg },
      { name: files.spec, bytes: `${JSON.stringify(spec, null, 2)}\n` },
    ],
    options,
  );
  return written;
}
