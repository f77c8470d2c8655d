/**
 * The output options every experiment command shares: a table by default, `--json` or `--csv`
 * on stdout instead, and `--plot FILE.svg` (plus FILE.vl.json) on request.
 */
import type { Command } from 'commander';
import { toCsv } from '../report/csv.js';
import { type PlotSpec, checkPlotPath, writePlot } from '../report/plot.js';

export interface ReportFlags {
  json?: boolean;
  csv?: boolean;
  plot?: string;
}

export function addReportOptions(command: Command): Command {
  return command
    .option('--json', 'print the results as JSON instead of a table')
    .option('--csv', 'print the result rows as CSV instead of a table')
    .option('--plot <file.svg>', 'also draw the results to an SVG (the Vega-Lite spec goes beside it)');
}

/** Refuses bad output options before any work starts. */
export function checkReportFlags(flags: ReportFlags): void {
  if (flags.plot) checkPlotPath(flags.plot);
}

/** Prints the report in the chosen form, then writes the plot if asked. */
export async function emitReport(
  flags: ReportFlags,
  report: { rows: readonly object[] },
  table: () => string,
  plot: () => PlotSpec,
): Promise<void> {
  let text: string;
  if (flags.json) text = `${JSON.stringify(report, null, 2)}\n`;
  else if (flags.csv) text = toCsv(report.rows);
  else text = `${table()}\n`;
  if (flags.plot) {
    const written = await writePlot(flags.plot, plot());
    if (!flags.json && !flags.csv) text += `plot written to ${written.join(' and ')}\n`;
  }
  process.stdout.write(text);
}
