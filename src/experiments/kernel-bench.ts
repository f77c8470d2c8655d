/**
 * The BN kernel figures of `npm run bench`: every pass of single-device batch norm on one float32
 * batch, on the default WebAssembly kernels and on the JavaScript reference, with PyTorch's CPU
 * BatchNorm at one intra-op thread timed in the same run.
 *
 * Measuring on a shared, noisy machine: the work is done in rounds; each round times every pass on
 * both backends (which goes first alternates), then asks the PyTorch peer for a round of its own
 * (src/experiments/torch-bn-peer.ts), then times the streaming-read probe. A figure is the median
 * over rounds of each round's median; a ratio is the median of the per-round ratios, with their
 * spread (lowest and highest), so a slow spell hits both sides of a ratio alike. Each pass's GB/s
 * counts the bytes it must move (the arrays it reads and writes once each), compared with the
 * probe, a JavaScript loop that sums x in this process. Nothing here is asserted by the tests.
 * The report is typed in camelCase; src/report/json/kernel-bench-json.ts maps it to the JSON
 * `npm run bench -- --json` prints.
 */
import { gradInputTrain, gradSums, gradTrain } from '../bn/backward.js';
import { forwardTrain } from '../bn/forward.js';
import { sumStats } from '../bn/moments.js';
import { normalize } from '../bn/normalize.js';
import { STAGE_BYTES, rowBlocks, stageIn } from '../bn/staging.js';
import { consume, gbPerSecond, streamingRead } from '../bench/measure.js';
import { type KernelBackend, kernelBackend, useKernels } from '../kernels/backend.js';
import { wasmRuntime } from '../kernels/wasm-runtime.js';
import { median } from '../summary-stats.js';
import { channelLayout } from '../tensor/tensor.js';
import { fillBenchBatch } from './bench-data.js';
import { type TorchBnPeer, startTorchBnPeer } from './torch-bn-peer.js';

/** What to measure. */
export interface KernelBenchOptions {
  /** [N,C,H,W] or [N,C]; default [64,64,32,32]. */
  readonly shape?: readonly number[];
  /** Rounds (default 9). */
  readonly rounds?: number;
  /** Repetitions of each pass per round (default 5). */
  readonly reps?: number;
  /** Run PyTorch's peer (default true). */
  readonly torch?: boolean;
}

/** One pass on both backends. */
export interface PassFigure {
  /** What the pass does and which arrays it reads and writes. */
  readonly pass: string;
  /** Bytes the pass must move: each array it reads or writes, once. */
  readonly bytes: number;
  /** Median over rounds on the WebAssembly kernels, in ms. */
  readonly wasmMs: number;
  /** The same on the JavaScript reference. */
  readonly jsMs: number;
  /** bytes / wasmMs, GB/s. */
  readonly wasmGbPerS: number;
  /** bytes / jsMs, GB/s. */
  readonly jsGbPerS: number;
  /** wasmGbPerS over the streaming probe's: 1 means as fast as memory allows one thread. */
  readonly wasmRatioToProbe: number;
  /** The same for the JavaScript reference. */
  readonly jsRatioToProbe: number;
}

/** A ratio between two timings, per round: its median and spread. */
export interface RatioFigure {
  /** Median over rounds. */
  readonly median: number;
  /** Smallest round. */
  readonly min: number;
  /** Largest round. */
  readonly max: number;
}

/** A whole step (forward, or forward+backward) on every side. */
export interface StepFigure {
  /** Which step. */
  readonly step: 'forward' | 'forward+backward';
  /** Median on the WebAssembly kernels, in ms. */
  readonly wasmMs: number;
  /** Median on the JavaScript reference, in ms. */
  readonly jsMs: number;
  /** Median of PyTorch's CPU BatchNorm, in ms, when it ran. */
  readonly pytorchMs?: number;
  /** Ours (default backend) over PyTorch. */
  readonly wasmOverPytorch?: RatioFigure;
  /** The JavaScript reference over PyTorch. */
  readonly jsOverPytorch?: RatioFigure;
  /** The JavaScript reference over ours: the speed-up of the WebAssembly kernels. */
  readonly jsOverWasm: RatioFigure;
}

