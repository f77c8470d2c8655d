/**
 * `npm run bench`: speed of the single-device batch-norm kernels on a [64,64,32,32] float32 batch
 * (every pass on the WebAssembly kernels and on the JavaScript reference, PyTorch's BatchNorm2d at
 * one intra-op thread in alternating rounds; src/experiments/kernel-bench.ts), then the cluster
 * benchmark (sync vs local vs single-device BN on 8 worker-thread devices, the all-reduce of every
 * algorithm, start-up of 64 devices; src/experiments/bench.ts), the all-reduce on 1, 2 and 8
 * threads and compare from 8 to 4096 devices (src/experiments/devices-bench.ts), and training
 * beside PyTorch at global batch 16 and 256 (src/experiments/train-bench.ts), in the same run. Prints figures
 * only; nothing here is asserted. Every pass is reported as GB/s of the bytes it must touch and as
 * a ratio to a streaming-read probe timed in this same process, so that a noisy shared machine
 * moves both numbers together. PyTorch runs beside it when Debian's python3-torch is installed.
 */
import { benchTables } from '../src/report/tables/bench-table.js';
import { availableParallelism } from 'node:os';
import { DEFAULT_ALGORITHM } from '../src/collectives/algorithms/index.js';
import { benchmarkCluster } from '../src/experiments/bench.js';
import { allReduceOnThreads, compareFootprints, growthExponents } from '../src/experiments/devices-bench.js';
import { type KernelBenchReport, benchmarkKernels } from '../src/experiments/kernel-bench.js';
import { kernelBenchTable } from '../src/report/tables/kernel-bench-table.js';
import { benchRunJson } from '../src/report/json/bench-run-json.js';
import { renderTable } from '../src/report/table.js';
import { benchmarkTraining } from '../src/experiments/train-bench.js';

const SHAPE = [64, 64, 32, 32];
const json = process.argv.includes('--json');

// BN kernels: every pass on the WebAssembly kernels (the default) and the JavaScript reference,
// PyTorch's BatchNorm2d at one intra-op thread in alternating rounds (src/experiments/kernel-bench.ts).
if (process.stderr.isTTY)
  console.error('kernel benchmark: BN passes on both backends and PyTorch, in alternating rounds...');
const report: KernelBenchReport = await benchmarkKernels({
  shape: SHAPE,
  rounds: Number(process.env.BENCH_ROUNDS ?? 9),
  reps: Number(process.env.BENCH_KERNEL_REPS ?? 5),
});

// The cluster benchmark: sync and local BN steps at W = 8 on the default threads, the PyTorch peer
// at this machine's intra-op threads (the fair match for our threads), start-up.
if (process.stderr.isTTY) console.error('cluster benchmark: 8 devices, then start-up of 64 (takes a few seconds)...');
const cluster = await benchmarkCluster({ shape: SHAPE, devices: 8 });

// Devices are not threads: the all-reduce on 1, 2 and 8 threads, and compare from 8 to 4096 devices.
if (process.stderr.isTTY) console.error('all-reduce of 129 values at W = 8 on T = 1, 2, 8 threads...');
const allReduce = await allReduceOnThreads(8, [1, 2, 8], 129, Number(process.env.BENCH_ALLREDUCE_REPS ?? 400));
const scalingDevices = (process.env.BENCH_SCALING ?? '8,64,256,1024,4096').split(',').map(Number);
if (process.stderr.isTTY)
  console.error(`compare at W = ${scalingDevices.join(', ')} (each in its own process; 4096 takes a minute or so)...`);
const scaling = compareFootprints(scalingDevices);

// Training speed: BN-LeNet on 8 devices at per-device batch 2 (global 16) and global batch 256,
// beside PyTorch on one process at the same global batch.
if (process.stderr.isTTY) console.error('training benchmark: BN-LeNet on 8 devices, global batch 16, then 256...');
const trainingSmall = await benchmarkTraining({ devices: 8, batch: 16, steps: 200 });
const training = await benchmarkTraining({ devices: 8, batch: 256 });

