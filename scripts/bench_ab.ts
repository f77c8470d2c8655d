/**
 * Speed of two builds of syncbn-sim, measured in one run: `node dist/scripts/bench_ab.js A [B] [--json]`,
 * where A and B are `dist` directories (B defaults to this build's). To compare against an earlier
 * commit: `git worktree add /tmp/old <ref>` (or `git archive <ref> | tar -x -C /tmp/old`), link
 * node_modules into it, `npm run build` there, then pass /tmp/old/dist as A.
 *
 * On a shared, noisy machine only same-run ratios mean anything, so every figure is taken in
 * rounds: each round times A and B once each (alternating which goes first) on the same inputs,
 * and the B/A speed reported is the median over rounds of the per-round ratio, and the ratio of
 * the best times (preemption on a loaded machine only ever adds time).
 *   1. GEMM GFLOP/s at the shapes LeNet's layers pass to `gemm` at batch 32, with whether the two
 *      builds' products are bitwise the same.
 *   2. LeNet (no BN) forward + loss + backward at batch 32, one thread, ms per batch.
 *   3. Training: BN-LeNet, sync BN, global batch 256 on 8 worker-thread devices (the training
 *      figure of `npm run bench`), examples per second.
 * Each build runs its default kernels (its own `gemm`, layers and trainer). Prints figures only.
 * BENCH_ROUNDS (default 21) sets the rounds of 1 and 2; TRAIN_ROUNDS (4) and TRAIN_STEPS (30) those of 3.
 */
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { consume } from '../src/bench/measure.js';
import { median } from '../src/summary-stats.js';
import { type GemmAbRow, type LenetAbRow, type TrainingAbRow, benchAbJson } from '../src/report/json/bench-ab-json.js';
import { renderTable } from '../src/report/table.js';

type GemmModule = typeof import('../src/nn/gemm.js');
type Nn = {
  Conv2d: typeof import('../src/nn/conv2d.js').Conv2d;
  Sigmoid: typeof import('../src/nn/activations.js').Sigmoid;
  AvgPool2d: typeof import('../src/nn/pooling.js').AvgPool2d;
  Flatten: typeof import('../src/nn/flatten.js').Flatten;
  Linear: typeof import('../src/nn/linear.js').Linear;
  Sequential: typeof import('../src/nn/sequential.js').Sequential;
  softmaxCrossEntropy: typeof import('../src/nn/loss.js').softmaxCrossEntropy;
  SeededRandom: typeof import('../src/tensor/random.js').SeededRandom;
};
type TrainBench = typeof import('../src/experiments/train-bench.js');
type TrainBenchReport = import('../src/experiments/train-bench.js').TrainBenchReport;

interface Build {
  readonly label: string;
  readonly gemm: GemmModule['gemm'];
  readonly nn: Nn;
  readonly train: TrainBench;
}

const args = process.argv.slice(2).filter((a) => a !== '--json');
const json = process.argv.includes('--json');
if (args.length < 1 || args.length > 2) {
  console.error('usage: node dist/scripts/bench_ab.js <dist A> [<dist B>, default this build] [--json]');
  process.exit(2);
}
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const TRAIN_ROUNDS = Number(process.env.TRAIN_ROUNDS ?? 4);
const TRAIN_STEPS = Number(process.env.TRAIN_STEPS ?? 30);
const BATCH = 32;

async function load(dist: string, label: string): Promise<Build> {
  const from = async <T>(file: string) => (await import(pathToFileURL(join(dist, file)).href)) as T;
  const nn: Nn = {
    Conv2d: (await from<typeof import('../src/nn/conv2d.js')>('src/nn/conv2d.js')).Conv2d,
    Sigmoid: (await from<typeof import('../src/nn/activations.js')>('src/nn/activations.js')).Sigmoid,
    AvgPool2d: (await from<typeof import('../src/nn/pooling.js')>('src/nn/pooling.js')).AvgPool2d,
    Flatten: (await from<typeof import('../src/nn/flatten.js')>('src/nn/flatten.js')).Flatten,
    Linear: (await from<typeof import('../src/nn/linear.js')>('src/nn/linear.js')).Linear,
    Sequential: (await from<typeof import('../src/nn/sequential.js')>('src/nn/sequential.js')).Sequential,
    softmaxCrossEntropy: (await from<typeof import('../src/nn/loss.js')>('src/nn/loss.js')).softmaxCrossEntropy,
    SeededRandom: (await from<typeof import('../src/tensor/random.js')>('src/tensor/random.js')).SeededRandom,
  };
  return {
    label,
    gemm: (await from<GemmModule>('src/nn/gemm.js')).gemm,
    nn,
    train: await from<TrainBench>('src/experiments/train-bench.js'),
  };
}

