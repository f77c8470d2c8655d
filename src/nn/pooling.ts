/**
 * 2-D pooling on NCHW batches, square window `kernel`, `stride` (default: the kernel), no padding,
 * floor mode (as PyTorch: a window that would run past the edge is dropped, so 5x5 pooled by 2 gives
 * 2x2). AvgPool2d divides by kernel*kernel; MaxPool2d routes the gradient to the first maximum of
 * each window in row-major order (PyTorch's CPU choice on ties).
 */
import { requireInput } from '../errors.js';
import { ofType } from '../args.js';
import type { SeededRandom } from '../tensor/random.js';
import { ModeBuffers, checkBackward, checkInput, reuse } from './buffers.js';
import type { Layer } from './layer.js';

interface PoolGeometry {
  readonly planes: number; // batch * channels
  readonly H: number;
  readonly W: number;
  readonly outH: number;
  readonly outW: number;
}

abstract class Pool2d implements Layer {
  /** {@inheritDoc Layer.name} */
  abstract readonly name: string;
  /** {@inheritDoc Layer.paramCount} */
  readonly paramCount = 0;
  /** The stride. */
  readonly stride: number;
  protected readonly out = new ModeBuffers();
  protected dx: Float32Array | undefined;
  protected geom: PoolGeometry | undefined;

  /**
   * @param kernelSize - k of the k x k window.
   * @param stride - the stride (default k: windows do not overlap).
   * @throws {@link syncbn-sim!InputError} when an argument is unusable.
   */
  constructor(
    /** k of the k x k window. */
    readonly kernelSize: number,
    stride?: number,
  ) {
    ofType.number('a positive integer')('kernelSize', kernelSize);
    if (stride !== undefined) ofType.number('a positive integer')('stride', stride);
    this.stride = stride ?? kernelSize;
    requireInput(
      Number.isInteger(kernelSize) && kernelSize > 0,
      `pooling: kernel size must be a positive integer, got ${kernelSize}`,
    );
    requireInput(
      Number.isInteger(this.stride) && this.stride > 0,
      `pooling: stride must be a positive integer, got ${this.stride}`,
    );
  }

  /** {@inheritDoc Layer.outputShape} */
  outputShape(input: readonly number[]): number[] {
    requireInput(input.length === 3, () => `${this.name}: input must be [C, H, W], got [${input.join(',')}]`);
    const [C, H, W] = input;
    const outH = Math.floor((H - this.kernelSize) / this.stride) + 1;
    const outW = Math.floor((W - this.kernelSize) / this.stride) + 1;
    requireInput(outH > 0 && outW > 0, () => `${this.name}: input ${H}x${W} is smaller than the window`);
    return [C, outH, outW];
  }
  /** {@inheritDoc Layer.bind} */
  bind(_params: Float32Array, _grads: Float32Array): void {}
  /** {@inheritDoc Layer.init} */
  init(_rng: SeededRandom): void {}

  /** {@inheritDoc Layer.forward} */
  forward(x: Float32Array, batch: number, inputShape: readonly number[], training: boolean): Float32Array {
    const [C, outH, outW] = this.outputShape(inputShape);
    const [, H, W] = inputShape;
    checkInput(this.name, x, batch, C * H * W);
    const g: PoolGeometry = { planes: batch * C, H, W, outH, outW };
    const y = this.out.get(training, g.planes * outH * outW);
    this.pool(x, g, y, training);
    if (training) this.geom = g;
    return y;
  }

  /** {@inheritDoc Layer.backward} */
  backward(dy: Float32Array): Float32Array {
    const g = this.geom;
    checkBackward(this.name, g && g.planes * g.outH * g.outW, dy);
    this.dx = reuse(this.dx, g!.planes * g!.H * g!.W);
    const dx = this.dx;
    dx.fill(0);
    this.unpool(dy, g!, dx);
    return dx;
  }

  protected abstract pool(x: Float32Array, g: PoolGeometry, y: Float32Array, training: boolean): void;
  protected abstract unpool(dy: Float32Array, g: PoolGeometry, dx: Float32Array): void;
}

/** The 2x2, stride 2 case of LeNet, unrolled (same sums in the same order as the general loop). */
function avgPool2x2(x: Float32Array, g: PoolGeometry, y: Float32Array): void {
  const { planes, H, W, outH, outW } = g;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const xp = pl * H * W;
    for (let oh = 0; oh < outH; oh++) {
      const r0 = xp + 2 * oh * W;
      const r1 = r0 + W;
      for (let ow = 0; ow < outW; ow++) {
        const c = 2 * ow;
        y[o++] = (x[r0 + c] + x[r0 + c + 1] + x[r1 + c] + x[r1 + c + 1]) * 0.25;
      }
    }
  }
}

