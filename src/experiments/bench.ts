/**
 * The cluster benchmark: how fast synchronized batch norm runs on worker-thread devices, measured
 * in one process run so that a noisy shared machine moves every figure together.
 *
 * On one float32 batch it times (medians over repetitions, after a warm-up):
 *   - a sync BN training step (forward + backward) and a local BN step on the same cluster and the
 *     same data, interleaved rep by rep, and single-threaded single-device BN on the whole batch
 *     (the batchNorm operator, and its bare kernels into preallocated outputs);
 *   - the all-reduce of 2C+1 float64 values (what sync BN sends) among the W devices, for every
 *     algorithm, as timed by the devices themselves;
 *   - starting and stopping a cluster of `startDevices` devices;
 *   - optionally PyTorch's CPU BatchNorm on the same shape (scripts/bench_torch.py), the peer to beat.
 * It returns plain data in camelCase with the goals and whether each is met; it never
 * asserts a time. src/report/json/bench-json.ts maps it to the documented JSON of `bench --json`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { checkWhole } from '../args.js';
import { gradInputTrain, gradSums } from '../bn/backward.js';
import { batchMoments } from '../bn/batch-moments.js';
import { batchNorm } from '../bn/batch-norm.js';
import { inverseStd, normalize } from '../bn/normalize.js';
import { consume, gbPerSecond, streamingRead, timeIt } from '../bench/measure.js';
import { ALGORITHM_NAMES, type AlgorithmName, DEFAULT_ALGORITHM } from '../collectives/algorithms/index.js';
import { Cluster, MAX_DEVICES } from '../cluster/cluster.js';
import { requireInput } from '../errors.js';
import { median, quantile } from '../summary-stats.js';
import { type Tensor, channelLayout } from '../tensor/tensor.js';
import { fillBenchBatch } from './bench-data.js';
import { checkBenchOptions } from './option-checks.js';
import { TORCH_PYTHON, packageRoot } from './torch-python.js';

/** The goals (figure <= goal is met). */
export const BENCH_GOALS = {
  /** Sync step time over local step time on the same cluster and data. */
  syncOverLocal: 1.1,
  /** Median all-reduce of 2C+1 values at W devices, in microseconds. */
  allreduceUs: 20,
  /** Sync step time over single-threaded single-device BN on the whole batch. */
  syncOverSingle: 0.7,
  /**
   * Sync step time over PyTorch's CPU BatchNorm forward+backward on the whole batch at this
   * machine's intra-op threads (scripts/bench_torch.py): the peer to beat.
   */
  syncOverPytorch: 0.6,
} as const;

/** The default of each option of {@link ClusterBenchOptions}. */
export const BENCH_DEFAULTS = {
  shape: [64, 64, 32, 32] as readonly number[],
  devices: 8,
  algorithm: DEFAULT_ALGORITHM,
  reps: 10,
  allreduceReps: 200,
  startDevices: 64,
  startReps: 3,
};

/** Largest batch the benchmark accepts (elements): each of x, y, dy, dx is allocated twice or more. */
export const MAX_BENCH_ELEMENTS = 2 ** 27;

/** What {@link benchmarkCluster} times; every field is optional. */
export interface ClusterBenchOptions {
  /** Worker threads hosting the devices (1 to the devices); default min(devices, cores). Results do not depend on it. */
  readonly threads?: number;
  /** [N,C] or [N,C,H,W]; default [64,64,32,32]. */
  readonly shape?: readonly number[];
  /** W, 1 to MAX_DEVICES; default 8. */
  readonly devices?: number;
  /** Algorithm of the sync steps and of `allreduceUs`; default DEFAULT_ALGORITHM. All five are timed. */
  readonly algorithm?: AlgorithmName;
  /** Timed steps of each kind (sync, local, single); default 10, after 2 warm-up steps each. */
  readonly reps?: number;
  /** Timed all-reduces per algorithm on each device; default 200, after a warm-up of 20. */
  readonly allreduceReps?: number;
  /** Devices of the cluster whose start and stop are timed; default 64. */
  readonly startDevices?: number;
  /** Start/stop cycles timed; default 3, after one warm-up cycle. */
  readonly startReps?: number;
  /** Run PyTorch's peer (needs /usr/bin/python3 with torch); default true. */
  readonly torch?: boolean;
  /** A PyTorch measurement already made in this run (skips running it again). */
  readonly peer?: TorchPeer;
  /** Progress lines (the CLI sends them to stderr when it is a TTY). */
  readonly onProgress?: (message: string) => void;
}

