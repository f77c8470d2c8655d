/**
 * `run --norm`: group norm, layer norm or instance norm on a user's own arrays, on one device or
 * on W simulated devices in any BN mode. These normalizations take their statistics per sample
 * (over C/G x H x W, C x H x W or H x W), never across examples, so a device needs nothing from
 * its peers: the batch is split as the devices would hold it (numpy.array_split over W, then
 * ghost chunks of G rows), each piece is normalized on its own by the single-device operator, and
 * the outputs and input gradients are put back in order; they are bitwise those of one device in
 * every mode. The parameter gradients are sums over examples: each device sums its own rows and
 * the devices' sums are added in rank order, as DDP's all-reduce would, so they equal one
 * device's to the rounding of that last sum. Nothing is sent, so no thread is started.
 */
import { requireInput } from '../errors.js';
import { parseMode } from '../bn/modes.js';
import { MAX_DEVICES } from '../cluster/cluster.js';
import { groupNorm } from '../norm/group-norm.js';
import { instanceNorm } from '../norm/instance-norm.js';
import { layerNorm } from '../norm/layer-norm.js';
import type { NormOptions, NormResult } from '../norm/operator.js';
import { ghostChunks, shardRows } from '../tensor/sharding.js';
import { type FloatArray, type Tensor, allocLike } from '../tensor/tensor.js';
import { type ModelNorm, modelNormName, parseModelNorm } from '../train/model-norm.js';
import type { RunInputs } from './run.js';

/** The normalizations `run --norm` runs (besides batch norm, which is `run` itself). */
export const RUN_NORM_KINDS: readonly ModelNorm['kind'][] = ['group-norm', 'layer-norm', 'instance-norm'];

/** How a norm run is spread: W devices and the BN mode (which these normalizations ignore but for ghost chunks). */
export interface NormRunSpread {
  /** W, 1 to MAX_DEVICES. */
  readonly devices: number;
  /** local, sync, group:K or ghost:G; default sync. */
  readonly mode?: string;
}

/** One piece of the batch normalized on its own. */
export interface NormPiece {
  /** The device that holds it. */
  readonly rank: number;
  /** First and last (exclusive) row of the whole batch. */
  readonly rows: readonly [number, number];
}

/** What a norm run gives. */
export interface NormRunReport {
  /** group-norm:G, layer-norm or instance-norm. */
  readonly norm: string;
  /** Added to the variance. */
  readonly eps: number;
  /** The input, as normalized. */
  readonly input: Tensor;
  /** y, the input's shape and dtype. */
  readonly output: Tensor;
  /** dL/dx, with a grad output. */
  readonly gradInput?: Tensor;
  /** dL/dgamma (summed over devices in rank order), with a grad output. */
  readonly gradWeight?: FloatArray;
  /** dL/dbeta, the same way. */
  readonly gradBias?: FloatArray;
  /** Present with devices: W, the mode, and the pieces each device normalized. */
  readonly cluster?: { readonly devices: number; readonly mode: string; readonly pieces: readonly NormPiece[] };
}

/**
 * Parses and checks a `run --norm` name.
 * @param text - group-norm:G, layer-norm or instance-norm.
 * @returns the normalization.
 * @throws InputError for another name.
 */
export function parseRunNorm(text: string): ModelNorm {
  const norm = parseModelNorm(text);
  requireInput(
    RUN_NORM_KINDS.includes(norm.kind),
    () =>
      `run --norm takes group-norm:G, layer-norm or instance-norm, got ${text} (batch norm is run without --norm; batch-renorm and frn are for train)`,
  );
  return norm;
}

function operator(norm: ModelNorm, input: Tensor, options: NormOptions): NormResult {
  if (norm.kind === 'group-norm') return groupNorm(input, { ...options, groups: norm.groups });
  if (norm.kind === 'layer-norm') return layerNorm(input, options);
  return instanceNorm(input, options);
}

function rowsOf(t: Tensor, start: number, end: number): Tensor {
  const size = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { data: t.data.subarray(start * size, end * size), shape: [end - start, ...t.shape.slice(1)] };
}

/**
 * Runs a batch-independent normalization on loaded arrays, on one device or split over devices.
 * @param inputs - input, optional grad output, weight and bias (running statistics are refused:
 *   these normalizations keep none). Layer norm's weight and bias have the shape of one example
 *   (PyTorch's nn.LayerNorm([C, H, W])); group and instance norm's are [C].
 * @param settings - the normalization's name and eps (default 1e-5).
 * @param spread - W devices and the mode; without it, one device.
 * @returns the output, the gradients and how the batch was split.
 * @throws InputError for a bad name, shape, value or option.
 */
