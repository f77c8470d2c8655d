/**
 * The one engine that runs any framework's synchronized-BN rule (src/semantics/rules.ts) on a
 * batch split over devices: pure, given each device's shard, it computes what each device would
 * send, the merge, the mean and variance each device normalizes with, its output and its running
 * variance after the step.
 *
 * Arithmetic model: every value the framework stores (a device's statistics, a message, a
 * merged value, an output) is rounded to the precision the framework keeps it in (float32 for a
 * float32 or mixed-precision model, the 16-bit format where its rule keeps statistics in it); the
 * expression between two stores is exact, and a device's own reduction over its shard is exact
 * before it is rounded. This is a lower bound on each framework's rounding error (a GPU's
 * reduction adds its own); the differences between rules, which is what this measures, are
 * whole.
 */
import { checkChoice, checkNumber, checkObject, checkOptions } from '../args.js';
import { requireInput } from '../errors.js';
import { HALF_FORMATS, type HalfFormat } from '../half/formats.js';
import { storedCount } from '../half/counts.js';
import { halfRounding } from '../half/round.js';
import { type Tensor, channelLayout } from '../tensor/tensor.js';
import { batchAxes } from '../norm/axes.js';
import { setMoments } from '../norm/reduce.js';
import { type SyncBnRule, statisticsPrecision } from './rules.js';

/** How the input is stored: the simulator's float64 or float32, or a 16-bit format. */
export type StorageType = 'float64' | 'float32' | HalfFormat;

/** Every storage type. */
export const STORAGE_TYPES: readonly StorageType[] = ['float64', 'float32', ...HALF_FORMATS];

/** Options of one rule's run. */
export interface RuleRunOptions {
  /** How the shards' values are stored (they are rounded to it first); default float32. */
  readonly storage?: StorageType;
  /**
   * The model itself is in the 16-bit storage format (PyTorch's model.half()): running statistics
   * and, in PyTorch, the per-rank counts are kept in it. Default false (mixed precision: float32
   * parameters and running statistics).
   */
  readonly halfModel?: boolean;
  /** Default: the framework's. */
  readonly eps?: number;
  /** Default: the framework's. */
  readonly momentum?: number;
  /** Running variance before the step, for every channel; default 1. */
  readonly initialRunningVar?: number;
}

/** What one device normalizes with, and keeps. */
export interface DeviceView {
  /** Rows of its shard (0 for an empty one). */
  readonly rows: number;
  /** Elements per channel on this device. */
  readonly count: number;
  /** The mean it normalizes with, per channel. */
  readonly mean: Float64Array;
  /** The biased variance it normalizes with (as the framework holds it), per channel. */
  readonly var: Float64Array;
  /** 1 / sqrt(var + eps) as the framework computes it, per channel. */
  readonly invStd: Float64Array;
  /** Its running variance after the step. */
  readonly runningVar: Float64Array;
}

/** The outcome of one rule on one split batch. */
export interface RuleOutcome {
  /** The framework whose rule ran. */
  readonly framework: SyncBnRule['name'];
  /** Set when the framework refuses the batch (the reason, as its source says it). */
  readonly refused?: string;
  /** Each device's view, by rank. */
  readonly devices: readonly DeviceView[];
  /** Every device's output, concatenated in rank order (the input's shape). */
  readonly output: Float64Array;
  /** The eps and momentum used. */
  readonly eps: number;
  /** The running-statistics momentum used, in the framework's own form. */
  readonly momentum: number;
}

/** A rounding to a precision. */
export type Rounding = (x: number) => number;

/**
 * The rounding of a precision.
 * @param precision - float64 (none), float32, float16 or bfloat16.
 * @returns the function.
 */
export function roundingOf(precision: StorageType): Rounding {
  if (precision === 'float64') return (x) => x;
  if (precision === 'float32') return Math.fround;
  return halfRounding(precision);
}

