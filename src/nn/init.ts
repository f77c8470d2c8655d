/**
 * Weight initialisation from the seeded RNG (src/tensor/random.ts), as torch.nn.init does it:
 *
 * | scheme            | distribution                                   |
 * |-------------------|------------------------------------------------|
 * | `xavier-uniform`  | U(-b, b), b = gain * sqrt(6 / (fanIn + fanOut)) |
 * | `xavier-normal`   | N(0, std), std = gain * sqrt(2 / (fanIn + fanOut)) |
 * | `kaiming-uniform` | U(-b, b), b = gain * sqrt(3 / fanIn), gain = sqrt(2) (ReLU) |
 * | `kaiming-normal`  | N(0, std), std = gain / sqrt(fanIn), gain = sqrt(2) (ReLU) |
 * | `pytorch`         | PyTorch's own default for Linear and Conv2d: kaiming_uniform_(a = sqrt(5)), i.e. U(-1/sqrt(fanIn), 1/sqrt(fanIn)) |
 *
 * fanIn = inputs x receptive field (k*k for a conv), fanOut = outputs x receptive field.
 * The default for Linear and Conv2d here is `xavier-uniform`: the lecture's d2l code applies
 * nn.init.xavier_uniform_ to every Linear and Conv2d weight, and its networks use sigmoid; choose
 * `kaiming-normal` (or `kaiming-uniform`) for ReLU networks. Biases start at zero (`bias: 'zero'`),
 * or, with `bias: 'pytorch'`, at PyTorch's default U(-1/sqrt(fanIn), 1/sqrt(fanIn)), which is what
 * the d2l code leaves them at (it re-initialises weights only).
 */
import { InternalError } from '../errors.js';
import type { SeededRandom } from '../tensor/random.js';

/** How a weight is initialised (see the table in the module comment). */
export type InitScheme = 'xavier-uniform' | 'xavier-normal' | 'kaiming-uniform' | 'kaiming-normal' | 'pytorch';
/** How a bias is initialised: zeros, or PyTorch's default U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
export type BiasInit = 'zero' | 'pytorch';

/** The weights' default initialisation: xavier-uniform, as the lecture's code. */
export const DEFAULT_INIT: InitScheme = 'xavier-uniform';
/** The biases' default initialisation: zeros. */
export const DEFAULT_BIAS_INIT: BiasInit = 'zero';

/** The fans of a weight, as torch.nn.init computes them. */
export interface Fans {
  /** Inputs x receptive field. */
  readonly fanIn: number;
  /** Outputs x receptive field. */
  readonly fanOut: number;
}

/**
 * Fans of a weight of shape [out, in, ...kernel] (torch.nn.init._calculate_fan_in_and_fan_out).
 *
 * @param shape - the weight's shape, at least 2-D.
 * @returns fanIn and fanOut.
 * @throws {@link InternalError} for a shape of fewer than 2 dimensions.
 */
export function fansOf(shape: readonly number[]): Fans {
  if (shape.length < 2)
    throw new InternalError(`fans need a weight of at least 2 dimensions, got [${shape.join(',')}]`);
  let receptive = 1;
  for (let i = 2; i < shape.length; i++) receptive *= shape[i];
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/**
 * Fills with U(-bound, bound).
 *
 * @param target - the weight to fill.
 * @param bound - the half-width.
 * @param rng - the generator.
 */
export function fillUniform(target: Float32Array, bound: number, rng: SeededRandom): void {
  for (let i = 0; i < target.length; i++) target[i] = (2 * rng.uniform() - 1) * bound;
}

/**
 * Fills with N(0, std).
 *
 * @param target - the weight to fill.
 * @param std - the standard deviation.
 * @param rng - the generator.
 */
export function fillNormal(target: Float32Array, std: number, rng: SeededRandom): void {
  for (let i = 0; i < target.length; i++) target[i] = rng.normal() * std;
}

/**
 * torch.nn.init.xavier_uniform_: U(-b, b), b = gain sqrt(6 / (fanIn + fanOut)).
 *
 * @param target - the weight to fill.
 * @param fans - its fans.
 * @param rng - the generator.
 * @param gain - the gain (default 1).
 */
export function xavierUniform(target: Float32Array, fans: Fans, rng: SeededRandom, gain = 1): void {
  fillUniform(target, gain * Math.sqrt(6 / (fans.fanIn + fans.fanOut)), rng);
}

/**
 * torch.nn.init.xavier_normal_: N(0, gain sqrt(2 / (fanIn + fanOut))).
 *
 * @param target - the weight to fill.
 * @param fans - its fans.
 * @param rng - the generator.
 * @param gain - the gain (default 1).
 */
export function xavierNormal(target: Float32Array, fans: Fans, rng: SeededRandom, gain = 1): void {
  fillNormal(target, gain * Math.sqrt(2 / (fans.fanIn + fans.fanOut)), rng);
}

/**
 * torch.nn.init.kaiming_uniform_ (fan_in): U(-b, b), b = gain sqrt(3 / fanIn).
 *
 * @param target - the weight to fill.
 * @param fans - its fans.
 * @param rng - the generator.
 * @param gain - the gain (default sqrt 2, for ReLU).
 */
export function kaimingUniform(target: Float32Array, fans: Fans, rng: SeededRandom, gain = Math.SQRT2): void {
  fillUniform(target, gain * Math.sqrt(3 / fans.fanIn), rng);
}

/**
 * torch.nn.init.kaiming_normal_ (fan_in): N(0, gain / sqrt(fanIn)).
 *
 * @param target - the weight to fill.
 * @param fans - its fans.
 * @param rng - the generator.
 * @param gain - the gain (default sqrt 2, for ReLU).
 */
export function kaimingNormal(target: Float32Array, fans: Fans, rng: SeededRandom, gain = Math.SQRT2): void {
  fillNormal(target, gain / Math.sqrt(fans.fanIn), rng);
}

/**
 * Fills a weight with the scheme's distribution.
 *
 * @param target - the weight to fill.
 * @param scheme - the scheme.
 * @param fans - its fans.
 * @param rng - the generator.
 * @throws {@link InternalError} for an unknown scheme.
 */
export function initWeight(target: Float32Array, scheme: InitScheme, fans: Fans, rng: SeededRandom): void {
  switch (scheme) {
    case 'xavier-uniform':
      xavierUniform(target, fans, rng);
      return;
    case 'xavier-normal':
      xavierNormal(target, fans, rng);
      return;
    case 'kaiming-uniform':
      kaimingUniform(target, fans, rng);
      return;
    case 'kaiming-normal':
      kaimingNormal(target, fans, rng);
      return;
    case 'pytorch':
      fillUniform(target, 1 / Math.sqrt(fans.fanIn), rng);
      return;
    default:
      throw new InternalError(`unknown init scheme '${scheme as string}'`);
  }
}

/**
 * Fills a bias: zeros, or PyTorch's default U(-1/sqrt(fanIn), 1/sqrt(fanIn)).
 *
 * @param target - the bias to fill.
 * @param scheme - the scheme.
 * @param fans - its fans.
 * @param rng - the generator.
 */
export function initBias(target: Float32Array, scheme: BiasInit, fans: Fans, rng: SeededRandom): void {
  if (scheme === 'zero') target.fill(0);
  else fillUniform(target, fans.fanIn > 0 ? 1 / Math.sqrt(fans.fanIn) : 0, rng);
}