const here = resolve(fileURLToPath(new URL('../..', import.meta.url)), 'dist');
const a = await load(resolve(args[0]), `A ${resolve(args[0])}`);
const b = await load(resolve(args[1] ?? here), `B ${resolve(args[1] ?? here)}`);

/**
 * Times both builds in rounds; returns each build's median ms, the median per-round A/B time
 * ratio, and the ratio of the best (least) times: on a loaded machine preemption only ever adds
 * time, so the best of many rounds is the other robust figure.
 */
async function rounds(rounds: number, runA: () => number | Promise<number>, runB: () => number | Promise<number>) {
  const ta: number[] = [];
  const tb: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      ta.push(await runA());
      tb.push(await runB());
    } else {
      tb.push(await runB());
      ta.push(await runA());
    }
  }
  if (process.env.BENCH_AB_TRACE)
    console.error(JSON.stringify({ a: ta.map((t) => +t.toFixed(3)), b: tb.map((t) => +t.toFixed(3)) }));
  return {
    aMs: median(ta),
    bMs: median(tb),
    bSpeedup: median(ta.map((t, i) => t / tb[i])),
    bSpeedupBest: Math.min(...ta) / Math.min(...tb),
  };
}

// --- 1. GEMM ---------------------------------------------------------------------------------
const NP1 = BATCH * 24 * 24;
const NP2 = BATCH * 8 * 8;
const SHAPES: [string, boolean, boolean, number, number, number, boolean][] = [
  ['conv1 forward  W·col', false, false, 6, NP1, 25, false],
  ['conv1 dW += dY·col^T', false, true, 6, 25, NP1, true],
  ['conv2 forward  W·col', false, false, 16, NP2, 150, false],
  ['conv2 dW += dY·col^T', false, true, 16, 150, NP2, true],
  ['conv2 dcol = W^T·dY', true, false, 150, NP2, 16, false],
  ['fc1 forward  x·W^T', false, true, BATCH, 120, 256, false],
  ['fc1 dW += dy^T·x', true, false, 120, 256, BATCH, true],
  ['fc1 dx = dy·W', false, false, BATCH, 256, 120, false],
  ['fc3 forward  x·W^T', false, true, BATCH, 10, 84, false],
  ['square 256', false, false, 256, 256, 256, false],
];
const gemmRows: GemmAbRow[] = [];
for (const [name, transA, transB, M, N, K, accumulate] of SHAPES) {
  const rng = new a.nn.SeededRandom(1);
  const A = Float32Array.from({ length: M * K }, () => rng.uniform() - 0.5);
  const B = Float32Array.from({ length: K * N }, () => rng.uniform() - 0.5);
  const lda = transA ? M : K;
  const ldb = transB ? K : N;
  const inner = Math.max(1, Math.round(2e6 / (2 * M * N * K)));
  const timer = (gemm: GemmModule['gemm'], C: Float32Array) => () => {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) gemm(transA, transB, M, N, K, A, lda, B, ldb, C, N, accumulate);
    consume(C[0]);
    return (performance.now() - t0) / inner;
  };
  const Ca = new Float32Array(M * N);
  const Cb = new Float32Array(M * N);
  a.gemm(transA, transB, M, N, K, A, lda, B, ldb, Ca, N);
  b.gemm(transA, transB, M, N, K, A, lda, B, ldb, Cb, N);
  const same = Ca.every((v, i) => Object.is(v, Cb[i]));
  const runA = timer(a.gemm, Ca);
  const runB = timer(b.gemm, Cb);
  for (let w = 0; w < 3; w++) {
    runA();
    runB();
  }
  const r = await rounds(ROUNDS, runA, runB);
  const gflops = (ms: number) => (2 * M * N * K) / (ms * 1e6);
  gemmRows.push({
    product: name,
    op: `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'} ${M}x${N}x${K}`,
    aGflops: gflops(r.aMs),
    bGflops: gflops(r.bMs),
    bSpeedup: r.bSpeedup,
    bSpeedupBest: r.bSpeedupBest,
    bitwiseSame: same,
  });
}

