/** `syncbn-sim run`: batch norm on the user's .npy files, outputs written whole or not at all. */
import { type Command, Option } from 'commander';
import { STATS_METHODS, type StatsMethod } from '../bn/batch-moments.js';
import type { Accumulator } from '../bn/moments.js';
import type { RunningConvention } from '../bn/running-stats.js';
import { loadRunInputs, runBatchNorm, runOutputFiles, runStatsJson } from '../experiments/run.js';
import { writeFilesAtomically } from '../io/atomic-write.js';
import { renderTable } from '../report/table.js';
import { oneOf, parseFiniteNumber } from './parse.js';

interface RunFlags {
  input: string;
  gradOutput?: string;
  weight?: string;
  bias?: string;
  runningMean?: string;
  runningVar?: string;
  eval?: boolean;
  momentum?: number;
  eps: number;
  stats: StatsMethod;
  accumulator: Accumulator;
  convention: RunningConvention;
  out: string;
  json?: boolean;
}

/** How many channels the terminal summary lists before it elides the rest. */
const CHANNELS_SHOWN = 8;

export function addRunCommand(program: Command): void {
  program
    .command('run')
    .description('batch norm (forward, optional backward, running statistics) on your own .npy arrays')
    .requiredOption('--input <file>', 'input activations, [N,C] or [N,C,H,W] float32/float64 .npy')
    .option('--grad-output <file>', 'dL/dy, same shape as the input: also computes the gradients')
    .option('--weight <file>', 'gamma, [C] (default ones)')
    .option('--bias <file>', 'beta, [C] (default zeros)')
    .option('--running-mean <file>', 'running mean before the step, [C] (default zeros)')
    .option('--running-var <file>', 'running variance before the step, [C] (default ones)')
    .option('--eval', 'normalize with the running statistics instead of the batch statistics')
    .option('--momentum <m>', 'running-stats momentum in [0, 1] (default 0.1; 0.99 with --convention keras)', parseFiniteNumber)
    .option('--eps <eps>', 'added to the variance, > 0', parseFiniteNumber, 1e-5)
    .addOption(new Option('--stats <method>', 'how the batch statistics are computed').choices(STATS_METHODS).default('sums'))
    .addOption(new Option('--accumulator <precision>', 'precision of the sums').choices(['float64', 'float32']).default('float64'))
    .addOption(new Option('--convention <name>', 'running-statistics convention').choices(['pytorch', 'keras']).default('pytorch'))
    .requiredOption('--out <dir>', 'output directory (created if missing)')
    .option('--json', 'print stats.json to stdout instead of a table')
    .action((flags: RunFlags) => {
      const inputs = loadRunInputs(flags);
      const report = runBatchNorm(inputs, {
        training: !flags.eval,
        momentum: flags.momentum,
        eps: flags.eps,
        stats: flags.stats,
        accumulator: flags.accumulator,
        convention: flags.convention,
      });
      const files = runOutputFiles(report);
      const written = writeFilesAtomically(flags.out, files);
      const stats = runStatsJson(report);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...stats, files: written }, null, 2)}\n`);
        return;
      }
      const { global } = report;
      const shown = Math.min(global.mean.length, CHANNELS_SHOWN);
      const rows = Array.from({ length: shown }, (_, c) => [c, global.mean[c], global.var[c], stats.running.mean[c], stats.running.var[c]]);
      const lines = [
        `input [${stats.input.shape.join(',')}] ${stats.input.dtype}, ${stats.mode} mode, ${global.count} values per channel, stats: ${stats.settings.stats}`,
        renderTable(['channel', 'batch mean', 'batch var (biased)', 'running mean', 'running var'], rows),
      ];
      if (global.mean.length > shown) lines.push(`... ${global.mean.length - shown} more channels in stats.json`);
      lines.push(`wrote ${written.length} files to ${flags.out}: ${files.map((f) => f.name).join(', ')}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
