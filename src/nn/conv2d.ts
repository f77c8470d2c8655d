/**
 * Conv2d on NCHW float32 batches: weight [out, in, k, k] then bias [out] in the bound slice
 * (PyTorch's layout), square kernel, stride (default 1) and zero padding on every side.
 *
 * The whole batch is one matrix multiply. im2col lays the input out as col [in*k*k, batch*P]
 * (P = outH*outW: column b*P + p holds the patch under output pixel p of example b), then
 *   forward   Y [out, batch*P] = W [out, in*k*k] · col,      permuted to NCHW with the bias added
 *   backward  dW += dY · col^T,  db += sums of dY,  dcol = W^T · dY,  dx = col2im(dcol)
 * with dY the output gradient permuted to [out, batch*P]. One large product instead of one per
 * example keeps the GEMM in its efficient regime (N = batch*P columns). On the `wasm` kernel
 * backend with stride 1, the same computation runs inside the WebAssembly memory
 * (src/nn/conv-wasm.ts); the JavaScript im2col/col2im below serve the other cases and are the
 * reference in the tests.
 */
import { requireInput } from '../errors.js';
import { kernelBackend } from '../kernels/backend.js';
import { type WasmRuntime, wasmRuntime } from '../kernels/wasm-runtime.js';
import { checkFields, ofType } from '../args.js';
import type { SeededRandom } from '../tensor/random.js';
import { ModeBuffers, checkBackward, checkInput, reuse } from './buffers.js';
import { convBackwardWasm, convForwardWasm } from './conv-wasm.js';
import { gemm } from './gemm.js';
import { type BiasInit, DEFAULT_BIAS_INIT, DEFAULT_INIT, type InitScheme, initBias, initWeight } from './init.js';
import type { Layer } from './layer.js';

/** Options of {@link Conv2d}. */
export interface Conv2dOptions {
  /** Zero padding on each side (default 0). */
  readonly padding?: number;
  /** Stride (default 1). */
  readonly stride?: number;
  /** Weight initialisation (default `xavier-uniform`, see src/nn/init.ts). */
  readonly init?: InitScheme;
  /** Bias initialisation (default `zero`). */
  readonly biasInit?: BiasInit;
  /** Whether the layer has a bias (default true). */
  readonly bias?: boolean;
}

const EMPTY = new Float32Array(0);

/** Geometry of one conv over one input shape. */
interface Geometry {
  readonly C: number;
  readonly H: number;
  readonly W: number;
  readonly outH: number;
  readonly outW: number;
}

/**
 * col[(c*k + ki)*k + kj][b*P + oh*outW + ow] = x[b][c][oh*s + ki - p][ow*s + kj - p] (0 outside).
 *
 * @param x - the input, [batch, C, H, W].
 * @param batch - examples.
 * @param g - the input and output geometry.
 * @param k - kernel size.
 * @param stride - the stride.
 * @param pad - zero padding on each side.
 * @param col - receives the column matrix, [C*k*k][batch*outH*outW].
 */
export function im2col(
  x: Float32Array,
  batch: number,
  g: Geometry,
  k: number,
  stride: number,
  pad: number,
  col: Float32Array,
): void {
  const { C, H, W, outH, outW } = g;
  const P = outH * outW;
  const NP = batch * P;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < C; c++) {
      const xPlane = (b * C + c) * H * W;
      for (let ki = 0; ki < k; ki++) {
        for (let kj = 0; kj < k; kj++) {
          const base = ((c * k + ki) * k + kj) * NP + b * P;
          // output columns whose input column ow*s + kj - pad lies inside [0, W)
          const owLo = Math.max(0, Math.ceil((pad - kj) / stride));
          const owHi = Math.min(outW, Math.floor((W - 1 + pad - kj) / stride) + 1);
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh * stride + ki - pad;
            const d = base + oh * outW;
            if (ih < 0 || ih >= H || owLo >= owHi) {
              col.fill(0, d, d + outW);
              continue;
            }
            const src = xPlane + ih * W + kj - pad;
            for (let ow = 0; ow < owLo; ow++) col[d + ow] = 0;
            if (stride === 1) for (let ow = owLo; ow < owHi; ow++) col[d + ow] = x[src + ow];
            else for (let ow = owLo; ow < owHi; ow++) col[d + ow] = x[src + ow * stride];
            for (let ow = owHi; ow < outW; ow++) col[d + ow] = 0;
          }
        }
      }
    }
  }
}

/**
 * The adjoint of im2col: dx (zeroed here) receives every column entry at the input it came from.
 *
 * @param col - the column matrix, [C*k*k][batch*outH*outW].
 * @param batch - examples.
 * @param g - the input and output geometry.
 * @param k - kernel size.
 * @param stride - the stride.
 * @param pad - zero padding on each side.
 * @param dx - receives the input gradient, [batch, C, H, W].
 */