/** Exact per-device, per-channel statistics of the stored shard values. */
interface ShardStats {
  readonly rows: number;
  readonly count: number;
  readonly sum: Float64Array;
  readonly sumSq: Float64Array;
  readonly mean: Float64Array;
  readonly var: Float64Array;
  readonly meanSq: Float64Array;
}

function shardStats(x: Float64Array, shape: readonly number[]): ShardStats {
  const layout = channelLayout(shape);
  const C = layout.channels;
  const m = setMoments(x, layout, batchAxes(C));
  const sumSq = new Float64Array(C);
  const sum = new Float64Array(C);
  for (let r = 0; r < layout.rows; r++)
    for (let c = 0; c < C; c++) {
      const start = (r * C + c) * layout.inner;
      for (let i = start; i < start + layout.inner; i++) {
        sum[c] += x[i];
        sumSq[c] += x[i] * x[i];
      }
    }
  const n = m.count;
  return { rows: layout.rows, count: n, sum, sumSq, mean: m.mean, var: m.var, meanSq: sumSq.map((v) => v / n) };
}

/** The merged statistics every device (or each device, for apex) ends with. */
interface Merged {
  mean: Float64Array;
  var: Float64Array;
  invStd: Float64Array;
  /** The variance folded into the running variance. */
  runningStat: Float64Array;
  /** The momentum actually applied (Detectron2's stats_mode N scales it). */
  momentum: number;
}

function perChannel(C: number, f: (c: number) => number): Float64Array {
  return Float64Array.from({ length: C }, (_, c) => f(c));
}

/**
 * Runs one framework's rule on the shards of a batch.
 * @param rule - the framework's record.
 * @param shards - each device's rows, [n_d, C] or [n_d, C, H, W] with the same C, H, W (n_d may be 0).
 * @param options - storage type, whole-model 16-bit, eps, momentum, initial running variance.
 * @returns what each device normalizes with, the output and the running variances.
 * @throws InputError for shards of different shapes or bad options.
 */
