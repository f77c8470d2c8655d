/** `syncbn-sim bench`: the cluster benchmark (sync vs local vs single-device BN, all-reduce, start-up). */
import { type Command, Option } from 'commander';
import { ALGORITHM_NAMES, type AlgorithmName } from '../collectives/algorithms/index.js';
import { BENCH_DEFAULTS, benchmarkCluster } from '../experiments/bench.js';
import { clusterBenchJson } from '../report/json/bench-json.js';
import { benchTables } from '../report/tables/bench-table.js';
import { parsePositiveInteger, parseShape, threadsOption } from './parse.js';

interface BenchFlags {
  shape: number[];
  devices: number;
  threads?: number;
  algorithm: AlgorithmName;
  reps: number;
  allreduceReps: number;
  startDevices: number;
  torch: boolean;
  json?: boolean;
}

/**
 * Registers `syncbn-sim bench`.
 * @param program - the CLI program.
 */
export function addBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'time sync BN on worker-thread devices against local and single-device BN, the all-reduce, and cluster start-up',
    )
    .option('--shape <dims>', 'batch shape, [N,C] or [N,C,H,W], comma-separated (float32)', parseShape, [
      ...BENCH_DEFAULTS.shape,
    ])
    .option('--devices <W>', 'simulated devices (1 to 4096)', parsePositiveInteger, BENCH_DEFAULTS.devices)
    .addOption(threadsOption())
    .addOption(
      new Option('--algorithm <name>', 'all-reduce of the sync steps (all five are timed)')
        .choices(ALGORITHM_NAMES)
        .default(BENCH_DEFAULTS.algorithm),
    )
    .option('--reps <n>', 'timed steps of each kind (median reported)', parsePositiveInteger, BENCH_DEFAULTS.reps)
    .option(
      '--allreduce-reps <n>',
      'timed all-reduces per algorithm and device',
      parsePositiveInteger,
      BENCH_DEFAULTS.allreduceReps,
    )
    .option(
      '--start-devices <W>',
      'devices of the cluster whose start and stop are timed',
      parsePositiveInteger,
      BENCH_DEFAULTS.startDevices,
    )
    .option('--no-torch', 'skip the PyTorch peer (/usr/bin/python3 with torch)')
    .option('--json', 'print one JSON object instead of tables')
    .action(async (flags: BenchFlags) => {
      const tty = process.stderr.isTTY === true;
      const report = await benchmarkCluster({
        shape: flags.shape,
        devices: flags.devices,
        threads: flags.threads,
        algorithm: flags.algorithm,
        reps: flags.reps,
        allreduceReps: flags.allreduceReps,
        startDevices: flags.startDevices,
        torch: flags.torch,
        onProgress: tty ? (message) => process.stderr.write(`bench: ${message}\n`) : undefined,
      });
      process.stdout.write(
        flags.json ? `${JSON.stringify(clusterBenchJson(report), null, 2)}\n` : `${benchTables(report)}\n`,
      );
    });
}
