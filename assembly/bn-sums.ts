// Partial statistics of batch norm with f64 accumulation: per channel, the sum of (x - k) and of
// (x - k)^2 over a block of rows, added into the running sums (so that a batch staged block by
// block sums up in row order). The block is [rows][channels][inner] elements of type T; the shift
// k and both sums are f64 per channel.
//
// Planes (one row, one channel: `inner` consecutive elements) are summed with eight independent
// f64x2 partial sums, which keeps several adds in flight (an f64 add has a latency of three or four
// cycles) and changes only the order of the additions against the JavaScript reference: both
// results lie within gamma_(n-1) * sum |term| of the exact sum (Higham, Accuracy and Stability of
// Numerical Algorithms, 4.2), so they differ by at most twice that. Each term, x - k and its
// square, is the same f64 operation as in the reference. With inner = 1 ([N, C] input) a plane is
// one element, so channels are taken two at a time across the rows instead.
import { quadHi, quadLo, laneSum, scalarAt } from './bn-lanes';

function sums<T>(x: usize, rows: i32, channels: i32, inner: i32, shift: usize, sum: usize, sumSq: usize): void {
  if (inner == 1) {
    sumsAcrossChannels<T>(x, rows, channels, shift, sum, sumSq);
    return;
  }
  const plane = <usize>inner * sizeof<T>();
  let p = x;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < channels; c++) {
      const at = <usize>c * 8;
      const k = load<f64>(shift + at);
      // x - (+0) is x, bit for bit: unshifted sums skip the subtraction (a fifth of the work).
      if (reinterpret<u64>(k) == 0) planeSums<T>(p, inner, k, false, sum + at, sumSq + at);
      else planeSums<T>(p, inner, k, true, sum + at, sumSq + at);
      p += plane;
    }
  }
}

/** Adds the plane at p (inner elements) into *sum and *sumSq; `shifted` is a constant once inlined. */
// @ts-ignore: decorator
@inline function planeSums<T>(p: usize, inner: i32, k: f64, shifted: bool, sum: usize, sumSq: usize): void {
  const size = <usize>sizeof<T>();
  const zero = f64x2.splat(0);
  const kk = f64x2.splat(k);
  const inner8 = inner & ~7;
  let a0 = zero, a1 = zero, a2 = zero, a3 = zero;
  let q0 = zero, q1 = zero, q2 = zero, q3 = zero;
  let i = 0;
  for (; i < inner8; i += 8) {
    const e = p + <usize>i * size;
    let v0 = quadLo<T>(e);
    let v1 = quadHi<T>(e);
    let v2 = quadLo<T>(e + 4 * size);
    let v3 = quadHi<T>(e + 4 * size);
    if (shifted) {
      v0 = f64x2.sub(v0, kk);
      v1 = f64x2.sub(v1, kk);
      v2 = f64x2.sub(v2, kk);
      v3 = f64x2.sub(v3, kk);
    }
    a0 = f64x2.add(a0, v0);
    a1 = f64x2.add(a1, v1);
    a2 = f64x2.add(a2, v2);
    a3 = f64x2.add(a3, v3);
    q0 = f64x2.add(q0, f64x2.mul(v0, v0));
    q1 = f64x2.add(q1, f64x2.mul(v1, v1));
    q2 = f64x2.add(q2, f64x2.mul(v2, v2));
    q3 = f64x2.add(q3, f64x2.mul(v3, v3));
  }
  if (i + 4 <= inner) {
    const e = p + <usize>i * size;
    let v0 = quadLo<T>(e);
    let v1 = quadHi<T>(e);
    if (shifted) {
      v0 = f64x2.sub(v0, kk);
      v1 = f64x2.sub(v1, kk);
    }
    a0 = f64x2.add(a0, v0);
    a1 = f64x2.add(a1, v1);
    q0 = f64x2.add(q0, f64x2.mul(v0, v0));
    q1 = f64x2.add(q1, f64x2.mul(v1, v1));
    i += 4;
  }
  let s = laneSum(f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3)));
  let s2 = laneSum(f64x2.add(f64x2.add(q0, q1), f64x2.add(q2, q3)));
  for (; i < inner; i++) {
    const v = scalarAt<T>(p + <usize>i * size) - k;
    s += v;
    s2 += v * v;
  }
  store<f64>(sum, load<f64>(sum) + s);
  store<f64>(sumSq, load<f64>(sumSq) + s2);
}

/** inner = 1: two channels per f64x2, down the rows; the same additions as the reference, in its order. */
function sumsAcrossChannels<T>(x: usize, rows: i32, channels: i32, shift: usize, sum: usize, sumSq: usize): void {
  const size = <usize>sizeof<T>();
  const rowBytes = <usize>channels * size;
  let c = 0;
  for (; c + 2 <= channels; c += 2) {
    const at = <usize>c * 8;
    const kk = v128.load(shift + at);
    let s = v128.load(sum + at);
    let s2 = v128.load(sumSq + at);
    let p = x + <usize>c * size;
    for (let r = 0; r < rows; r++) {
      const v = f64x2.sub(quadLo<T>(p), kk);
      s = f64x2.add(s, v);
      s2 = f64x2.add(s2, f64x2.mul(v, v));
      p += rowBytes;
    }
    v128.store(sum + at, s);
    v128.store(sumSq + at, s2);
  }
  if (c < channels) {
    const at = <usize>c * 8;
    const k = load<f64>(shift + at);
    let s = load<f64>(sum + at);
    let s2 = load<f64>(sumSq + at);
    let p = x + <usize>c * size;
    for (let r = 0; r < rows; r++) {
      const v = scalarAt<T>(p) - k;
      s += v;
      s2 += v * v;
      p += rowBytes;
    }
    store<f64>(sum + at, s);
    store<f64>(sumSq + at, s2);
  }
}

/**
 * sum[c] += sum of (x - shift[c]), sumSq[c] += sum of (x - shift[c])^2 over a float32 block
 * [rows][channels][inner] at x; shift, sum and sumSq are f64 per channel. Byte addresses.
 */
export function bnSumsF32(x: usize, rows: i32, channels: i32, inner: i32, shift: usize, sum: usize, sumSq: usize): void {
  sums<f32>(x, rows, channels, inner, shift, sum, sumSq);
}

/** bnSumsF32 on float64 data. */
export function bnSumsF64(x: usize, rows: i32, channels: i32, inner: i32, shift: usize, sum: usize, sumSq: usize): void {
  sums<f64>(x, rows, channels, inner, shift, sum, sumSq);
}
