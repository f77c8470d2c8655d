/**
 * `npm run bench`: speed of the single-device batch-norm kernels on a [64,64,32,32] float32 batch
 * (every pass on the WebAssembly kernels and on the JavaScript reference, PyTorch's BatchNorm2d at
 * one intra-op thread in alternating rounds; src/experiments/kernel-bench.ts), then the cluster
 * benchmark (sync vs local vs single-device BN on 8 worker-thread devices, the all-reduce of every
 * algorithm, start-up of 64 devices; src/experiments/bench.ts) in the same run. Prints figures
 * only; nothing here is asserted. Every pass is reported as GB/s of the bytes it must touch and as
 * a ratio to a streaming-read probe timed in this same process, so that a noisy shared machine
 * moves both numbers together. PyTorch runs beside it when Debian's python3-torch is installed.
 */
import { benchTables } from '../src/cli/bench-command.js';
import { type TorchPeer, benchmarkCluster } from '../src/experiments/bench.js';
import { type KernelBenchReport, benchmarkKernels } from '../src/experiments/kernel-bench.js';
import { renderTable } from '../src/report/table.js';
import { benchmarkTraining } from '../src/experiments/train-bench.js';

const SHAPE = [64, 64, 32, 32];
const json = process.argv.includes('--json');

// BN kernels: every pass on the WebAssembly kernels (the default) and the JavaScript reference,
// PyTorch's BatchNorm2d at one intra-op thread in alternating rounds (src/experiments/kernel-bench.ts).
if (process.stderr.isTTY) console.error('kernel benchmark: BN passes on both backends and PyTorch, in alternating rounds...');
const report: KernelBenchReport = await benchmarkKernels({
  shape: SHAPE,
  rounds: Number(process.env.BENCH_ROUNDS ?? 9),
  reps: Number(process.env.BENCH_KERNEL_REPS ?? 5),
});
const [fwd, fwdBwd] = report.steps;
const torch: TorchPeer | string =
  fwd.pytorch_ms === undefined || fwdBwd.pytorch_ms === undefined
    ? (report.pytorch_note ?? 'not run')
    : { forward_ms: fwd.pytorch_ms, forward_backward_ms: fwdBwd.pytorch_ms, threads: report.pytorch!.threads };

/** The kernel section of the printed report. */
function kernelSection(r: KernelBenchReport): string {
  const fmt = (v: number) => String(Number(v.toPrecision(3)));
  const x = (v: number) => `${fmt(v)}x`;
  const spread = (f: { median: number; min: number; max: number } | undefined) => (f ? `${x(f.median)} (${fmt(f.min)}-${fmt(f.max)})` : '-');
  const lines = [
    `batch norm kernels, [${r.shape.join(',')}] ${r.dtype}, one thread: ${r.rounds} rounds of ${r.reps} repetitions, medians;`,
    'wasm (the default kernels) and js (the reference) alternate in each round, then PyTorch runs its round',
    `streaming-read probe (a JS loop summing x): ${fmt(r.probe.ms)} ms, ${fmt(r.probe.gb_per_s)} GB/s`,
    `copying x into the module's memory in blocks, as every wasm pass does: ${fmt(r.staging.ms)} ms, ${fmt(r.staging.gb_per_s)} GB/s`,
    '',
    renderTable(
      ['pass', 'MiB moved', 'wasm ms', 'GB/s', '/ probe', 'js ms', 'GB/s', '/ probe'],
      r.passes.map((p) => [p.pass, fmt(p.bytes / 2 ** 20), fmt(p.wasm_ms), fmt(p.wasm_gb_per_s), fmt(p.wasm_ratio_to_probe), fmt(p.js_ms), fmt(p.js_gb_per_s), fmt(p.js_ratio_to_probe)]),
    ),
    '',
    renderTable(
      ['step', 'wasm ms', 'js ms', 'PyTorch ms', 'wasm / PyTorch (rounds)', 'js / PyTorch', 'js / wasm'],
      r.steps.map((s) => [s.step, fmt(s.wasm_ms), fmt(s.js_ms), s.pytorch_ms === undefined ? '-' : fmt(s.pytorch_ms), spread(s.wasm_over_pytorch), s.js_over_pytorch ? x(s.js_over_pytorch.median) : '-', x(s.js_over_wasm.median)]),
    ),
    '',
    r.pytorch ? `PyTorch ${r.pytorch.version}, BatchNorm2d on CPU at ${r.pytorch.threads} intra-op thread(s)` : `PyTorch: ${r.pytorch_note}`,
    `goal: ${r.goal.name} at most ${fmt(r.goal.goal)}x: ${r.goal.figure === undefined ? 'not measured' : `${x(r.goal.figure)}, ${r.goal.met ? 'met' : 'NOT met'}`}`,
  ];
  return lines.join('\n');
}

// The cluster benchmark, with the PyTorch figure just measured (not run twice when it ran).
if (process.stderr.isTTY) console.error('cluster benchmark: 8 devices, then start-up of 64 (takes a few seconds)...');
const cluster = await benchmarkCluster({ shape: SHAPE, devices: 8, ...(typeof torch === 'string' ? {} : { peer: torch }) });

// Training speed: BN-LeNet, batch 256 on 8 devices, beside PyTorch on the same network.
if (process.stderr.isTTY) console.error('training benchmark: BN-LeNet, batch 256, 8 devices...');
const training = await benchmarkTraining({ devices: 8, batch: 256 });

if (json) {
  process.stdout.write(`${JSON.stringify({ kernels: report, cluster, training }, null, 2)}\n`);
} else {
  const fmt = (v: number) => Number(v.toPrecision(3));
  console.log(kernelSection(report));
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