export function applyRule(rule: SyncBnRule, shards: readonly Tensor[], options: RuleRunOptions = {}): RuleOutcome {
  checkObject('rule', rule);
  checkOptions('options', options);
  requireInput(Array.isArray(shards) && shards.length > 0, 'shards must be a non-empty array of tensors');
  const storage = options.storage === undefined ? 'float32' : checkChoice('storage', options.storage, STORAGE_TYPES);
  const eps = options.eps === undefined ? rule.eps : checkNumber('eps', options.eps, { above: 0 });
  const momentum =
    options.momentum === undefined
      ? rule.running.momentum
      : checkNumber('momentum', options.momentum, { min: 0, max: 1 });
  const r0 =
    options.initialRunningVar === undefined
      ? 1
      : checkNumber('initialRunningVar', options.initialRunningVar, { min: 0 });
  const halfModel = options.halfModel === true && (storage === 'float16' || storage === 'bfloat16');
  const tail = shards[0].shape.slice(1);
  for (const s of shards as readonly Tensor[]) {
    requireInput(
      s.shape.length === tail.length + 1 && s.shape.slice(1).every((d: number, i: number) => d === tail[i]),
      'every shard must have the same [C(, H, W)]',
    );
  }
  const store = roundingOf(storage);
  const rd = roundingOf(statisticsPrecision(rule, storage));
  const keep = halfModel ? store : roundingOf(storage === 'float64' ? 'float64' : 'float32'); // running statistics' dtype
  const values = shards.map((s) => {
    const v = new Float64Array(s.data.length);
    for (let i = 0; i < v.length; i++) v[i] = store(s.data[i]);
    return v;
  });
  const stats = shards.map((s, d) => shardStats(values[d], s.shape));
  const C = tail[0];
  const W = shards.length;

  const outcome = (refused: string | undefined, merged: (d: number) => Merged): RuleOutcome => {
    const devices: DeviceView[] = [];
    const outputs: Float64Array[] = [];
    for (let d = 0; d < W; d++) {
      const m = merged(d);
      const runningVar = perChannel(C, (c) =>
        rule.running.form === 'torch'
          ? keep(r0 + m.momentum * (m.runningStat[c] - r0))
          : keep(momentum * r0 + (1 - momentum) * m.runningStat[c]),
      );
      devices.push({
        rows: stats[d].rows,
        count: stats[d].count,
        mean: m.mean,
        var: m.var,
        invStd: m.invStd,
        runningVar,
      });
      const x = values[d];
      const inner = stats[d].rows === 0 ? 1 : x.length / (stats[d].rows * C);
      const y = new Float64Array(x.length);
      for (let start = 0; start < x.length; start += inner) {
        const c = (start / inner) % C;
        const mu = m.mean[c];
        const is = m.invStd[c];
        const shift = rd(-mu * is);
        if (rule.output === 'centered') for (let i = start; i < start + inner; i++) y[i] = store(rd(x[i] - mu) * is);
        else for (let i = start; i < start + inner; i++) y[i] = store(rd(x[i] * is) + shift);
      }
      outputs.push(y);
    }
    const output = new Float64Array(outputs.reduce((a, o) => a + o.length, 0));
    let at = 0;
    for (const o of outputs) {
      output.set(o, at);
      at += o.length;
    }
    return { framework: rule.name, refused, devices, output, eps, momentum };
  };
  const invStdOf = (v: Float64Array) => perChannel(C, (c) => rd(1 / Math.sqrt(rd(v[c] + eps))));
  const nanMerged = (): Merged => {
    const nan = new Float64Array(C).fill(NaN);
    return { mean: nan, var: nan, invStd: nan, runningStat: nan, momentum };
  };

  switch (rule.sends) {
    case 'mean-invstd-count': {
      // PyTorch: all-gather of [mean, invstd, count]; ranks with count < 1 masked; pairwise merge.
      // Counts take the running statistics' dtype: float16 or bfloat16 once the model is .half()
      // (src/half/counts.ts: exact to 2048 in float16, infinity from 65520).
      const counts = stats.map((s) =>
        halfModel && rule.half.counts === 'running-dtype'
          ? storedCount(s.count, storage as HalfFormat)
          : Math.fround(s.count),
      );
      const mean = new Float64Array(C);
      const varN = new Float64Array(C);
      let n = 0;
      for (let d = 0; d < W; d++) {
        const count = counts[d];
        if (!(count >= 1)) continue;
        for (let c = 0; c < C; c++) {
          const m = rd(stats[d].mean[c]);
          const invstd = rd(1 / Math.sqrt(rd(stats[d].var[c] + eps)));
          const v = rd((rd(1 / invstd) ** 2 - eps) * count);
          const factor = rd(1 / (n + count));
          varN[c] = rd(varN[c] + v + (mean[c] - m) ** 2 * n * count * factor);
          mean[c] = rd(n * factor * mean[c] + count * factor * m);
        }
        n += count;
      }
      if (n === 0) return outcome(undefined, nanMerged);
      const v = perChannel(C, (c) => rd(varN[c] / n));
      const merged: Merged = {
        mean,
        var: v,
        invStd: invStdOf(v),
        runningStat: perChannel(C, (c) => varN[c] / (n - 1)),
        momentum,
      };
      return outcome(undefined, () => merged);
    }
    case 'sums': {
      // Keras: all-reduced sum, sum of squares and count; divide_no_nan; variance clamped at 0.
      const S = new Float64Array(C);
      const S2 = new Float64Array(C);
      let N = 0;
      for (const s of stats) {
        for (let c = 0; c < C; c++) {
          S[c] = rd(S[c] + rd(s.sum[c]));
          S2[c] = rd(S2[c] + rd(s.sumSq[c]));
        }
        N = rd(N + s.count);
      }
      const mean = perChannel(C, (c) => (N === 0 ? 0 : rd(S[c] / N)));
      const v = perChannel(C, (c) => Math.max(rd((N === 0 ? 0 : rd(S2[c] / N)) - rd(mean[c] * mean[c])), 0));
      const merged: Merged = { mean, var: v, invStd: invStdOf(v), runningStat: v, momentum };
      return outcome(undefined, () => merged);
    }
    case 'mean-meansq':
    case 'mean-var-meansq': {
      // Flax, Horovod-TF, Detectron2 "": the unweighted mean over devices of [mean, E[x^2]].
      if (rule.emptyRank === 'refused' && stats.some((s) => s.rows === 0)) {
        return outcome('SyncBatchNorm(stats_mode="") does not support zero batch size', nanMerged);
      }
      const mu = new Float64Array(C);
      const mu2 = new Float64Array(C);
      for (const s of stats) {
        for (let c = 0; c < C; c++) {
          const m = s.count === 0 ? NaN : rd(s.mean[c]);
          const sq =
            s.count === 0 ? NaN : rule.sends === 'mean-meansq' ? rd(s.meanSq[c]) : rd(rd(s.var[c]) + rd(m * m));
          mu[c] = rd(mu[c] + m);
          mu2[c] = rd(mu2[c] + sq);
        }
      }
      const mean = perChannel(C, (c) => rd(mu[c] / W));
      const raw = perChannel(C, (c) => rd(rd(mu2[c] / W) - rd(mean[c] * mean[c])));
      const v = rule.variance === 'clamped' ? raw.map((x) => (Number.isNaN(x) ? NaN : Math.max(0, x))) : raw;
      const merged: Merged = { mean, var: v, invStd: invStdOf(v), runningStat: v, momentum };
      return outcome(undefined, () => merged);
    }
    case 'rows-mean-meansq': {
      // Detectron2 "N": all-reduce of [mean, E[x^2], 1] * B; divided by max(total B, 1).
      const vec = new Float64Array(2 * C + 1);
      for (const s of stats) {
        const B = s.rows;
        for (let c = 0; c < C; c++) {
          vec[c] = rd(vec[c] + (B === 0 ? 0 : rd(rd(s.mean[c]) * B)));
          vec[C + c] = rd(vec[C + c] + (B === 0 ? 0 : rd(rd(s.meanSq[c]) * B)));
        }
        vec[2 * C] = rd(vec[2 * C] + B);
      }
      const total = vec[2 * C];
      const mean = perChannel(C, (c) => rd(vec[c] / Math.max(total, 1)));
      const v = perChannel(C, (c) => rd(rd(vec[C + c] / Math.max(total, 1)) - rd(mean[c] * mean[c])));
      const merged: Merged = {
        mean,
        var: v,
        invStd: invStdOf(v),
        runningStat: v,
        momentum: Math.min(total, 1) * momentum,
      };
      return outcome(undefined, () => merged);
    }
    case 'mean-var': {
      // Apex: all-gather of mean and biased var; each rank merges every rank with its own count.
      return outcome(undefined, (k) => {
        const numel = stats[k].count;
        const mean = new Float64Array(C);
        const m2n = new Float64Array(C);
        let count = 0;
        for (let j = 0; j < W; j++) {
          const factor = 1 / Math.max(1, count + numel);
          for (let c = 0; c < C; c++) {
            const meanJ = stats[j].count === 0 ? 0 : rd(stats[j].mean[c]);
            const varJ = stats[j].count === 0 ? NaN : rd(stats[j].var[c]);
            const delta = mean[c] - meanJ;
            mean[c] = rd((meanJ * numel + mean[c] * count) * factor);
            m2n[c] = rd(m2n[c] + rd(varJ * numel) + delta * delta * numel * count * factor);
          }
          count += numel;
        }
        const v = perChannel(C, (c) => rd(m2n[c] / count));
        return {
          mean,
          var: v,
          invStd: perChannel(C, (c) => rd(1 / Math.sqrt(rd(m2n[c] / count + eps)))),
          runningStat: perChannel(C, (c) => rd(m2n[c] / (count - 1))),
          momentum,
        };
      });
    }
  }
}
