// The gradient of the batch-norm input, per channel:
//   train: dx = scale * (dy - meanDy - (x - mean) * k), scale = gamma * invStd,
//          meanDy = sum(dy) / n, k = invStd * sum(dy * xhat) / n   (n, sums global for sync BN)
//   eval:  dx = scale * dy   (the running statistics are constants)
// The driver computes the per-channel factors exactly as the reference does, and the kernels
// perform the reference's f64 operations in its order, so dx is the reference's to the bit
// (assembly/bn-lanes.ts). Blocks are [rows][channels][inner] elements of type T; dx may be dy or x.
import { quadHi, quadLo, scalarAt, storeQuad, storeScalar } from './bn-lanes';

function gradInput<T>(dy: usize, x: usize, rows: i32, channels: i32, inner: i32, mean: usize, scale: usize, meanDy: usize, k: usize, dx: usize): void {
  const size = <usize>sizeof<T>();
  if (inner == 1) {
    gradInputAcrossChannels<T>(dy, x, rows, channels, mean, scale, meanDy, k, dx);
    return;
  }
  const inner4 = inner & ~3;
  let off: usize = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const at = <usize>c * 8;
      const mu = load<f64>(mean + at);
      const sc = load<f64>(scale + at);
      const md = load<f64>(meanDy + at);
      const kc = load<f64>(k + at);
      const mm = f64x2.splat(mu);
      const ss = f64x2.splat(sc);
      const dd = f64x2.splat(md);
      const kk = f64x2.splat(kc);
      let i = 0;
      for (; i < inner4; i += 4) {
        const e = off + <usize>i * size;
        const lo = f64x2.mul(ss, f64x2.sub(f64x2.sub(quadLo<T>(dy + e), dd), f64x2.mul(f64x2.sub(quadLo<T>(x + e), mm), kk)));
        const hi = f64x2.mul(ss, f64x2.sub(f64x2.sub(quadHi<T>(dy + e), dd), f64x2.mul(f64x2.sub(quadHi<T>(x + e), mm), kk)));
        storeQuad<T>(dx + e, lo, hi);
      }
      for (; i < inner; i++) {
        const e = off + <usize>i * size;
        storeScalar<T>(dx + e, sc * (scalarAt<T>(dy + e) - md - (scalarAt<T>(x + e) - mu) * kc));
      }
      off += <usize>inner * size;
    }
  }
}

/** inner = 1: four channels per quad along each row. */
function gradInputAcrossChannels<T>(dy: usize, x: usize, rows: i32, channels: i32, mean: usize, scale: usize, meanDy: usize, k: usize, dx: usize): void {
  const size = <usize>sizeof<T>();
  const channels4 = channels & ~3;
  let off: usize = 0;
  for (let r = 0; r < rows; r++) {
    let c = 0;
    for (; c < channels4; c += 4) {
      const at = <usize>c * 8;
      const e = off + <usize>c * size;
      const lo = f64x2.mul(v128.load(scale + at), f64x2.sub(
        f64x2.sub(quadLo<T>(dy + e), v128.load(meanDy + at)),
        f64x2.mul(f64x2.sub(quadLo<T>(x + e), v128.load(mean + at)), v128.load(k + at)),
      ));
      const hi = f64x2.mul(v128.load(scale + at, 16), f64x2.sub(
        f64x2.sub(quadHi<T>(dy + e), v128.load(meanDy + at, 16)),
        f64x2.mul(f64x2.sub(quadHi<T>(x + e), v128.load(mean + at, 16)), v128.load(k + at, 16)),
      ));
      storeQuad<T>(dx + e, lo, hi);
    }
    for (; c < channels; c++) {
      const at = <usize>c * 8;
      const e = off + <usize>c * size;
      storeScalar<T>(dx + e, load<f64>(scale + at) * (scalarAt<T>(dy + e) - load<f64>(meanDy + at) - (scalarAt<T>(x + e) - load<f64>(mean + at)) * load<f64>(k + at)));
    }
    off += <usize>channels * size;
  }
}

function gradScale<T>(dy: usize, rows: i32, channels: i32, inner: i32, scale: usize, dx: usize): void {
  const size = <usize>sizeof<T>();
  if (inner == 1) {
    const channels4 = channels & ~3;
    let off: usize = 0;
    for (let r = 0; r < rows; r++) {
      let c = 0;
      for (; c < channels4; c += 4) {
        const at = <usize>c * 8;
        const e = off + <usize>c * size;
        storeQuad<T>(dx + e, f64x2.mul(v128.load(scale + at), quadLo<T>(dy + e)), f64x2.mul(v128.load(scale + at, 16), quadHi<T>(dy + e)));
      }
      for (; c < channels; c++) {
        const e = off + <usize>c * size;
        storeScalar<T>(dx + e, load<f64>(scale + <usize>c * 8) * scalarAt<T>(dy + e));
      }
      off += <usize>channels * size;
    }
    return;
  }
  const inner4 = inner & ~3;
  let off: usize = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const sc = load<f64>(scale + <usize>c * 8);
      const ss = f64x2.splat(sc);
      let i = 0;
      for (; i < inner4; i += 4) {
        const e = off + <usize>i * size;
        storeQuad<T>(dx + e, f64x2.mul(ss, quadLo<T>(dy + e)), f64x2.mul(ss, quadHi<T>(dy + e)));
      }
      for (; i < inner; i++) {
        const e = off + <usize>i * size;
        storeScalar<T>(dx + e, sc * scalarAt<T>(dy + e));
      }
      off += <usize>inner * size;
    }
  }
}

/**
 * Train-mode dx = scale[c] * (dy - meanDy[c] - (x - mean[c]) * k[c]) over float32 blocks
 * [rows][channels][inner] at dy, x and dx (dx may be dy or x); the factors are f64 per channel.
 * Byte addresses.
 */
export function bnGradInputF32(dy: usize, x: usize, rows: i32, channels: i32, inner: i32, mean: usize, scale: usize, meanDy: usize, k: usize, dx: usize): void {
  gradInput<f32>(dy, x, rows, channels, inner, mean, scale, meanDy, k, dx);
}

/** bnGradInputF32 on float64 data. */
export function bnGradInputF64(dy: usize, x: usize, rows: i32, channels: i32, inner: i32, mean: usize, scale: usize, meanDy: usize, k: usize, dx: usize): void {
  gradInput<f64>(dy, x, rows, channels, inner, mean, scale, meanDy, k, dx);
}

/** Eval-mode dx = scale[c] * dy over float32 blocks (dx may be dy); scale is f64 per channel. */
export function bnGradScaleF32(dy: usize, rows: i32, channels: i32, inner: i32, scale: usize, dx: usize): void {
  gradScale<f32>(dy, rows, channels, inner, scale, dx);
}

/** bnGradScaleF32 on float64 data. */
export function bnGradScaleF64(dy: usize, rows: i32, channels: i32, inner: i32, scale: usize, dx: usize): void {
  gradScale<f64>(dy, rows, channels, inner, scale, dx);
}