export function runNorm(
  inputs: RunInputs,
  settings: { norm: string; eps?: number },
  spread?: NormRunSpread,
): NormRunReport {
  const norm = parseRunNorm(settings.norm);
  requireInput(
    inputs.runningMean === undefined && inputs.runningVar === undefined,
    () => `${modelNormName(norm)} keeps no running statistics: --running-mean and --running-var do not apply`,
  );
  const { input, gradOutput } = inputs;
  const example = input.shape.slice(1);
  if (norm.kind === 'layer-norm') {
    for (const [what, t] of [
      ['weight', inputs.weight],
      ['bias', inputs.bias],
    ] as const) {
      requireInput(
        t === undefined || (t.shape.length === example.length && t.shape.every((d, i) => d === example[i])),
        () =>
          `layer-norm's ${what} must have the shape of one example [${example.join(',')}] (nn.LayerNorm over C, H, W), got [${t!.shape.join(',')}]`,
      );
    }
  }
  const options: NormOptions = { eps: settings.eps, weight: inputs.weight?.data, bias: inputs.bias?.data, gradOutput };
  // The whole batch on one device first: it checks every shape and value before any split.
  const single = operator(norm, input, options);
  const eps = settings.eps ?? 1e-5;
  if (spread === undefined) {
    return {
      norm: modelNormName(norm),
      eps,
      input,
      output: single.output,
      gradInput: single.gradInput,
      gradWeight: single.gradWeight,
      gradBias: single.gradBias,
    };
  }
  requireInput(
    Number.isSafeInteger(spread.devices) && spread.devices >= 1 && spread.devices <= MAX_DEVICES,
    () => `devices must be a whole number from 1 to ${MAX_DEVICES}, got ${spread.devices}`,
  );
  const mode = parseMode(spread.mode ?? 'sync', spread.devices);
  const N = input.shape[0];
  const pieces: NormPiece[] = [];
  for (let rank = 0; rank < spread.devices; rank++) {
    const [s, e] = shardRows(N, spread.devices, rank);
    const chunks =
      mode.kind === 'ghost'
        ? ghostChunks(e - s, mode.size).map(([a, b]) => [s + a, s + b] as const)
        : [[s, e] as const];
    for (const rows of chunks) if (rows[1] > rows[0]) pieces.push({ rank, rows });
  }
  const x = input.data;
  const output = allocLike(x, x.length);
  const gradInput = gradOutput ? allocLike(x, x.length) : undefined;
  const C = input.shape[1];
  const affine = single.gradWeight?.length ?? C;
  const perDevice = Array.from({ length: spread.devices }, () => ({
    w: new Float64Array(affine),
    b: new Float64Array(affine),
  }));
  const size = example.reduce((a, b) => a * b, 1);
  for (const p of pieces) {
    const [s, e] = p.rows;
    const r = operator(norm, rowsOf(input, s, e), {
      ...options,
      gradOutput: gradOutput ? rowsOf(gradOutput, s, e) : undefined,
    });
    output.set(r.output.data, s * size);
    if (gradInput && r.gradInput && r.gradWeight && r.gradBias) {
      gradInput.set(r.gradInput.data, s * size);
      for (let i = 0; i < affine; i++) {
        perDevice[p.rank].w[i] += r.gradWeight[i];
        perDevice[p.rank].b[i] += r.gradBias[i];
      }
    }
  }
  let gradWeight: FloatArray | undefined;
  let gradBias: FloatArray | undefined;
  if (gradInput) {
    // DDP's all-reduce of the parameter gradients, in rank order.
    const w = new Float64Array(affine);
    const b = new Float64Array(affine);
    for (const d of perDevice) {
      for (let i = 0; i < affine; i++) {
        w[i] += d.w[i];
        b[i] += d.b[i];
      }
    }
    gradWeight = allocLike(x, affine);
    gradBias = allocLike(x, affine);
    gradWeight.set(w);
    gradBias.set(b);
  }
  return {
    norm: modelNormName(norm),
    eps,
    input,
    output: { data: output, shape: [...input.shape] },
    gradInput: gradInput ? { data: gradInput, shape: [...input.shape] } : undefined,
    gradWeight,
    gradBias,
    cluster: { devices: spread.devices, mode: spread.mode ?? 'sync', pieces },
  };
}