export function col2im(
  col: Float32Array,
  batch: number,
  g: Geometry,
  k: number,
  stride: number,
  pad: number,
  dx: Float32Array,
): void {
  const { C, H, W, outH, outW } = g;
  const P = outH * outW;
  const NP = batch * P;
  dx.fill(0);
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < C; c++) {
      const xPlane = (b * C + c) * H * W;
      for (let ki = 0; ki < k; ki++) {
        for (let kj = 0; kj < k; kj++) {
          const base = ((c * k + ki) * k + kj) * NP + b * P;
          const owLo = Math.max(0, Math.ceil((pad - kj) / stride));
          const owHi = Math.min(outW, Math.floor((W - 1 + pad - kj) / stride) + 1);
          if (owLo >= owHi) continue;
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh * stride + ki - pad;
            if (ih < 0 || ih >= H) continue;
            const d = base + oh * outW;
            const dst = xPlane + ih * W + kj - pad;
            if (stride === 1) for (let ow = owLo; ow < owHi; ow++) dx[dst + ow] += col[d + ow];
            else for (let ow = owLo; ow < owHi; ow++) dx[dst + ow * stride] += col[d + ow];
          }
        }
      }
    }
  }
}

const integer = ofType.number('a positive integer');

/**
 * A 2-D convolution over [C, H, W] examples with square kernels, as PyTorch's nn.Conv2d (weight
 * [out, in, k, k], then bias, in the bound slice): im2col and a GEMM, both on WebAssembly SIMD.
 *
 * @example
 * ```ts
 * const conv = new Conv2d(1, 6, 5, { padding: 2 }); // LeNet's first layer: [1, 28, 28] -> [6, 28, 28]
 * ```
 */
export class Conv2d implements Layer {
  /** {@inheritDoc Layer.name} */
  readonly name: string;
  /** {@inheritDoc Layer.paramCount} */
  readonly paramCount: number;
  /** Zero padding on each side. */
  readonly padding: number;
  /** The stride. */
  readonly stride: number;
  /** When false, backward skips dL/dx and returns an empty array (set by Sequential on a first layer). */
  inputGrad = true;
  private readonly hasBias: boolean;
  private readonly scheme: InitScheme;
  private readonly biasScheme: BiasInit;
  private weight: Float32Array = new Float32Array(0);
  private bias: Float32Array = new Float32Array(0);
  private gradWeight: Float32Array = new Float32Array(0);
  private gradBias: Float32Array = new Float32Array(0);
  private readonly out = new ModeBuffers();
  private readonly cols = new ModeBuffers();
  private yT: Float32Array | undefined; // [out, batch*P] product before the permute
  private dyT: Float32Array | undefined;
  private dcol: Float32Array | undefined;
  private dx: Float32Array | undefined;
  private cache:
    | { x: Float32Array; col: Float32Array | undefined; batch: number; g: Geometry; rt: WasmRuntime | undefined }
    | undefined;

  /**
   * @param inChannels - C of the input.
   * @param outChannels - channels of the output.
   * @param kernelSize - k of the k x k kernel.
   * @param options - padding (default 0), stride (default 1), initialisations, bias (default true).
   * @throws {@link syncbn-sim!InputError} when an argument is unusable.
   */
  constructor(
    /** C of the input. */
    readonly inChannels: number,
    /** Channels of the output. */
    readonly outChannels: number,
    /** k of the k x k kernel. */
    readonly kernelSize: number,
    options: Conv2dOptions = {},
  ) {
    checkFields(
      'arguments',
      { inChannels, outChannels, kernelSize },
      { inChannels: integer, outChannels: integer, kernelSize: integer },
    );
    checkFields('options', options, {
      padding: ofType.number('a non-negative integer'),
      stride: integer,
      bias: ofType.boolean,
    });
    const positive = (v: number) => Number.isInteger(v) && v > 0;
    requireInput(positive(inChannels), `conv2d: in channels must be a positive integer, got ${inChannels}`);
    requireInput(positive(outChannels), `conv2d: out channels must be a positive integer, got ${outChannels}`);
    requireInput(positive(kernelSize), `conv2d: kernel size must be a positive integer, got ${kernelSize}`);
    this.padding = options.padding ?? 0;
    this.stride = options.stride ?? 1;
    requireInput(
      Number.isInteger(this.padding) && this.padding >= 0,
      `conv2d: padding must be a non-negative integer, got ${this.padding}`,
    );
    requireInput(positive(this.stride), `conv2d: stride must be a positive integer, got ${this.stride}`);
    this.hasBias = options.bias ?? true;
    this.scheme = options.init ?? DEFAULT_INIT;
    this.biasScheme = options.biasInit ?? DEFAULT_BIAS_INIT;
    this.paramCount = outChannels * inChannels * kernelSize * kernelSize + (this.hasBias ? outChannels : 0);
    this.name = `conv2d(${inChannels}, ${outChannels}, k=${kernelSize}${this.padding ? `, p=${this.padding}` : ''}${this.stride !== 1 ? `, s=${this.stride}` : ''})`;
  }