/** The timing of one all-reduce algorithm. */
export interface AllReduceFigures {
  /** The algorithm timed. */
  readonly algorithm: AlgorithmName;
  /**
   * Median, 10th and 90th percentile over calls of the whole collective's time (from the end of
   * the call before on the slowest thread to the end of this one there), in microseconds.
   */
  readonly medianUs: number;
  /** 10th percentile, in microseconds. */
  readonly p10Us: number;
  /** 90th percentile, in microseconds. */
  readonly p90Us: number;
  /** Calls timed. */
  readonly samples: number;
}

/** One of the goals (BENCH_GOALS) against the figure measured. */
export interface GoalCheck {
  /** The goal's key in BENCH_GOALS. */
  readonly name: string;
  /** What was measured. */
  readonly figure: number;
  /** The figure to stay at or under. */
  readonly goal: number;
  /** 'x' for a ratio, 'us' for microseconds. */
  readonly unit: 'x' | 'us';
  /** figure <= goal. */
  readonly met: boolean;
}

/** PyTorch's CPU BatchNorm on the benchmark's shape, as scripts/bench_torch.py reports it (read into camelCase). */
export interface TorchPeer {
  /** Median forward, in ms. */
  readonly forwardMs: number;
  /** Median forward then backward, in ms: what a sync step is held to. */
  readonly forwardBackwardMs: number;
  /** PyTorch's intra-op threads. */
  readonly threads: number;
}

/** What starting and stopping a cluster costs: the fixed price of every experiment. */
export interface StartStopFigures {
  /** Devices of the cluster started. */
  readonly devices: number;
  /** Cluster.start, ready(), close(): median ms. */
  readonly startReadyCloseMs: number;
  /** Cluster.start, ready(), one tiny sync forward (every thread up and loaded), close(): median ms. */
  readonly startFirstStepCloseMs: number;
  /** Cycles timed. */
  readonly reps: number;
}

/**
 * What {@link benchmarkCluster} measured: times, their ratios (which a noisy machine moves less
 * than the times) and the goals; src/report/json/bench-json.ts maps it to the documented JSON.
 */
export interface ClusterBenchReport {
  /** The batch's shape. */
  readonly shape: readonly number[];
  /** Always float32, the dtype training runs in. */
  readonly dtype: 'float32';
  /** W. */
  readonly devices: number;
  /** Algorithm of the sync steps and of `allreduceUs`. */
  readonly algorithm: AlgorithmName;
  /** CPUs Node may use: with fewer CPUs than devices, threads share cores. */
  readonly cpus: number;
  /** Repetitions timed. */
  readonly reps: {
    /** Steps of each kind. */
    readonly steps: number;
    /** All-reduces per algorithm. */
    readonly allreduce: number;
    /** Start/stop cycles. */
    readonly start: number;
  };
  /** Streaming read of x in a JS loop, timed in this run: what one thread gets from memory. */
  readonly probeMs: number;
  /** The same as bandwidth, GB/s. */
  readonly probeGbPerS: number;
  /** Medians of forward+backward training steps, in ms. */
  readonly syncStepMs: number;
  /** The same for local BN on the same cluster and data. */
  readonly localStepMs: number;
  /** The same for the batchNorm operator on the whole batch, one thread. */
  readonly singleStepMs: number;
  /**
   * The same step as bare single-thread kernels into preallocated outputs (no input checks, no
   * allocation): what the arithmetic and memory traffic alone cost on one thread. No goal.
   */
  readonly singleKernelsStepMs: number;
  /** syncStepMs / localStepMs: what synchronizing costs. */
  readonly syncOverLocal: number;
  /** syncStepMs / singleStepMs: what splitting over W devices gains. */
  readonly syncOverSingle: number;
  /** syncStepMs / singleKernelsStepMs. */
  readonly syncOverSingleKernels: number;
  /** 2C+1: the values one sync all-reduce carries. */
  readonly allreduceValues: number;
  /** Median all-reduce of 2C+1 values with `algorithm`, in microseconds. */
  readonly allreduceUs: number;
  /** Every algorithm's all-reduce of 2C+1 values. */
  readonly allreduce: readonly AllReduceFigures[];
  /** Starting and stopping a cluster of `startDevices`. */
  readonly startStop: StartStopFigures;
  /** PyTorch's CPU BatchNorm on the same shape, or why it did not run. */
  readonly pytorch?: TorchPeer;
  /** Why PyTorch did not run (absent when it did). */
  readonly pytorchNote?: string;
  /** syncStepMs / PyTorch's forwardBackwardMs, when PyTorch ran. */
  readonly syncOverPytorch?: number;
  /** Each goal of BENCH_GOALS with its figure; the PyTorch goal only when PyTorch ran. */
  readonly goals: readonly GoalCheck[];
}