const defaultThreads = Math.min(8, availableParallelism());
const allReduceDefault = allReduce.find((r) => r.threads === defaultThreads && r.algorithm === DEFAULT_ALGORITHM);
const footprint = (w: number) => ('reason' in scaling ? undefined : scaling.find((r) => r.devices === w));
const goals: { name: string; figure?: number; goal: number; unit: string; atLeast?: boolean }[] = [
  {
    name: `all-reduce of 129 values at W=8 on ${defaultThreads} threads (${DEFAULT_ALGORITHM}), median`,
    figure: allReduceDefault?.medianUs,
    goal: 20,
    unit: 'us',
  },
  { name: 'compare --devices 1024 (4 rows per device)', figure: footprint(1024)?.seconds, goal: 30, unit: 's' },
  { name: 'compare --devices 4096 (4 rows per device)', figure: footprint(4096)?.seconds, goal: 120, unit: 's' },
  {
    name: 'training, per-device batch 2 on 8 devices: ours / PyTorch examples/s (global 16)',
    figure: trainingSmall.ratioToPytorch && 1 / trainingSmall.ratioToPytorch,
    goal: 1,
    unit: 'x',
    atLeast: true,
  },
  {
    name: 'training, global batch 256 on 8 devices: ours / PyTorch epoch time',
    figure: training.ratioToPytorch,
    goal: 1,
    unit: 'x',
  },
];
const goalLines = goals.map((g) => {
  const met = g.figure === undefined ? undefined : g.atLeast ? g.figure >= g.goal : g.figure <= g.goal;
  const figure = g.figure === undefined ? 'not measured' : `${Number(g.figure.toPrecision(3))} ${g.unit}`;
  return [
    g.name,
    figure,
    `${g.atLeast ? '>=' : '<='} ${g.goal} ${g.unit}`,
    met === undefined ? '-' : met ? 'met' : 'NOT met',
  ];
});

if (json) {
  const run = {
    kernels: report,
    cluster,
    devicesAndThreads: {
      allreduce: allReduce,
      scaling,
      ...('reason' in scaling ? {} : { growth: growthExponents(scaling) }),
    },
    trainingSmall,
    training,
    goals: goalLines.map(([name, figure, goal, met]) => ({ name, figure, goal, met })),
  };
  process.stdout.write(`${JSON.stringify(benchRunJson(run), null, 2)}\n`);
} else {
  const fmt = (v: number) => Number(v.toPrecision(3));
  console.log(kernelBenchTable(report));
  console.log();
  console.log(benchTables(cluster));
  console.log();
  console.log(
    'all-reduce of 129 float64 values among 8 devices, by the threads hosting them (median, p10, p90 of back-to-back calls, us):',
  );
  console.log(
    renderTable(
      ['threads', 'algorithm', 'median', 'p10', 'p90'],
      allReduce.map((r) => [r.threads, r.algorithm, fmt(r.medianUs), fmt(r.p10Us), fmt(r.p90Us)]),
    ),
  );
  console.log();
  if ('reason' in scaling) console.log(`compare scaling: ${scaling.reason}`);
  else {
    console.log(
      'compare on its default batch scaled to 4 rows per device, each W in its own process (default threads):',
    );
    console.log(
      renderTable(
        ['devices', 'seconds', 'peak resident MB'],
        scaling.map((r) => [r.devices, fmt(r.seconds), fmt(r.maxRssMb)]),
      ),
    );
    console.log(
      `growth from one W to the next (exponent of W; 1 is linear): ${growthExponents(scaling)
        .map((g) => `${g.from}->${g.to}: time ${fmt(g.timeExponent)}, memory ${fmt(g.memoryExponent)}`)
        .join('; ')}`,
    );
  }
  console.log();
  for (const t of [trainingSmall, training]) {
    console.log(
      `training: BN-LeNet (${t.bn} BN) on ${t.data}, global batch ${t.batch} over ${t.devices} devices, ${t.steps} steps`,
    );
    console.log(
      `  ${Math.round(t.examplesPerSecond)} examples/s, ${fmt(t.secondsPer60kEpoch)} s per epoch of 60,000 images`,
    );
    if (t.pytorch) {
      console.log(
        `  PyTorch CPU (${t.pytorch.threads} thread(s)), same network and global batch: ${Math.round(t.pytorch.examplesPerSecond)} examples/s, ${fmt(t.pytorch.secondsPer60kEpoch)} s per epoch`,
      );
    } else console.log(`  PyTorch: ${t.pytorchNote}`);
  }
  console.log();
  console.log('goals of devices and threads:');
  console.log(renderTable(['figure', 'measured', 'goal', ''], goalLines));
}
