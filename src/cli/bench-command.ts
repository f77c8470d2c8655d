/** `syncbn-sim bench`: the cluster benchmark (sync vs local vs single-device BN, all-reduce, start-up). */
import { type Command, Option } from 'commander';
import { ALGORITHM_NAMES, type AlgorithmName } from '../collectives/algorithms/index.js';
import { BENCH_DEFAULTS, type ClusterBenchReport, benchmarkCluster } from '../experiments/bench.js';
import { clusterBenchJson } from '../report/json/bench-json.js';
import { type Cell, formatNumber, renderTable } from '../report/table.js';
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
    .description('time sync BN on worker-thread devices against local and single-device BN, the all-reduce, and cluster start-up')
    .option('--shape <dims>', 'batch shape, [N,C] or [N,C,H,W], comma-separated (float32)', parseShape, [...BENCH_DEFAULTS.shape])
    .option('--devices <W>', 'simulated devices (1 to 4096)', parsePositiveInteger, BENCH_DEFAULTS.devices)
    .addOption(threadsOption())
    .addOption(new Option('--algorithm <name>', 'all-reduce of the sync steps (all five are timed)').choices(ALGORITHM_NAMES).default(BENCH_DEFAULTS.algorithm))
    .option('--reps <n>', 'timed steps of each kind (median reported)', parsePositiveInteger, BENCH_DEFAULTS.reps)
    .option('--allreduce-reps <n>', 'timed all-reduces per algorithm and device', parsePositiveInteger, BENCH_DEFAULTS.allreduceReps)
    .option('--start-devices <W>', 'devices of the cluster whose start and stop are timed', parsePositiveInteger, BENCH_DEFAULTS.startDevices)
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
      process.stdout.write(flags.json ? `${JSON.stringify(clusterBenchJson(report), null, 2)}\n` : `${benchTables(report)}\n`);
    });
}

const fmt = (v: number) => Number(v.toPrecision(3));

/**
 * The report as text: the figures with their goals, then the all-reduce of every algorithm.
 * @param r - the benchmark's report.
 * @returns the tables, lines joined by '\n'.
 */
export function benchTables(r: ClusterBenchReport): string {
  const goalOf = (name: string) => r.goals.find((g) => g.name.startsWith(name));
  const goalCells = (name: string): Cell[] => {
    const g = goalOf(name);
    return g ? [`<= ${formatNumber(g.goal)}${g.unit === 'x' ? 'x' : ' us'}`, g.met ? 'yes' : 'NO'] : ['', ''];
  };
  const rows: Cell[][] = [
    ['sync BN step (forward+backward)', `${fmt(r.syncStepMs)} ms`, '', ''],
    ['local BN step, same cluster and data', `${fmt(r.localStepMs)} ms`, '', ''],
    ['single-thread BN on the whole batch', `${fmt(r.singleStepMs)} ms`, '', ''],
    ['  its bare kernels (no checks, no allocation)', `${fmt(r.singleKernelsStepMs)} ms`, '', ''],
    ['sync / local', `${fmt(r.syncOverLocal)}x`, ...goalCells('sync step / local step')],
    ['sync / single-thread', `${fmt(r.syncOverSingle)}x`, ...goalCells('sync step / single-thread')],
    ['sync / bare single-thread kernels', `${fmt(r.syncOverSingleKernels)}x`, '', ''],
    [`all-reduce of ${r.allreduceValues} values (${r.algorithm}), median`, `${fmt(r.allreduceUs)} us`, ...goalCells('all-reduce')],
  ];
  if (r.pytorch) {
    rows.push([`PyTorch BatchNorm (CPU, ${r.pytorch.threads} thread${r.pytorch.threads === 1 ? '' : 's'})`, `${fmt(r.pytorch.forwardBackwardMs)} ms`, '', '']);
    rows.push(['sync / PyTorch', `${fmt(r.syncOverPytorch!)}x`, ...goalCells('sync step / PyTorch')]);
  }
  const s = r.startStop;
  rows.push([`start + ready + close, ${s.devices} devices`, `${fmt(s.startReadyCloseMs)} ms`, '', '']);
  rows.push([`start + first step + close, ${s.devices} devices`, `${fmt(s.startFirstStepCloseMs)} ms`, '', '']);
  const lines = [
    `cluster benchmark: [${r.shape.join(',')}] float32 on ${r.devices} devices (${r.algorithm}), ${r.cpus} CPUs;` +
      ` medians of ${r.reps.steps} steps, ${r.reps.allreduce} all-reduces per device, ${r.reps.start} start/stops`,
    `streaming-read probe: ${fmt(r.probeMs)} ms, ${fmt(r.probeGbPerS)} GB/s`,
    '',
    renderTable(['figure', 'value', 'goal', 'met'], rows),
    '',
    renderTable(
      ['all-reduce', 'median us', 'p10 us', 'p90 us'],
      r.allreduce.map((a) => [a.algorithm, fmt(a.medianUs), fmt(a.p10Us), fmt(a.p90Us)]),
    ),
  ];
  if (r.pytorchNote) lines.push('', `PyTorch peer: ${r.pytorchNote}`);
  return lines.join('\n');
}