interface Resolved {
  readonly shape: number[];
  readonly devices: number;
  readonly algorithm: AlgorithmName;
  readonly reps: number;
  readonly allreduceReps: number;
  readonly startDevices: number;
  readonly startReps: number;
}

/**
 * Fills defaults and checks every option, so a bad one is refused before any thread starts.
 *
 * @param options - as given to {@link benchmarkCluster}.
 * @returns every option with its default.
 * @throws InputError naming the bad one.
 */
export function resolveBenchOptions(options: ClusterBenchOptions): Resolved {
  checkBenchOptions(options);
  const shape = [...(options.shape ?? BENCH_DEFAULTS.shape)];
  requireInput(
    shape.length === 2 || shape.length === 4,
    () => `shape must be 2-D [N,C] or 4-D [N,C,H,W], got [${shape.join(',')}]`,
  );
  requireInput(
    shape.every((d) => Number.isSafeInteger(d) && d >= 1),
    () => `shape must hold whole numbers >= 1, got [${shape.join(',')}]`,
  );
  const elements = shape.reduce((a, b) => a * b, 1);
  requireInput(
    elements <= MAX_BENCH_ELEMENTS,
    () => `shape [${shape.join(',')}] has ${elements} elements; the benchmark takes at most ${MAX_BENCH_ELEMENTS}`,
  );
  const perChannel = elements / shape[1];
  requireInput(perChannel > 1, () => `shape [${shape.join(',')}] has 1 value per channel: training needs more`);
  const devices = options.devices ?? BENCH_DEFAULTS.devices;
  checkWhole('devices', devices, 1, MAX_DEVICES);
  const algorithm = options.algorithm ?? BENCH_DEFAULTS.algorithm;
  requireInput(
    ALGORITHM_NAMES.includes(algorithm),
    () => `unknown algorithm '${algorithm}' (${ALGORITHM_NAMES.join(', ')})`,
  );
  const reps = options.reps ?? BENCH_DEFAULTS.reps;
  checkWhole('reps', reps, 1, 100_000);
  const allreduceReps = options.allreduceReps ?? BENCH_DEFAULTS.allreduceReps;
  checkWhole('all-reduce reps', allreduceReps, 1, 1_000_000);
  const startDevices = options.startDevices ?? BENCH_DEFAULTS.startDevices;
  checkWhole('start devices', startDevices, 1, MAX_DEVICES);
  const startReps = options.startReps ?? BENCH_DEFAULTS.startReps;
  checkWhole('start reps', startReps, 1, 1000);
  return { shape, devices, algorithm, reps, allreduceReps, startDevices, startReps };
}

/** The benchmark batch in shared memory: the devices read it where it is, as a tuned user's would. */
function sharedBenchBatch(shape: readonly number[], phase: number): Tensor<Float32Array> {
  const data = fillBenchBatch(Cluster.sharedTensor(shape, 'float32').data as Float32Array, shape, phase);
  return { data, shape };
}

/**
 * PyTorch's CPU BatchNorm (2d for 4-D shapes, 1d for 2-D) on `shape`, median ms over `reps`, by
 * running scripts/bench_torch.py with Debian's python. Returns a reason instead when it cannot run:
 * PyTorch is optional, a missing one is a note in the report, never a failure.
 *
 * @param shape - [N,C] or [N,C,H,W].
 * @param reps - timed repetitions.
 * @returns PyTorch's figures, or why there are none.
 */
