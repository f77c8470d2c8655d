/**
 * `npm run bench`: speed of the single-device batch-norm kernels on a [64,64,32,32] float32 batch,
 * then the cluster benchmark (sync vs local vs single-device BN on 8 worker-thread devices, the
 * all-reduce of every algorithm, start-up of 64 devices; src/experiments/bench.ts) in the same run.
 * Prints figures only; nothing here is asserted. Every pass is reported as GB/s of the bytes it
 * must touch and as a ratio to a streaming-read probe timed in this same process, so that a noisy
 * shared machine moves both numbers together. PyTorch's CPU BatchNorm2d runs beside it when
 * Debian's python3-torch is installed.
 */
import { gradInputTrain, gradSums } from '../src/bn/backward.js';
import { batchMoments } from '../src/bn/batch-moments.js';
import { inverseStd, normalize } from '../src/bn/normalize.js';
import { consume, gbPerSecond, streamingRead, timeIt } from '../src/bench/measure.js';
import { benchTables } from '../src/cli/bench-command.js';
import { type TorchPeer, benchmarkCluster, torchPeer as runTorchPeer } from '../src/experiments/bench.js';
import { renderTable } from '../src/report/table.js';
import { benchmarkTraining } from '../src/experiments/train-bench.js';
import { channelLayout } from '../src/tensor/tensor.js';

const SHAPE = [64, 64, 32, 32];
const REPS = Number(process.env.BENCH_REPS ?? 15);
const json = process.argv.includes('--json');

const layout = channelLayout(SHAPE);
const n = SHAPE.reduce((a, b) => a * b, 1);
const bytes = n * 4;
const x = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.001) * 3 + 1);
const dy = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.0007));
const y = new Float32Array(n);
const dx = new Float32Array(n);

const probe = timeIt(() => consume(streamingRead(x)), REPS);
const probeGBs = gbPerSecond(bytes, probe.medianMs);

const moments = batchMoments(x, layout);
const invStd = inverseStd(moments.var, 1e-5);
const sums = gradSums(dy, x, layout, moments.mean, invStd);

// Each pass with the bytes it reads and writes.
const passes = [
  { name: 'forward: statistics (read x)', bytes, run: () => consume(batchMoments(x, layout).mean[0]) },
  { name: 'forward: normalize (read x, write y)', bytes: 2 * bytes, run: () => normalize(x, layout, moments.mean, invStd, undefined, undefined, y) },
  { name: 'backward: reductions (read x, dy)', bytes: 2 * bytes, run: () => consume(gradSums(dy, x, layout, moments.mean, invStd).sumDy[0]) },
  { name: 'backward: grad input (read x, dy, write dx)', bytes: 3 * bytes, run: () => gradInputTrain(dy, x, layout, moments.mean, invStd, undefined, sums, moments.count, dx) },
];
const passResults = passes.map((p) => {
  const t = timeIt(p.run, REPS);
  const gbs = gbPerSecond(p.bytes, t.medianMs);
  return { pass: p.name, ms: t.medianMs, gb_per_s: gbs, ratio_to_probe: gbs / probeGBs };
});

const forward = () => {
  const m = batchMoments(x, layout);
  normalize(x, layout, m.mean, inverseStd(m.var, 1e-5), undefined, undefined, y);
};
const forwardBackward = () => {
  const m = batchMoments(x, layout);
  const is = inverseStd(m.var, 1e-5);
  normalize(x, layout, m.mean, is, undefined, undefined, y);
  gradInputTrain(dy, x, layout, m.mean, is, undefined, gradSums(dy, x, layout, m.mean, is), m.count, dx);
};
const fwd = timeIt(forward, REPS);
const fwdBwd = timeIt(forwardBackward, REPS);
const totals = [
  { step: 'forward', ms: fwd.medianMs, bytes: 3 * bytes },
  { step: 'forward+backward', ms: fwdBwd.medianMs, bytes: 8 * bytes },
].map((s) => ({ ...s, gb_per_s: gbPerSecond(s.bytes, s.ms), ratio_to_probe: gbPerSecond(s.bytes, s.ms) / probeGBs }));

function torchPeer(): TorchPeer | string {
  const peer = runTorchPeer(SHAPE, REPS);
  return 'reason' in peer ? `not run (${peer.reason})` : peer;
}
const torch = torchPeer();

const report = {
  shape: SHAPE,
  dtype: 'float32',
  reps: REPS,
  probe: { what: 'streaming read of x in a JS loop', ms: probe.medianMs, gb_per_s: probeGBs },
  passes: passResults,
  steps: totals,
  pytorch: torch,
};

// The cluster benchmark, with the PyTorch figure just measured (not run twice when it ran).
if (process.stderr.isTTY) console.error('cluster benchmark: 8 devices, then start-up of 64 (takes a few seconds)...');
const cluster = await benchmarkCluster({ shape: SHAPE, devices: 8, ...(typeof torch === 'string' ? {} : { peer: torch }) });

// Training speed: BN-LeNet, batch 256 on 8 devices, beside PyTorch on the same network.
if (process.stderr.isTTY) console.error('training benchmark: BN-LeNet, batch 256, 8 devices...');
const training = await benchmarkTraining({ devices: 8, batch: 256 });

if (json) {
  process.stdout.write(`${JSON.stringify({ ...report, cluster, training }, null, 2)}\n`);
} else {
  const fmt = (v: number) => Number(v.toPrecision(3));
  console.log(`batch norm kernels, [${SHAPE.join(',')}] float32, median of ${REPS} (single thread)`);
  console.log(`streaming-read probe: ${fmt(probe.medianMs)} ms, ${fmt(probeGBs)} GB/s\n`);
  console.log(renderTable(['pass', 'ms', 'GB/s', 'ratio to probe'], passResults.map((p) => [p.pass, fmt(p.ms), fmt(p.gb_per_s), fmt(p.ratio_to_probe)])));
  console.log();
  console.log(renderTable(['step', 'ms', 'GB/s', 'ratio to probe'], totals.map((s) => [s.step, fmt(s.ms), fmt(s.gb_per_s), fmt(s.ratio_to_probe)])));
  console.log();
  if (typeof torch === 'string') console.log(`PyTorch BatchNorm2d: ${torch}`);
  else {
    console.log(`PyTorch BatchNorm2d (CPU, ${torch.threads} threads): forward ${fmt(torch.forward_ms)} ms, forward+backward ${fmt(torch.forward_backward_ms)} ms`);
    console.log(`ours / PyTorch: forward ${fmt(fwd.medianMs / torch.forward_ms)}x, forward+backward ${fmt(fwdBwd.medianMs / torch.forward_backward_ms)}x`);
  }
  console.log();
  console.log(benchTables(cluster));
  console.log();
  const t = training;
  console.log(`training: BN-LeNet (${t.bn} BN) on ${t.data}, global batch ${t.batch} over ${t.devices} devices, ${t.steps} steps`);
  console.log(`  ${Math.round(t.examples_per_second)} examples/s, ${fmt(t.seconds_per_60k_epoch)} s per epoch of 60,000 images`);
  if (t.pytorch) {
    console.log(`  PyTorch CPU (${t.pytorch.threads} thread(s)), same network and batch: ${Math.round(t.pytorch.examples_per_second)} examples/s, ${fmt(t.pytorch.seconds_per_60k_epoch)} s per epoch`);
    console.log(`  ours / PyTorch epoch time: ${fmt(t.ratio_to_pytorch!)}x (goal: 2x or less)`);
  } else console.log(`  PyTorch: ${t.pytorch_note}`);
}