function avgUnpool2x2(dy: Float32Array, g: PoolGeometry, dx: Float32Array): void {
  const { planes, H, W, outH, outW } = g;
  let o = 0;
  for (let pl = 0; pl < planes; pl++) {
    const xp = pl * H * W;
    for (let oh = 0; oh < outH; oh++) {
      const r0 = xp + 2 * oh * W;
      const r1 = r0 + W;
      for (let ow = 0; ow < outW; ow++) {
        const v = dy[o++] * 0.25;
        const c = 2 * ow;
        dx[r0 + c] = v;
        dx[r0 + c + 1] = v;
        dx[r1 + c] = v;
        dx[r1 + c + 1] = v;
      }
    }
  }
}

/**
 * Average pooling over k x k windows of each channel (nn.AvgPool2d, no padding).
 *
 * @example
 * ```ts
 * new AvgPool2d(2); // [6, 28, 28] -> [6, 14, 14]
 * ```
 */
export class AvgPool2d extends Pool2d {
  /** {@inheritDoc Layer.name} */
  get name(): string {
    return `avgpool2d(${this.kernelSize}${this.stride !== this.kernelSize ? `, s=${this.stride}` : ''})`;
  }

  protected pool(x: Float32Array, g: PoolGeometry, y: Float32Array): void {
    const { planes, H, W, outH, outW } = g;
    const k = this.kernelSize;
    const s = this.stride;
    const scale = 1 / (k * k);
    if (k === 2 && s === 2) {
      avgPool2x2(x, g, y);
      return;
    }
    for (let pl = 0; pl < planes; pl++) {
      const xp = pl * H * W;
      const yp = pl * outH * outW;
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          let sum = 0;
          const top = xp + oh * s * W + ow * s;
          for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) sum += x[top + i * W + j];
          y[yp + oh * outW + ow] = sum * scale;
        }
      }
    }
  }

  protected unpool(dy: Float32Array, g: PoolGeometry, dx: Float32Array): void {
    const { planes, H, W, outH, outW } = g;
    const k = this.kernelSize;
    const s = this.stride;
    const scale = 1 / (k * k);
    if (k === 2 && s === 2) {
      avgUnpool2x2(dy, g, dx);
      return;
    }
    for (let pl = 0; pl < planes; pl++) {
      const xp = pl * H * W;
      const yp = pl * outH * outW;
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          const v = dy[yp + oh * outW + ow] * scale;
          const top = xp + oh * s * W + ow * s;
          for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) dx[top + i * W + j] += v;
        }
      }
    }
  }
}

/**
 * Max pooling over k x k windows of each channel (nn.MaxPool2d, no padding); the gradient goes to
 * the first maximum.
 */
export class MaxPool2d extends Pool2d {
  private argmax: Int32Array | undefined; // input index of each output's maximum (training)

  /** {@inheritDoc Layer.name} */
  get name(): string {
    return `maxpool2d(${this.kernelSize}${this.stride !== this.kernelSize ? `, s=${this.stride}` : ''})`;
  }

  protected pool(x: Float32Array, g: PoolGeometry, y: Float32Array, training: boolean): void {
    const { planes, H, W, outH, outW } = g;
    const k = this.kernelSize;
    const s = this.stride;
    const n = planes * outH * outW;
    let arg: Int32Array | undefined;
    if (training) arg = this.argmax = this.argmax?.length === n ? this.argmax : new Int32Array(n);
    for (let pl = 0; pl < planes; pl++) {
      const xp = pl * H * W;
      const yp = pl * outH * outW;
      for (let oh = 0; oh < outH; oh++) {
        for (let ow = 0; ow < outW; ow++) {
          const top = xp + oh * s * W + ow * s;
          let best = top;
          let max = x[top];
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < k; j++) {
              const at = top + i * W + j;
              const v = x[at];
              // NaN propagates, as in PyTorch
              if (v > max || Number.isNaN(v)) {
                max = v;
                best = at;
                if (Number.isNaN(v)) break;
              }
            }
            if (Number.isNaN(max)) break;
          }
          y[yp + oh * outW + ow] = max;
          if (arg) arg[yp + oh * outW + ow] = best;
        }
      }
    }
  }

  protected unpool(dy: Float32Array, _g: PoolGeometry, dx: Float32Array): void {
    const arg = this.argmax!;
    for (let o = 0; o < arg.length; o++) dx[arg[o]] += dy[o];
  }
}