export function torchPeer(shape: readonly number[], reps: number): TorchPeer | { readonly reason: string } {
  const root = packageRoot();
  const script = root && join(root, 'scripts', 'bench_torch.py');
  if (!script || !existsSync(script)) return { reason: 'scripts/bench_torch.py not found beside the package' };
  if (!existsSync(TORCH_PYTHON)) return { reason: `${TORCH_PYTHON} not found` };
  const r = spawnSync(TORCH_PYTHON, [script, shape.join(','), String(reps)], { encoding: 'utf8', timeout: 300_000 });
  if (r.error) return { reason: `${TORCH_PYTHON} failed: ${r.error.message}` };
  if (r.status !== 0) {
    const last = (r.stderr || '').trim().split('\n').pop() || `exit status ${r.status}`;
    return {
      reason: /No module named .?torch/.test(r.stderr ?? '') ? 'torch is not installed for /usr/bin/python3' : last,
    };
  }
  try {
    // The script's JSON is snake_case; it is read into camelCase here, at the parse.
    const parsed = JSON.parse(r.stdout) as { forward_ms?: unknown; forward_backward_ms?: unknown; threads?: unknown };
    const { forward_ms: forwardMs, forward_backward_ms: forwardBackwardMs, threads } = parsed;
    const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
    if (finite(forwardMs) && finite(forwardBackwardMs) && finite(threads))
      return { forwardMs, forwardBackwardMs, threads };
  } catch {
    // fall through
  }
  return { reason: `unexpected output from bench_torch.py: ${r.stdout.trim().slice(0, 200)}` };
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

function allReduceFigures(algorithm: AlgorithmName, calls: number[]): AllReduceFigures {
  return {
    algorithm,
    medianUs: median(calls),
    p10Us: quantile(calls, 0.1),
    p90Us: quantile(calls, 0.9),
    samples: calls.length,
  };
}

const WARMUP_STEPS = 2;
const WARMUP_ALLREDUCES = 20;

/**
 * Runs the whole benchmark in this process, so every figure and its ratios share the machine's
 * mood. Never asserts a time: the goals are reported, met or not.
 *
 * @param options - shape, devices, algorithm and repetitions; every field has a default.
 * @returns the figures, ratios and goals.
 * @throws InputError for bad options, before starting anything.
 * @throws a DeviceFailureError when a device fails.
 * @example
 * ```ts
 * const report = await benchmarkCluster({ shape: [32, 16, 8, 8], devices: 4, torch: false });
 * console.log(report.syncOverLocal, report.allreduceUs);
 * ```
 */
export async function benchmarkCluster(options: ClusterBenchOptions = {}): Promise<ClusterBenchReport> {
  const o = resolveBenchOptions(options);
  const progress = options.onProgress ?? (() => {});
  const x = sharedBenchBatch(o.shape, 0);
  const dy = sharedBenchBatch(o.shape, 1.3);
  const C = o.shape[1];

  const probe = timeIt(() => consume(streamingRead(x.data)), Math.max(o.reps, 5));
  const single = () => consume(batchNorm(x, { gradOutput: dy }).gradInput!.data[0]);
  const layout = channelLayout(o.shape);
  const y = new Float32Array(x.data.length);
  const dx = new Float32Array(x.data.length);
  const kernels = () => {
    const m = batchMoments(x.data, layout);
    const invStd = inverseStd(m.var, 1e-5);
    normalize(x.data, layout, m.mean, invStd, undefined, undefined, y);
    const sums = gradSums(dy.data, x.data, layout, m.mean, invStd);
    gradInputTrain(dy.data, x.data, layout, m.mean, invStd, undefined, sums, m.count, dx);
    consume(dx[0] + y[0]);
  };

  progress(`starting ${o.devices} devices`);
  const cluster = Cluster.start({ devices: o.devices, threads: options.threads, algorithm: o.algorithm });
  const sync: number[] = [];
  const local: number[] = [];
  const singles: number[] = [];
  const bare: number[] = [];
  const allreduce: AllReduceFigures[] = [];
  try {
    await cluster.ready();
    // Outputs go to preallocated shared arrays, as the single-thread kernels write preallocated ones.
    const out = Cluster.sharedTensor(o.shape, 'float32');
    const gradIn = Cluster.sharedTensor(o.shape, 'float32');
    const step = (mode: 'sync' | 'local') => async () => {
      const f = await cluster.forward(x, { mode, training: true, output: out });
      consume(f.output.data[0]);
      const b = await cluster.backward(dy, { gradInput: gradIn });
      consume(b.gradInput.data[0]);
    };
    for (let i = 0; i < WARMUP_STEPS; i++) {
      await step('sync')();
      await step('local')();
      single();
      kernels();
    }
    progress(`timing ${o.reps} steps each of sync, local and single-device BN`);
    // Interleaved, so that a slow spell of the machine hits all three alike.
    for (let i = 0; i < o.reps; i++) {
      sync.push(await timeAsync(step('sync')));
      local.push(await timeAsync(step('local')));
      singles.push(await timeAsync(async () => single()));
      bare.push(await timeAsync(async () => kernels()));
    }
    for (const algorithm of ALGORITHM_NAMES) {
      progress(`timing ${o.allreduceReps} all-reduces of ${2 * C + 1} values (${algorithm})`);
      await cluster.benchmarkAllReduce(2 * C + 1, WARMUP_ALLREDUCES, algorithm);
      allreduce.push(
        allReduceFigures(algorithm, await cluster.benchmarkAllReduce(2 * C + 1, o.allreduceReps, algorithm)),
      );
    }
  } finally {
    await cluster.close();
  }

  progress(`timing start and stop of ${o.startDevices} devices`);
  const startStop = await timeStartStop(o.startDevices, o.startReps);

  let pytorch: TorchPeer | undefined = options.peer;
  let pytorchNote: string | undefined;
  if (!pytorch && options.torch !== false) {
    progress('running the PyTorch peer');
    const peer = torchPeer(o.shape, o.reps);
    if ('reason' in peer) pytorchNote = `not run: ${peer.reason}`;
    else pytorch = peer;
  } else if (!pytorch) {
    pytorchNote = 'not run (disabled)';
  }

  const syncMs = median(sync);
  const localMs = median(local);
  const singleMs = median(singles);
  const kernelsMs = median(bare);
  const chosen = allreduce.find((a) => a.algorithm === o.algorithm)!;
  const goal = (name: string, figure: number, limit: number, unit: GoalCheck['unit']): GoalCheck => ({
    name,
    figure,
    goal: limit,
    unit,
    met: figure <= limit,
  });
  const goals: GoalCheck[] = [
    goal('sync step / local step', syncMs / localMs, BENCH_GOALS.syncOverLocal, 'x'),
    goal(
      `all-reduce of ${2 * C + 1} values at W=${o.devices} (${o.algorithm})`,
      chosen.medianUs,
      BENCH_GOALS.allreduceUs,
      'us',
    ),
    goal('sync step / single-thread BN', syncMs / singleMs, BENCH_GOALS.syncOverSingle, 'x'),
  ];
  if (pytorch)
    goals.push(goal('sync step / PyTorch BN', syncMs / pytorch.forwardBackwardMs, BENCH_GOALS.syncOverPytorch, 'x'));

  return {
    shape: o.shape,
    dtype: 'float32',
    devices: o.devices,
    algorithm: o.algorithm,
    cpus: availableParallelism(),
    reps: { steps: o.reps, allreduce: o.allreduceReps, start: o.startReps },
    probeMs: probe.medianMs,
    probeGbPerS: gbPerSecond(x.data.byteLength, probe.medianMs),
    syncStepMs: syncMs,
    localStepMs: localMs,
    singleStepMs: singleMs,
    singleKernelsStepMs: kernelsMs,
    syncOverLocal: syncMs / localMs,
    syncOverSingle: syncMs / singleMs,
    syncOverSingleKernels: syncMs / kernelsMs,
    allreduceValues: 2 * C + 1,
    allreduceUs: chosen.medianUs,
    allreduce,
    startStop,
    ...(pytorch ? { pytorch, syncOverPytorch: syncMs / pytorch.forwardBackwardMs } : {}),
    ...(pytorchNote ? { pytorchNote } : {}),
    goals,
  };
}

/** Median ms of start + ready + close, and of start + ready + one tiny sync step + close. */
async function timeStartStop(devices: number, reps: number): Promise<StartStopFigures> {
  // Two rows per device and one channel: the smallest batch every device holds a part of.
  const tiny: Tensor = { data: Float32Array.from({ length: 2 * devices }, (_, i) => i % 3), shape: [2 * devices, 1] };
  const bare = async () => {
    const c = Cluster.start({ devices });
    try {
      await c.ready();
    } finally {
      await c.close();
    }
  };
  const withStep = async () => {
    const c = Cluster.start({ devices });
    try {
      await c.ready();
      await c.forward(tiny, { mode: 'sync' });
    } finally {
      await c.close();
    }
  };
  await withStep(); // warm-up: file cache, JIT of the coordinator
  const bareMs: number[] = [];
  const stepMs: number[] = [];
  for (let i = 0; i < reps; i++) {
    bareMs.push(await timeAsync(bare));
    stepMs.push(await timeAsync(withStep));
  }
  return { devices, startReadyCloseMs: median(bareMs), startFirstStepCloseMs: median(stepMs), reps };
}
