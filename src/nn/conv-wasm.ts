/**
 * Conv2d (stride 1) with everything in the WebAssembly runtime's memory: the input and the weight
 * are copied in, im2col runs there, the products read their operands where they lie, col2im runs
 * there, and only the outputs come back. Compared with im2col in JavaScript plus the general
 * `gemm` (which copies col in and the product out), this saves the JavaScript im2col/col2im loops
 * and two large copies per product; the column matrix is rebuilt in the backward pass rather than
 * kept, which in wasm costs less than copying it out and back.
 *
 *   forward   Y [out, batch*P] = W [out, in*k*k] · col [in*k*k, batch*P], permuted to NCHW + bias
 *   backward  dW^T [in*k*k, out] = col · dyT [batch*P, out]   (dyT: dY transposed, channels last)
 *             dcol [in*k*k, batch*P] = W^T · dY [out, batch*P];  dx = col2im(dcol)
 * Memory is laid out from the runtime's `base` for the duration of one call (see
 * src/kernels/wasm-runtime.ts); im2col and col2im are assembly/im2col.ts and assembly/col2im.ts.
 */
import type { WasmRuntime } from '../kernels/wasm-runtime.js';
import { gemmTile, residentProduct, roundUp } from './gemm-wasm.js';

/** Input channels and size, and output size, of one stride-1 convolution. */
export interface ConvGeometry {
  /** Input channels. */
  readonly C: number;
  /** Input height. */
  readonly H: number;
  /** Input width. */
  readonly W: number;
  /** Output height. */
  readonly outH: number;
  /** Output width. */
  readonly outW: number;
}

const align = (n: number) => (n + 15) & ~15;

/** Float offsets of the regions for one call. */
function layout(rt: WasmRuntime, batch: number, g: ConvGeometry, k: number, O: number) {
  const tile = gemmTile(rt);
  const Kc = g.C * k * k;
  const P = g.outH * g.outW;
  const NP = batch * P;
  const NPp = roundUp(NP, tile.cols);
  const OpCols = roundUp(O, tile.cols);
  const Kcp = roundUp(Kc, tile.rows);
  const OpRows = roundUp(O, tile.rows);
  const xSize = batch * g.C * g.H * g.W;
  const wAt = rt.base;
  const xAt = align(wAt + OpRows * Kc + 16);
  const colAt = align(xAt + xSize + 16);
  const end = align(colAt + Kcp * NPp + 16);
  return { Kc, P, NP, NPp, OpCols, OpRows, Kcp, xSize, wAt, xAt, colAt, end };
}

/** Copies W and x in and builds col [Kc, NP] (row stride NPp) in the runtime's memory. */
function stage(
  rt: WasmRuntime,
  L: ReturnType<typeof layout>,
  heap: Float32Array,
  x: Float32Array,
  weight: Float32Array,
  batch: number,
  g: ConvGeometry,
  k: number,
  pad: number,
): void {
  heap.set(weight, L.wAt);
  heap.set(x, L.xAt);
  rt.kernels.im2col(L.xAt * 4, batch, g.C, g.H, g.W, k, pad, g.outH, g.outW, L.colAt * 4, L.NPp * 4);
}

/**
 * y [batch, O, outH, outW] = conv(x) + bias, stride 1.
 * @param rt - this thread's runtime.
 * @param x - the input, NCHW [batch, C, H, W].
 * @param batch - examples in x.
 * @param g - the geometry.
 * @param k - the kernel size.
 * @param pad - zero padding on every side.
 * @param weight - [O, C, k, k].
 * @param bias - [O], or empty for none.
 * @param O - output channels.
 * @param y - receives the output.
 */
