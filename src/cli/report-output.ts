/**
 * The output options every experiment command shares: a table by default, `--json` or `--csv`
 * on stdout instead, `--plot FILE.svg` (plus FILE.vl.json) and `--html FILE.html` (one
 * self-contained page: the plot, interactive, beside the table) and `--png FILE.png` on request.
 */
import { type Command, Option } from 'commander';
import { basename, dirname, extname, join } from 'node:path';
import { InputError } from '../errors.js';
import {
  type NamedInput,
  type PlacedOutputFile,
  checkOutputTargets,
  writePlacedFilesAtomically,
} from '../io/atomic-write.js';
import { htmlReport } from '../report/html.js';
import { toCsv } from '../report/csv.js';
import { type PlotSpec, checkPlotPath, plotOutputFiles, renderPng } from '../report/plot.js';
import { interruptibleWrite } from './interruptible-write.js';

/** The output flags as commander parses them. */
export interface ReportFlags {
  /** --json: the whole report as JSON on stdout. */
  json?: boolean;
  /** --csv: the report's rows as CSV on stdout. */
  csv?: boolean;
  /** --plot FILE.svg: also write the plot and its Vega-Lite spec. */
  plot?: string;
  /** --html FILE.html: also write a self-contained page with the plot (interactive) and the table. */
  html?: string;
  /** --png FILE.png: also render the plot to PNG. */
  png?: string;
}

/**
 * Adds --json, --csv (which exclude each other), --plot, --html and --png.
 *
 * @param command - the experiment's command.
 * @returns the same command, for chaining.
 */
export function addReportOptions(command: Command): Command {
  return addPlotOptions(
    command
      .addOption(new Option('--json', 'print the results as JSON instead of a table').conflicts('csv'))
      .addOption(new Option('--csv', 'print the result rows as CSV instead of a table').conflicts('json')),
  );
}

/**
 * Adds --plot, --html and --png: the outputs drawn from a report, for a command that prints its
 * own text.
 *
 * @param command - the experiment's command.
 * @returns the same command, for chaining.
 */
export function addPlotOptions(command: Command): Command {
  return command
    .option('--plot <file.svg>', 'also draw the results to an SVG (the Vega-Lite spec goes beside it)')
    .option(
      '--html <file.html>',
      'also write one self-contained page: the plot, interactive (tooltips on hover, a series singled out from the legend), beside the table',
    )
    .option('--png <file.png>', 'also render the plot to a PNG image (2 pixels per point, white background)');
}

/**
 * Refuses bad output options before any work starts; the plot may not overwrite any of `inputs`.
 *
 * @param flags - the parsed flags.
 * @param inputs - the command's input files; default none.
 * @throws InputError for a --plot path that is not .svg, an --html path that is not .html, or
 *   either naming a directory or an input.
 */
export function checkReportFlags(flags: ReportFlags, inputs: readonly NamedInput[] = []): void {
  if (flags.plot) checkPlotPath(flags.plot, inputs);
  if (flags.html) checkOutputPath('--html', '.html', flags.html, inputs);
  if (flags.png) checkOutputPath('--png', '.png', flags.png, inputs);
}

/**
 * Refuses an output file before any work: it must have the extension, and be neither a
 * directory nor one of the inputs.
 * @param flag - the flag that names it, for the message ('--html').
 * @param extension - '.html' or '.png'.
 * @param path - the file.
 * @param inputs - the command's input files.
 * @throws InputError naming the flag and the path.
 */
export function checkOutputPath(flag: string, extension: string, path: string, inputs: readonly NamedInput[]): void {
  if (extname(path).toLowerCase() !== extension)
    throw new InputError(`${flag} must name ${extension === '.html' ? 'an' : 'a'} ${extension} file, got '${path}'`);
  checkOutputTargets(dirname(path), [basename(path)], inputs);
}

/** The title of a plot's page: the plot's own title. */
function plotTitle(spec: PlotSpec): string {
  const title = (spec as { title?: string | { text?: string | string[] } }).title;
  const text = typeof title === 'string' ? title : title?.text;
  return (Array.isArray(text) ? text.join(' ') : text) ?? 'syncbn-sim report';
}

/**
 * Prints the report in the chosen form, then writes the plot if asked. The table and plot are
 * built only when asked for.
 *
 * @param flags - the parsed flags.
 * @param report - the report as its JSON; `rows` are what --csv prints.
 * @param table - builds the table, printed without --json or --csv.
 * @param plot - builds the plot's spec, with --plot, --html or --png.
 * @param inputs - the command's input files, which the plot may not overwrite; default none.
 * @throws OutputWriteError when the plot cannot be written; InterruptedError after Ctrl-C.
 */
export async function emitReport(
  flags: ReportFlags,
  report: { rows: readonly object[] },
  table: () => string,
  plot: () => PlotSpec,
  inputs: readonly NamedInput[] = [],
): Promise<void> {
  let text: string;
  if (flags.json) text = `${JSON.stringify(report, null, 2)}\n`;
  else if (flags.csv) text = toCsv(report.rows);
  else text = `${table()}\n`;
  const written = await writePlotOutputs(flags, table, plot, inputs);
  if (!flags.json && !flags.csv) text += written.map((line) => `${line}\n`).join('');
  process.stdout.write(text);
}

/**
 * Writes what --plot, --html and --png ask for, all of them or none: every file is rendered
 * first, then they are written in one all-or-nothing commit (Ctrl-C or a failure at any point
 * leaves none of them).
 *
 * @param flags - the parsed flags.
 * @param table - builds the table the HTML page shows beside the plot.
 * @param plot - builds the plot's spec.
 * @param inputs - the command's input files, which no output may overwrite; default none.
 * @returns one line per output written ('plot written to ...'), for the command to print.
 * @throws OutputWriteError when a file cannot be written; InterruptedError after Ctrl-C.
 */
export async function writePlotOutputs(
  flags: ReportFlags,
  table: () => string,
  plot: () => PlotSpec,
  inputs: readonly NamedInput[] = [],
): Promise<string[]> {
  if (!flags.plot && !flags.html && !flags.png) return [];
  const spec = plot();
  const files: PlacedOutputFile[] = [];
  const lines: string[] = [];
  const place = (path: string, bytes: string | Uint8Array) =>
    files.push({ dir: dirname(path), name: basename(path), bytes });
  if (flags.plot) {
    const svg = await plotOutputFiles(flags.plot, spec);
    files.push(...svg);
    lines.push(`plot written to ${svg.map((f) => join(f.dir, f.name)).join(' and ')}`);
  }
  if (flags.html) {
    place(flags.html, await htmlReport({ title: plotTitle(spec), table: table(), plots: [spec] }));
    lines.push(`report written to ${flags.html}`);
  }
  if (flags.png) {
    place(flags.png, await renderPng(spec));
    lines.push(`image written to ${flags.png}`);
  }
  await interruptibleWrite((hooks) => writePlacedFilesAtomically(files, { ...hooks, inputs }));
  return lines;
}