/** The figures of one run. */
export interface KernelBenchReport {
  /** The batch's shape. */
  readonly shape: readonly number[];
  /** Always float32. */
  readonly dtype: 'float32';
  /** Rounds, ours and PyTorch's alternating. */
  readonly rounds: number;
  /** Repetitions of each pass per round. */
  readonly reps: number;
  /** The streaming-read probe every bandwidth is compared with, timed in this run. */
  readonly probe: { readonly what: string; readonly ms: number; readonly gbPerS: number };
  /** Copying x into the module's memory block by block, as every WebAssembly pass does. */
  readonly staging: { readonly ms: number; readonly gbPerS: number; readonly ratioToProbe: number };
  /** Each pass on both backends. */
  readonly passes: readonly PassFigure[];
  /** The forward, and forward+backward, on every side. */
  readonly steps: readonly StepFigure[];
  /** PyTorch's threads and version, when it ran. */
  readonly pytorch?: { readonly threads: number; readonly version: string };
  /** Why PyTorch did not run (absent when it did). */
  readonly pytorchNote?: string;
  /** The goal for the kernels, with the figure measured when there is one. */
  readonly goal: { readonly name: string; readonly figure?: number; readonly goal: number; readonly met?: boolean };
}

function medianOf(fn: () => void, reps: number): number {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    samples.push(performance.now() - t0);
  }
  return median(samples);
}

function ratio(over: readonly number[], under: readonly number[]): RatioFigure {
  const r = over.map((v, i) => v / under[i]);
  return { median: median(r), min: Math.min(...r), max: Math.max(...r) };
}

/**
 * Runs the kernel benchmark in this thread (it switches this thread's kernels back and forth and
 * restores the choice it found).
 * @param options - shape, rounds, repetitions, whether to run PyTorch.
 * @returns the figures.
 */