  private geometry(input: readonly number[]): Geometry {
    requireInput(input.length === 3, () => `${this.name}: input must be [C, H, W], got [${input.join(',')}]`);
    const [C, H, W] = input;
    requireInput(C === this.inChannels, () => `${this.name}: input has ${C} channels, expected ${this.inChannels}`);
    const outH = Math.floor((H + 2 * this.padding - this.kernelSize) / this.stride) + 1;
    const outW = Math.floor((W + 2 * this.padding - this.kernelSize) / this.stride) + 1;
    requireInput(outH > 0 && outW > 0, () => `${this.name}: input ${H}x${W} is smaller than the kernel`);
    return { C, H, W, outH, outW };
  }

  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    const g = this.geometry(input);
    return [this.outChannels, g.outH, g.outW];
  }

  /** {@inheritDoc Layer.bind} */
  bind(params: Float32Array, grads: Float32Array): void {
    requireInput(
      params.length === this.paramCount && grads.length === this.paramCount,
      () => `${this.name}: bound slices must hold ${this.paramCount} values`,
    );
    const w = this.outChannels * this.inChannels * this.kernelSize * this.kernelSize;
    this.weight = params.subarray(0, w);
    this.bias = params.subarray(w);
    this.gradWeight = grads.subarray(0, w);
    this.gradBias = grads.subarray(w);
  }

  /** {@inheritDoc Layer.init} */
  init(rng: SeededRandom): void {
    const receptive = this.kernelSize * this.kernelSize;
    const fans = { fanIn: this.inChannels * receptive, fanOut: this.outChannels * receptive };
    initWeight(this.weight, this.scheme, fans, rng);
    if (this.hasBias) initBias(this.bias, this.biasScheme, fans, rng);
  }

  /** The WebAssembly path (src/nn/conv-wasm.ts) on the `wasm` backend when the stride is 1. */
  private runtime(): WasmRuntime | undefined {
    return this.stride === 1 && kernelBackend() === 'wasm' ? wasmRuntime() : undefined;
  }

  /** {@inheritDoc Layer.forward} */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array {
    const g = this.geometry(inputShape);
    checkInput(this.name, x, batch, g.C * g.H * g.W);
    const { kernelSize: k, outChannels: O } = this;
    const P = g.outH * g.outW;
    const y = this.out.get(training, batch * O * P);
    const rt = this.runtime();
    if (rt) {
      convForwardWasm(rt, x, batch, g, k, this.padding, this.weight, this.hasBias ? this.bias : EMPTY, O, y);
      if (training) this.cache = { x, col: undefined, batch, g, rt };
      return y;
    }
    const Kc = g.C * k * k;
    const NP = batch * P;
    const col = this.cols.get(training, Kc * NP);
    im2col(x, batch, g, k, this.stride, this.padding, col);
    this.yT = reuse(this.yT, O * NP);
    const yT = this.yT;
    gemm(false, false, O, NP, Kc, this.weight, Kc, col, NP, yT, NP);
    const bias = this.bias;
    for (let b = 0; b < batch; b++) {
      for (let o = 0; o < O; o++) {
        const src = o * NP + b * P;
        const dst = (b * O + o) * P;
        const bo = this.hasBias ? bias[o] : 0;
        for (let p = 0; p < P; p++) y[dst + p] = yT[src + p] + bo;
      }
    }
    if (training) this.cache = { x, col, batch, g, rt: undefined };
    return y;
  }

  /** {@inheritDoc Layer.backward} */
  backward(dy: Float32Array): Float32Array {
    const cache = this.cache;
    const { kernelSize: k, outChannels: O } = this;
    checkBackward(this.name, cache && cache.batch * O * cache.g.outH * cache.g.outW, dy);
    const { x, batch, g, rt } = cache!;
    const Kc = g.C * k * k;
    if (rt) {
      if (this.inputGrad) this.dx = reuse(this.dx, batch * g.C * g.H * g.W);
      const dx = this.inputGrad ? this.dx : undefined;
      convBackwardWasm(
        rt,
        x,
        batch,
        g,
        k,
        this.padding,
        this.weight,
        O,
        dy,
        this.gradWeight,
        this.hasBias ? this.gradBias : EMPTY,
        dx,
      );
      return dx ?? new Float32Array(0);
    }
    const col = cache!.col!;
    const P = g.outH * g.outW;
    const NP = batch * P;
    // dY [out, batch*P], and the bias gradient on the way
    this.dyT = reuse(this.dyT, O * NP);
    const dyT = this.dyT;
    for (let o = 0; o < O; o++) {
      let sum = 0;
      for (let b = 0; b < batch; b++) {
        const src = (b * O + o) * P;
        const dst = o * NP + b * P;
        for (let p = 0; p < P; p++) {
          const v = dy[src + p];
          dyT[dst + p] = v;
          sum += v;
        }
      }
      if (this.hasBias) this.gradBias[o] += sum;
    }
    gemm(false, true, O, Kc, NP, dyT, NP, col, NP, this.gradWeight, Kc, true);
    if (!this.inputGrad) return new Float32Array(0);
    this.dcol = reuse(this.dcol, Kc * NP);
    const dcol = this.dcol;
    gemm(true, false, Kc, NP, O, this.weight, Kc, dyT, NP, dcol, NP);
    this.dx = reuse(this.dx, batch * g.C * g.H * g.W);
    const dx = this.dx;
    col2im(dcol, batch, g, k, this.stride, this.padding, dx);
    return dx;
  }
}