// --- 2. LeNet step ---------------------------------------------------------------------------
function lenetStep(build: Build) {
  const { Conv2d, Sigmoid, AvgPool2d, Flatten, Linear, Sequential, softmaxCrossEntropy, SeededRandom } = build.nn;
  const model = new Sequential(
    [
      new Conv2d(1, 6, 5),
      new Sigmoid(),
      new AvgPool2d(2),
      new Conv2d(6, 16, 5),
      new Sigmoid(),
      new AvgPool2d(2),
      new Flatten(),
      new Linear(256, 120),
      new Sigmoid(),
      new Linear(120, 84),
      new Sigmoid(),
      new Linear(84, 10),
    ],
    [1, 28, 28],
  );
  const rng = new SeededRandom(7);
  model.init(rng);
  const x = Float32Array.from({ length: BATCH * 784 }, () => rng.uniform());
  const labels = Int32Array.from({ length: BATCH }, () => Math.floor(rng.uniform() * 10));
  let loss = 0;
  const step = () => {
    const t0 = performance.now();
    model.zeroGrad();
    const out = softmaxCrossEntropy(model.forward(x, BATCH, true), labels, BATCH, 10);
    model.backward(out.grad);
    loss = out.loss;
    return performance.now() - t0;
  };
  return { step, loss: () => loss };
}
const la = lenetStep(a);
const lb = lenetStep(b);
for (let w = 0; w < 5; w++) {
  la.step();
  lb.step();
}
const lenet = await rounds(ROUNDS * 2, la.step, lb.step);
const lenetRow: LenetAbRow = {
  aMs: lenet.aMs,
  bMs: lenet.bMs,
  bSpeedup: lenet.bSpeedup,
  bSpeedupBest: lenet.bSpeedupBest,
  lossBitwiseSame: Object.is(la.loss(), lb.loss()),
};

// --- 3. training ------------------------------------------------------------------------------
/** Examples per second of a training benchmark's report: camelCase since the JSON boundary moved, snake_case in builds before. */
function examplesPerSecond(report: TrainBenchReport | { readonly examples_per_second: number }): number {
  return 'examplesPerSecond' in report ? report.examplesPerSecond : report.examples_per_second;
}
if (process.stderr.isTTY)
  console.error(`training: ${TRAIN_ROUNDS} rounds of BN-LeNet, batch 256 on 8 devices, each build...`);
const train = (build: Build) => async () => {
  const report = await build.train.benchmarkTraining({ devices: 8, batch: 256, steps: TRAIN_STEPS, torch: false });
  return 1000 / examplesPerSecond(report); // ms per example, so that `rounds` takes ratios the same way
};
const training = await rounds(TRAIN_ROUNDS, train(a), train(b));
const trainRow: TrainingAbRow = {
  aExamplesPerS: 1000 / training.aMs,
  bExamplesPerS: 1000 / training.bMs,
  bSpeedup: training.bSpeedup,
  bSpeedupBest: training.bSpeedupBest,
};

if (json) {
  console.log(
    JSON.stringify(
      benchAbJson({
        a: a.label,
        b: b.label,
        rounds: ROUNDS,
        trainRounds: TRAIN_ROUNDS,
        gemm: gemmRows,
        lenet: lenetRow,
        training: trainRow,
      }),
      null,
      2,
    ),
  );
} else {
  const f = (v: number) => Number(v.toPrecision(3));
  console.log(`${a.label}\n${b.label}\n`);
  console.log(
    `GEMM at LeNet's shapes, batch ${BATCH}, one thread: GFLOP/s (median of ${ROUNDS} rounds); B/A speed, as the median of per-round ratios and as the ratio of best times`,
  );
  console.log(
    renderTable(
      ['product', 'op M x N x K', 'A', 'B', 'B/A median', 'B/A best', 'same bits'],
      gemmRows.map((r) => [
        r.product,
        r.op,
        f(r.aGflops),
        f(r.bGflops),
        f(r.bSpeedup),
        f(r.bSpeedupBest),
        r.bitwiseSame ? 'yes' : 'no',
      ]),
    ),
  );
  console.log(
    `\nLeNet (no BN) forward + loss + backward, batch ${BATCH}, one thread: A ${f(lenetRow.aMs)} ms, B ${f(lenetRow.bMs)} ms, B/A speed ${f(lenetRow.bSpeedup)} median, ${f(lenetRow.bSpeedupBest)} best (${ROUNDS * 2} rounds; same loss bits: ${lenetRow.lossBitwiseSame ? 'yes' : 'no'})`,
  );
  console.log(
    `training, BN-LeNet sync BN, batch 256 on 8 devices: A ${Math.round(trainRow.aExamplesPerS)} examples/s, B ${Math.round(trainRow.bExamplesPerS)} examples/s, B/A speed ${f(trainRow.bSpeedup)} median, ${f(trainRow.bSpeedupBest)} best (${TRAIN_ROUNDS} rounds of ${TRAIN_STEPS} steps)`,
  );
}
