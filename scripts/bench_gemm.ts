/**
 * GEMM and LeNet speed on one thread: `npx tsc -p tsconfig.json && node dist/scripts/bench_gemm.js [--json]`.
 *
 * 1. GFLOP/s of every matrix product LeNet's conv and linear layers make at batch 32 (the shapes
 *    src/nn/conv2d.ts and src/nn/linear.ts pass to `gemm`), for the WebAssembly SIMD kernel, the
 *    JavaScript kernel and the naive triple loop, with the ratios between them (this machine is
 *    shared and noisy: the ratios, measured in the same run, are the figures to trust).
 *    Then the conv products as Conv2d runs them on the wasm path (src/nn/conv-wasm.ts): operands
 *    already in the WebAssembly memory, so without the copies the general `gemm` makes.
 * 2. Forward + backward (+ loss) of the lecture's LeNet without BN at batch 32, per layer and in
 *    total, per example, and what that makes for an epoch of 60,000 examples.
 * Prints figures only; nothing is asserted. BENCH_REPS sets the repetitions (median reported).
 */
import { consume, timeIt } from '../src/bench/measure.js';
import { Sigmoid } from '../src/nn/activations.js';
import { Conv2d } from '../src/nn/conv2d.js';
import { Flatten } from '../src/nn/flatten.js';
import { type KernelBackend, kernelBackend, useKernels } from '../src/kernels/backend.js';
import { wasmRuntime } from '../src/kernels/wasm-runtime.js';
import { type GemmFunction, gemmJs, gemmReference } from '../src/nn/gemm.js';
import { gemmTile, residentProduct, roundUp, wasmGemm } from '../src/nn/gemm-wasm.js';
import { Linear } from '../src/nn/linear.js';
import { softmaxCrossEntropy } from '../src/nn/loss.js';
import { AvgPool2d } from '../src/nn/pooling.js';
import { Sequential } from '../src/nn/sequential.js';
import { sgdStep } from '../src/nn/sgd.js';
import { renderTable } from '../src/report/table.js';
import { SeededRandom } from '../src/tensor/random.js';

const REPS = Number(process.env.BENCH_REPS ?? 15);
const json = process.argv.includes('--json');
const BATCH = 32;

interface Shape {
  readonly name: string;
  readonly transA: boolean;
  readonly transB: boolean;
  readonly M: number;
  readonly N: number;
  readonly K: number;
  readonly accumulate: boolean;
}
const shape = (
  name: string,
  transA: boolean,
  transB: boolean,
  M: number,
  N: number,
  K: number,
  accumulate = false,
): Shape => ({ name, transA, transB, M, N, K, accumulate });
const NP1 = BATCH * 24 * 24;
const NP2 = BATCH * 8 * 8;
const SHAPES: Shape[] = [
  shape('conv1 forward  W·col', false, false, 6, NP1, 25),
  shape('conv1 dW += dY·col^T', false, true, 6, 25, NP1, true),
  shape('conv1 dcol = W^T·dY (unused: 1st layer)', true, false, 25, NP1, 6),
  shape('conv2 forward  W·col', false, false, 16, NP2, 150),
  shape('conv2 dW += dY·col^T', false, true, 16, 150, NP2, true),
  shape('conv2 dcol = W^T·dY', true, false, 150, NP2, 16),
  shape('fc1 forward  x·W^T', false, true, BATCH, 120, 256),
  shape('fc1 dW += dy^T·x', true, false, 120, 256, BATCH, true),
  shape('fc1 dx = dy·W', false, false, BATCH, 256, 120),
  shape('fc2 forward  x·W^T', false, true, BATCH, 84, 120),
  shape('fc2 dW += dy^T·x', true, false, 84, 120, BATCH, true),
  shape('fc2 dx = dy·W', false, false, BATCH, 120, 84),
  shape('fc3 forward  x·W^T', false, true, BATCH, 10, 84),
  shape('fc3 dW += dy^T·x', true, false, 10, 84, BATCH, true),
  shape('fc3 dx = dy·W', false, false, BATCH, 84, 10),
  shape('square 256 (reference)', false, false, 256, 256, 256),
];

function gflops(s: Shape, ms: number): number {
  return (2 * s.M * s.N * s.K) / (ms * 1e6);
}