export function convForwardWasm(
  rt: WasmRuntime,
  x: Float32Array,
  batch: number,
  g: ConvGeometry,
  k: number,
  pad: number,
  weight: Float32Array,
  bias: Float32Array,
  O: number,
  y: Float32Array,
): void {
  const L = layout(rt, batch, g, k, O);
  const yAt = L.end;
  const heap = rt.reserve(yAt + L.OpRows * L.NPp + 16);
  stage(rt, L, heap, x, weight, batch, g, k, pad);
  residentProduct(rt, false, O, L.NP, L.Kc, L.wAt, L.Kc, L.colAt, L.NPp, yAt, L.NPp, false);
  const { P, NPp } = L;
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < O; o++) {
      const src = yAt + o * NPp + b * P;
      const dst = (b * O + o) * P;
      const bo = bias.length > 0 ? bias[o] : 0;
      for (let p = 0; p < P; p++) y[dst + p] = heap[src + p] + bo;
    }
  }
}

/**
 * The backward pass of `convForwardWasm`: adds dL/dW into gradWeight and dL/db into gradBias
 * (when not empty); writes dL/dx into dx unless dx is undefined.
 * @param rt - this thread's runtime.
 * @param x - the forward input, NCHW.
 * @param batch - examples in x.
 * @param g - the geometry.
 * @param k - the kernel size.
 * @param pad - zero padding on every side.
 * @param weight - [O, C, k, k].
 * @param O - output channels.
 * @param dy - dL/dy, NCHW [batch, O, outH, outW].
 * @param gradWeight - [O, C, k, k], added into.
 * @param gradBias - [O] added into, or empty.
 * @param dx - receives dL/dx, or undefined to skip it.
 */
export function convBackwardWasm(
  rt: WasmRuntime,
  x: Float32Array,
  batch: number,
  g: ConvGeometry,
  k: number,
  pad: number,
  weight: Float32Array,
  O: number,
  dy: Float32Array,
  gradWeight: Float32Array,
  gradBias: Float32Array,
  dx: Float32Array | undefined,
): void {
  const L = layout(rt, batch, g, k, O);
  const { Kc, P, NP, NPp, OpCols, Kcp } = L;
  const dyLastAt = L.end; // [NP, OpCols]: dy with channels last
  const dwAt = align(dyLastAt + NP * OpCols + 16); // [Kcp, OpCols]: dW^T
  const dyAt = align(dwAt + Kcp * OpCols + 16); // [O, NPp]: dy channel-major (padded to 4 rows: the transpose reads rows in fours)
  const dcolAt = align(dyAt + roundUp(O, 4) * NPp + 16); // [Kcp, NPp]
  const dxAt = align(dcolAt + Kcp * NPp + 16);
  const heap = rt.reserve(dx ? dxAt + L.xSize + 16 : dcolAt);
  stage(rt, L, heap, x, weight, batch, g, k, pad);
  // dY [O, NPp]: one memcpy per (example, channel) plane; channels last = its transpose, by the wasm routine
  // (which reads rows in fours: the rows past O are in the padding that follows)
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < O; o++) heap.set(dy.subarray((b * O + o) * P, (b * O + o + 1) * P), dyAt + o * NPp + b * P);
  }
  rt.kernels.transpose(dyAt * 4, O, NP, NPp * 4, dyLastAt * 4, OpCols * 4);
  if (gradBias.length > 0) {
    for (let o = 0; o < O; o++) {
      let sum = 0;
      for (let b = 0; b < batch; b++) {
        const src = (b * O + o) * P;
        for (let p = 0; p < P; p++) sum += dy[src + p];
      }
      gradBias[o] += sum;
    }
  }
  residentProduct(rt, false, Kc, O, NP, L.colAt, NPp, dyLastAt, OpCols, dwAt, OpCols, false);
  for (let o = 0; o < O; o++) {
    const row = o * Kc;
    for (let r = 0; r < Kc; r++) gradWeight[row + r] += heap[dwAt + r * OpCols + o];
  }
  if (!dx) return;
  residentProduct(rt, true, Kc, NP, O, L.wAt, Kc, dyAt, NPp, dcolAt, NPp, false);
  heap.fill(0, dxAt, dxAt + L.xSize);
  rt.kernels.col2im(dxAt * 4, batch, g.C, g.H, g.W, k, pad, g.outH, g.outW, dcolAt * 4, NPp * 4);
  dx.set(heap.subarray(dxAt, dxAt + L.xSize));
}