export async function benchmarkKernels(options: KernelBenchOptions = {}): Promise<KernelBenchReport> {
  const shape = [...(options.shape ?? [64, 64, 32, 32])];
  const rounds = options.rounds ?? 9;
  const reps = options.reps ?? 5;
  const layout = channelLayout(shape);
  const n = shape.reduce((a, b) => a * b, 1);
  const bytes = n * 4;
  const x = fillBenchBatch(new Float32Array(n), shape, 0);
  const dy = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.0007));
  const y = new Float32Array(n);
  const dx = new Float32Array(n);
  const stats = forwardTrain(x, layout, 1e-5, undefined, undefined, y);
  const sums = gradSums(dy, x, layout, stats.mean, stats.invStd);

  const passes = [
    { pass: 'forward: statistics (read x)', bytes, run: () => consume(sumStats(x, layout).sum[0]) },
    {
      pass: 'forward: normalize (read x, write y)',
      bytes: 2 * bytes,
      run: () => normalize(x, layout, stats.mean, stats.invStd, undefined, undefined, y),
    },
    {
      pass: 'forward: statistics + normalize, fused (read x, write y)',
      bytes: 2 * bytes,
      run: () => consume(forwardTrain(x, layout, 1e-5, undefined, undefined, y).mean[0]),
    },
    {
      pass: 'backward: reductions (read x, dy)',
      bytes: 2 * bytes,
      run: () => consume(gradSums(dy, x, layout, stats.mean, stats.invStd).sumDy[0]),
    },
    {
      pass: 'backward: grad input (read x, dy, write dx)',
      bytes: 3 * bytes,
      run: () => gradInputTrain(dy, x, layout, stats.mean, stats.invStd, undefined, sums, stats.count, dx),
    },
    {
      pass: 'backward: reductions + grad input, fused (read x, dy, write dx)',
      bytes: 3 * bytes,
      run: () => consume(gradTrain(dy, x, layout, stats.mean, stats.invStd, undefined, dx).sumDy[0]),
    },
  ];
  // The steps a single-device BN layer takes: forward, then forward and backward.
  const forward = () => consume(forwardTrain(x, layout, 1e-5, undefined, undefined, y).mean[0]);
  const forwardBackward = () => {
    const s = forwardTrain(x, layout, 1e-5, undefined, undefined, y);
    consume(gradTrain(dy, x, layout, s.mean, s.invStd, undefined, dx).sumDy[0]);
  };
  const rt = wasmRuntime();
  const blocks = rowBlocks(layout, STAGE_BYTES / 4);
  const staging = () => {
    for (const b of blocks) stageIn(rt, x, layout, b, rt.base * 4);
  };
  rt.reserve(rt.base + STAGE_BYTES / 4);

  let peer: TorchBnPeer | undefined;
  let pytorchNote: string | undefined;
  if (options.torch === false) pytorchNote = 'not run (switched off)';
  else {
    const started = await startTorchBnPeer(shape, 1);
    if ('reason' in started) pytorchNote = `not run (${started.reason})`;
    else peer = started;
  }

  const initial = kernelBackend();
  const backends: KernelBackend[] = ['wasm', 'js'];
  const passMs = { wasm: passes.map(() => [] as number[]), js: passes.map(() => [] as number[]) };
  const stepMs = { wasm: [[], []] as number[][], js: [[], []] as number[][] };
  const torchMs: number[][] = [[], []];
  const probeMs: number[] = [];
  const stagingMs: number[] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      for (const backend of r % 2 === 0 ? backends : [...backends].reverse()) {
        useKernels(backend);
        for (const [i, p] of passes.entries()) passMs[backend][i].push(medianOf(p.run, reps));
        stepMs[backend][0].push(medianOf(forward, reps));
        stepMs[backend][1].push(medianOf(forwardBackward, reps));
      }
      if (peer) {
        const t = await peer.round(reps);
        torchMs[0].push(median(t.forwardMs));
        torchMs[1].push(median(t.forwardBackwardMs));
      }
      probeMs.push(medianOf(() => consume(streamingRead(x)), reps));
      stagingMs.push(medianOf(staging, reps));
    }
  } finally {
    useKernels(initial);
    peer?.close();
  }

  const probe = median(probeMs);
  const probeGBs = gbPerSecond(bytes, probe);
  const stageMs = median(stagingMs);
  const passFigures = passes.map((p, i): PassFigure => {
    const wasm = median(passMs.wasm[i]);
    const js = median(passMs.js[i]);
    return {
      pass: p.pass,
      bytes: p.bytes,
      wasmMs: wasm,
      jsMs: js,
      wasmGbPerS: gbPerSecond(p.bytes, wasm),
      jsGbPerS: gbPerSecond(p.bytes, js),
      wasmRatioToProbe: gbPerSecond(p.bytes, wasm) / probeGBs,
      jsRatioToProbe: gbPerSecond(p.bytes, js) / probeGBs,
    };
  });
  const steps = (['forward', 'forward+backward'] as const).map(
    (step, i): StepFigure => ({
      step,
      wasmMs: median(stepMs.wasm[i]),
      jsMs: median(stepMs.js[i]),
      jsOverWasm: ratio(stepMs.js[i], stepMs.wasm[i]),
      ...(peer
        ? {
            pytorchMs: median(torchMs[i]),
            wasmOverPytorch: ratio(stepMs.wasm[i], torchMs[i]),
            jsOverPytorch: ratio(stepMs.js[i], torchMs[i]),
          }
        : {}),
    }),
  );
  const figure = steps[1].wasmOverPytorch?.median;
  return {
    shape,
    dtype: 'float32',
    rounds,
    reps,
    probe: { what: 'streaming read of x in a JS loop', ms: probe, gbPerS: probeGBs },
    staging: { ms: stageMs, gbPerS: gbPerSecond(bytes, stageMs), ratioToProbe: gbPerSecond(bytes, stageMs) / probeGBs },
    passes: passFigures,
    steps,
    ...(peer ? { pytorch: { threads: peer.threads, version: peer.version } } : { pytorchNote }),
    goal: {
      name: "BN forward+backward, one thread, over PyTorch's BatchNorm2d at one intra-op thread",
      goal: 1,
      ...(figure === undefined ? {} : { figure, met: figure <= 1 }),
    },
  };
}