function timeShape(s: Shape, fn: GemmFunction, reps: number): number {
  const rng = new SeededRandom(1);
  const A = Float32Array.from({ length: s.M * s.K }, () => rng.uniform() - 0.5);
  const B = Float32Array.from({ length: s.K * s.N }, () => rng.uniform() - 0.5);
  const C = new Float32Array(s.M * s.N);
  const lda = s.transA ? s.M : s.K;
  const ldb = s.transB ? s.K : s.N;
  // Repeat small products inside one timed sample so that each sample lasts about a millisecond.
  const inner = Math.max(1, Math.round(2e6 / (2 * s.M * s.N * s.K)));
  const t = timeIt(() => {
    for (let r = 0; r < inner; r++) fn(s.transA, s.transB, s.M, s.N, s.K, A, lda, B, ldb, C, s.N, s.accumulate);
    consume(C[0]);
  }, reps);
  return t.medianMs / inner;
}

const wasm = wasmGemm();
const gemmRows = SHAPES.map((s) => {
  const wasmMs = timeShape(s, wasm, REPS);
  const jsMs = timeShape(s, gemmJs, REPS);
  const naiveMs = timeShape(s, gemmReference, Math.max(3, Math.round(REPS / 3)));
  return {
    product: s.name,
    op: `${s.transA ? 'T' : 'N'}${s.transB ? 'T' : 'N'} ${s.M}x${s.N}x${s.K}`,
    wasm_gflops: gflops(s, wasmMs),
    js_gflops: gflops(s, jsMs),
    naive_gflops: gflops(s, naiveMs),
    wasm_over_js: jsMs / wasmMs,
    wasm_over_naive: naiveMs / wasmMs,
  };
});

// --- conv products with resident operands (the wasm conv path) ------------------------------
interface Resident {
  readonly product: string;
  readonly transA: boolean;
  readonly m: number;
  readonly n: number;
  readonly K: number;
}
const RESIDENT: Resident[] = [
  { product: 'conv1 forward  W·col', transA: false, m: 6, n: NP1, K: 25 },
  { product: 'conv1 dW^T = col·dY^T', transA: false, m: 25, n: 6, K: NP1 },
  { product: 'conv2 forward  W·col', transA: false, m: 16, n: NP2, K: 150 },
  { product: 'conv2 dW^T = col·dY^T', transA: false, m: 150, n: 16, K: NP2 },
  { product: 'conv2 dcol = W^T·dY', transA: true, m: 150, n: NP2, K: 16 },
];
const rt = wasmRuntime();
const tile = gemmTile(rt);
const residentRows = RESIDENT.map((r) => {
  const mp = roundUp(r.m, tile.rows);
  const np = roundUp(r.n, tile.cols);
  const lda = r.transA ? r.m : r.K;
  const aAt = rt.base;
  const aSize = (r.transA ? r.K : mp) * lda + mp;
  const bAt = roundUp(aAt + aSize + 16, 16);
  const cAt = roundUp(bAt + r.K * np + 16, 16);
  const heap = rt.reserve(cAt + mp * np + 16);
  const rng = new SeededRandom(3);
  for (let i = aAt; i < cAt; i++) heap[i] = rng.uniform() - 0.5;
  const ms = timeIt(
    () => residentProduct(rt, r.transA, r.m, r.n, r.K, aAt, lda, bAt, np, cAt, np, false),
    REPS,
  ).medianMs;
  return {
    product: r.product,
    op: `${r.transA ? 'T' : 'N'}N ${r.m}x${r.n}x${r.K}`,
    gflops: (2 * r.m * r.n * r.K) / (ms * 1e6),
  };
});

