/** `syncbn-sim report RESULT.json --out FILE.html`: a saved result drawn again, as the command that made it would. */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { InputError } from '../errors.js';
import { readInputFile } from '../io/read-input-file.js';
import { readSavedResult } from '../report/saved-result.js';
import { checkOutputPath, checkReportFlags, writePlotOutputs } from './report-output.js';

interface ReportCommandFlags {
  out?: string;
  html?: string;
  png?: string;
  plot?: string;
}

/**
 * Registers `syncbn-sim report`.
 * @param program - the CLI program.
 */
export function addReportCommand(program: Command): void {
  program
    .command('report')
    .description(
      "a saved --json result (compare, noise, precision, cost, train, sweep) drawn again: the same page --html writes, or the plot's PNG or SVG",
    )
    .argument('<result.json>', "what an experiment printed with --json ('-': read it from standard input)")
    .addOption(
      new Option('--out <file.html>', 'the self-contained page: the plot, interactive, beside the table').conflicts(
        'html',
      ),
    )
    .option('--html <file.html>', 'the same as --out, as the experiments name it')
    .option('--png <file.png>', 'the plot as a PNG image (2 pixels per point, white background)')
    .option('--plot <file.svg>', 'the plot as an SVG (its Vega-Lite spec goes beside it)')
    .action(async (path: string, flags: ReportCommandFlags) => {
      flags.out ??= flags.html;
      if (!flags.out && !flags.png && !flags.plot)
        throw new InputError('report needs --out FILE.html (or --png FILE.png, --plot FILE.svg): what to write');
      const outputs = { html: flags.out, png: flags.png, plot: flags.plot };
      const inputs = path === '-' ? [] : [{ path, what: 'result' }];
      if (flags.out) checkOutputPath('--out', '.html', flags.out, inputs);
      checkReportFlags({ png: flags.png, plot: flags.plot }, inputs);
      // '-' reads the result from standard input: `syncbn-sim noise --json | syncbn-sim report - --out x.html`.
      const name = path === '-' ? 'standard input' : path;
      const bytes = path === '-' ? readStandardInput() : readInputFile(path, path);
      const saved = readSavedResult(utf8(bytes, name), name);
      const written = await writePlotOutputs(
        outputs,
        () => saved.table,
        () => saved.plot,
        inputs,
      );
      process.stdout.write(
        `${name}: the --json of syncbn-sim ${saved.command}\n${written.map((l) => `${l}\n`).join('')}`,
      );
    });
}

/** Everything on standard input, refused in one line when it cannot be read. */
function readStandardInput(): Uint8Array {
  try {
    return readFileSync(0);
  } catch (err) {
    throw new InputError(`standard input: cannot read it (${(err as Error).message})`);
  }
}

/** The file's bytes as text, refused in one line when they are not UTF-8. */
function utf8(bytes: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new InputError(`${path}: not a saved result: not UTF-8 text`);
  }
}
