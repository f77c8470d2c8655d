// The two reductions of the batch-norm backward pass, fused into one pass over x and dy (as
// PyTorch's CPU kernel fuses them, to read dy once): per channel, the sum of dy and the sum of
// dy * (x - mean), added into the running sums. The block is [rows][channels][inner] elements of
// type T for both dy and x; mean and both sums are f64 per channel.
//
// As in assembly/bn-sums.ts, a plane is summed with independent f64x2 partial sums: each term is the
// reference's f64 operation, only the order of the additions differs (bounded there). With
// inner = 1 ([N, C] input) channels are taken two at a time down the rows, in the reference's order.
import { quadHi, quadLo, laneSum, scalarAt } from './bn-lanes';

function gradSums<T>(dy: usize, x: usize, rows: i32, channels: i32, inner: i32, mean: usize, sumDy: usize, sumDyXc: usize): void {
  const size = <usize>sizeof<T>();
  if (inner == 1) {
    gradSumsAcrossChannels<T>(dy, x, rows, channels, mean, sumDy, sumDyXc);
    return;
  }
  const zero = f64x2.splat(0);
  const inner8 = inner & ~7;
  const inner4 = inner & ~3;
  let off: usize = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const at = <usize>c * 8;
      const mu = load<f64>(mean + at);
      const mm = f64x2.splat(mu);
      let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
      let b0 = zero, b1 = zero, b2 = zero, b3 = zero;
      let i = 0;
      for (; i < inner8; i += 8) {
        const g = dy + off + <usize>i * size;
        const e = x + off + <usize>i * size;
        const g0 = quadLo<T>(g);
        const g1 = quadHi<T>(g);
        const g2 = quadLo<T>(g + 4 * size);
        const g3 = quadHi<T>(g + 4 * size);
        a0 = f64x2.add(a0, g0);
        a1 = f64x2.add(a1, g1);
        a2 = f64x2.add(a2, g2);
        a3 = f64x2.add(a3, g3);
        b0 = f64x2.add(b0, f64x2.mul(g0, f64x2.sub(quadLo<T>(e), mm)));
        b1 = f64x2.add(b1, f64x2.mul(g1, f64x2.sub(quadHi<T>(e), mm)));
        b2 = f64x2.add(b2, f64x2.mul(g2, f64x2.sub(quadLo<T>(e + 4 * size), mm)));
        b3 = f64x2.add(b3, f64x2.mul(g3, f64x2.sub(quadHi<T>(e + 4 * size), mm)));
      }
      if (i < inner4) {
        const g = dy + off + <usize>i * size;
        const e = x + off + <usize>i * size;
        const g0 = quadLo<T>(g);
        const g1 = quadHi<T>(g);
        a0 = f64x2.add(a0, g0);
        a1 = f64x2.add(a1, g1);
        b0 = f64x2.add(b0, f64x2.mul(g0, f64x2.sub(quadLo<T>(e), mm)));
        b1 = f64x2.add(b1, f64x2.mul(g1, f64x2.sub(quadHi<T>(e), mm)));
        i += 4;
      }
      let s = laneSum(f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3)));
      let sx = laneSum(f64x2.add(f64x2.add(b0, b1), f64x2.add(b2, b3)));
      for (; i < inner; i++) {
        const g = scalarAt<T>(dy + off + <usize>i * size);
        s += g;
        sx += g * (scalarAt<T>(x + off + <usize>i * size) - mu);
      }
      store<f64>(sumDy + at, load<f64>(sumDy + at) + s);
      store<f64>(sumDyXc + at, load<f64>(sumDyXc + at) + sx);
      off += <usize>inner * size;
    }
  }
}

/** inner = 1: two channels per f64x2, down the rows. */
function gradSumsAcrossChannels<T>(dy: usize, x: usize, rows: i32, channels: i32, mean: usize, sumDy: usize, sumDyXc: usize): void {
  const size = <usize>sizeof<T>();
  const rowBytes = <usize>channels * size;
  let c = 0;
  for (; c + 2 <= channels; c += 2) {
    const at = <usize>c * 8;
    const mm = v128.load(mean + at);
    let s = v128.load(sumDy + at);
    let sx = v128.load(sumDyXc + at);
    let off = <usize>c * size;
    for (let r = 0; r < rows; r++) {
      const g = quadLo<T>(dy + off);
      s = f64x2.add(s, g);
      sx = f64x2.add(sx, f64x2.mul(g, f64x2.sub(quadLo<T>(x + off), mm)));
      off += rowBytes;
    }
    v128.store(sumDy + at, s);
    v128.store(sumDyXc + at, sx);
  }
  if (c < channels) {
    const at = <usize>c * 8;
    const mu = load<f64>(mean + at);
    let s = load<f64>(sumDy + at);
    let sx = load<f64>(sumDyXc + at);
    let off = <usize>c * size;
    for (let r = 0; r < rows; r++) {
      const g = scalarAt<T>(dy + off);
      s += g;
      sx += g * (scalarAt<T>(x + off) - mu);
      off += rowBytes;
    }
    store<f64>(sumDy + at, s);
    store<f64>(sumDyXc + at, sx);
  }
}

/**
 * sumDy[c] += sum of dy, sumDyXc[c] += sum of dy * (x - mean[c]) over float32 blocks
 * [rows][channels][inner] at dy and x; mean and the sums are f64 per channel. Byte addresses.
 */
export function bnGradSumsF32(dy: usize, x: usize, rows: i32, channels: i32, inner: i32, mean: usize, sumDy: usize, sumDyXc: usize): void {
  gradSums<f32>(dy, x, rows, channels, inner, mean, sumDy, sumDyXc);
}

/** bnGradSumsF32 on float64 data. */
export function bnGradSumsF64(dy: usize, x: usize, rows: i32, channels: i32, inner: i32, mean: usize, sumDy: usize, sumDyXc: usize): void {
  gradSums<f64>(dy, x, rows, channels, inner, mean, sumDy, sumDyXc);
}
