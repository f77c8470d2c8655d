// The batch-norm forward transform y = (x - mean) * scale + shift per channel, with
// scale = gamma / sqrt(var + eps) and shift = beta computed by the driver. It keeps the
// reference's form rather than PyTorch's x * alpha + beta (alpha = scale, beta = shift -
// mean * scale), which loses every digit when |mean| >> std; and it computes in f64 as the
// reference does, so the result is the reference's to the bit (assembly/bn-lanes.ts).
// The block is [rows][channels][inner] elements of type T; y may be x.
import { quadHi, quadLo, scalarAt, storeQuad, storeScalar } from './bn-lanes';

function normalize<T>(x: usize, rows: i32, channels: i32, inner: i32, mean: usize, scale: usize, shift: usize, y: usize): void {
  const size = <usize>sizeof<T>();
  if (inner == 1) {
    normalizeAcrossChannels<T>(x, rows, channels, mean, scale, shift, y);
    return;
  }
  const inner4 = inner & ~3;
  let off: usize = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const at = <usize>c * 8;
      const mu = load<f64>(mean + at);
      const sc = load<f64>(scale + at);
      const sh = load<f64>(shift + at);
      const mm = f64x2.splat(mu);
      const ss = f64x2.splat(sc);
      const hh = f64x2.splat(sh);
      let i = 0;
      for (; i < inner4; i += 4) {
        const e = off + <usize>i * size;
        const lo = f64x2.add(f64x2.mul(f64x2.sub(quadLo<T>(x + e), mm), ss), hh);
        const hi = f64x2.add(f64x2.mul(f64x2.sub(quadHi<T>(x + e), mm), ss), hh);
        storeQuad<T>(y + e, lo, hi);
      }
      for (; i < inner; i++) {
        const e = off + <usize>i * size;
        storeScalar<T>(y + e, (scalarAt<T>(x + e) - mu) * sc + sh);
      }
      off += <usize>inner * size;
    }
  }
}

/** inner = 1: four channels per quad along each row, the per-channel factors loaded as vectors. */
function normalizeAcrossChannels<T>(x: usize, rows: i32, channels: i32, mean: usize, scale: usize, shift: usize, y: usize): void {
  const size = <usize>sizeof<T>();
  const channels4 = channels & ~3;
  let off: usize = 0;
  for (let r = 0; r < rows; r++) {
    let c = 0;
    for (; c < channels4; c += 4) {
      const at = <usize>c * 8;
      const e = off + <usize>c * size;
      const lo = f64x2.add(f64x2.mul(f64x2.sub(quadLo<T>(x + e), v128.load(mean + at)), v128.load(scale + at)), v128.load(shift + at));
      const hi = f64x2.add(f64x2.mul(f64x2.sub(quadHi<T>(x + e), v128.load(mean + at, 16)), v128.load(scale + at, 16)), v128.load(shift + at, 16));
      storeQuad<T>(y + e, lo, hi);
    }
    for (; c < channels; c++) {
      const at = <usize>c * 8;
      const e = off + <usize>c * size;
      storeScalar<T>(y + e, (scalarAt<T>(x + e) - load<f64>(mean + at)) * load<f64>(scale + at) + load<f64>(shift + at));
    }
    off += <usize>channels * size;
  }
}

/**
 * y = (x - mean[c]) * scale[c] + shift[c] over float32 blocks [rows][channels][inner] at x and y
 * (y may be x); mean, scale and shift are f64 per channel. Byte addresses.
 */
export function bnNormalizeF32(x: usize, rows: i32, channels: i32, inner: i32, mean: usize, scale: usize, shift: usize, y: usize): void {
  normalize<f32>(x, rows, channels, inner, mean, scale, shift, y);
}

/** bnNormalizeF32 on float64 data. */
export function bnNormalizeF64(x: usize, rows: i32, channels: i32, inner: i32, mean: usize, scale: usize, shift: usize, y: usize): void {
  normalize<f64>(x, rows, channels, inner, mean, scale, shift, y);
}