// --- LeNet without BN at batch 32 ------------------------------------------------------------
function lenet(): Sequential {
  return new Sequential(
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
}

const defaultKernels = kernelBackend();
function timeNetwork(backend: KernelBackend) {
  useKernels(backend);
  const model = lenet();
  const rng = new SeededRandom(7);
  model.init(rng);
  const x = Float32Array.from({ length: BATCH * 784 }, () => rng.uniform());
  const labels = Int32Array.from({ length: BATCH }, () => Math.floor(rng.uniform() * 10));
  const buffer = new Float32Array(model.paramCount);
  const step = timeIt(() => {
    model.zeroGrad();
    const logits = model.forward(x, BATCH, true);
    const { grad, loss } = softmaxCrossEntropy(logits, labels, BATCH, 10);
    model.backward(grad);
    consume(loss);
  }, REPS * 2);
  const sgd = timeIt(() => sgdStep(model.params, model.grads, buffer, { lr: 0.1, momentum: 0.9 }, false), REPS);
  // per layer: forward and backward of each layer on the activations of a real pass
  const inputs: Float32Array[] = [];
  let h: Float32Array = x;
  model.layers.forEach((layer, i) => {
    inputs.push(h);
    h = layer.forward(h, BATCH, model.shapes[i], true);
  });
  const { grad } = softmaxCrossEntropy(h, labels, BATCH, 10);
  const layers = model.layers.map((layer, i) => ({ layer: layer.name, forwardMs: 0, backwardMs: 0, i }));
  const grads: Float32Array[] = new Array(model.layers.length);
  let g = grad;
  for (let i = model.layers.length - 1; i >= 0; i--) {
    grads[i] = g.slice();
    model.layers[i].forward(inputs[i], BATCH, model.shapes[i], true);
    g = model.layers[i].backward(grads[i]);
  }
  for (const row of layers) {
    const layer = model.layers[row.i];
    row.forwardMs = timeIt(
      () => consume(layer.forward(inputs[row.i], BATCH, model.shapes[row.i], true)[0]),
      REPS,
    ).medianMs;
    row.backwardMs = timeIt(() => consume(layer.backward(grads[row.i]).length), REPS).medianMs;
  }
  useKernels(defaultKernels);
  return { backend, stepMs: step.medianMs, sgdMs: sgd.medianMs, layers };
}

const nets = (['wasm', 'js'] as const).map(timeNetwork);
const netRows = nets.map((n) => {
  const perExampleUs = (n.stepMs * 1000) / BATCH;
  return {
    kernels: n.backend,
    batch_ms: n.stepMs,
    per_example_us: perExampleUs,
    sgd_step_ms: n.sgdMs,
    epoch_60k_s_1_thread: ((60000 / BATCH) * (n.stepMs + n.sgdMs)) / 1000,
    epoch_60k_s_2_threads_ideal: ((60000 / BATCH) * (n.stepMs + n.sgdMs)) / 2000,
  };
});

if (json) {
  console.log(
    JSON.stringify(
      {
        backend: kernelBackend(),
        gemm: gemmRows,
        resident: residentRows,
        lenet: netRows,
        layers: nets.map((n) => ({ kernels: n.backend, layers: n.layers })),
      },
      null,
      2,
    ),
  );
} else {
  const f = (v: number) => (Number.isFinite(v) ? Number(v.toPrecision(3)) : NaN);
  console.log(`GEMM at LeNet's shapes, batch ${BATCH}, one thread (GFLOP/s, median of ${REPS})`);
  console.log(
    renderTable(
      ['product', 'op M x N x K', 'wasm', 'js', 'naive', 'wasm/js', 'wasm/naive'],
      gemmRows.map((r) => [
        r.product,
        r.op,
        f(r.wasm_gflops),
        f(r.js_gflops),
        f(r.naive_gflops),
        f(r.wasm_over_js),
        f(r.wasm_over_naive),
      ]),
    ),
  );
  console.log('\nconv products with operands in the wasm memory (the Conv2d path), GFLOP/s');
  console.log(
    renderTable(
      ['product', 'op M x N x K', 'wasm'],
      residentRows.map((r) => [r.product, r.op, f(r.gflops)]),
    ),
  );
  console.log(`\nLeNet (no BN) forward + loss + backward, batch ${BATCH}, one thread`);
  console.log(
    renderTable(
      [
        'kernels',
        'ms / batch',
        'us / example',
        'SGD step ms',
        'epoch 60k s (1 thread)',
        'epoch 60k s (2 threads, ideal)',
      ],
      netRows.map((r) => [
        r.kernels,
        f(r.batch_ms),
        f(r.per_example_us),
        f(r.sgd_step_ms),
        f(r.epoch_60k_s_1_thread),
        f(r.epoch_60k_s_2_threads_ideal),
      ]),
    ),
  );
  for (const n of nets) {
    console.log(`\nper layer (${n.backend}), ms per batch of ${BATCH}`);
    console.log(
      renderTable(
        ['layer', 'forward', 'backward'],
        n.layers.map((l) => [l.layer, f(l.forwardMs), f(l.backwardMs)]),
      ),
    );
  }
}
