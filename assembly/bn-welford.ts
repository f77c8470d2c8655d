// Welford's single-pass mean and M2 per channel, exactly as the JavaScript reference computes them:
// element after element of one channel, n += 1, delta = x - mean, mean += delta / n,
// M2 += delta * (x - mean). Each element depends on the one before, so the elements of one channel
// cannot be split across SIMD lanes without changing the result (that would be Chan's merge of
// partial triples, another rounding). Channels are independent, though: each f64x2 lane follows
// its own channel through the reference's exact sequence, and eight channels (four vectors) run
// side by side, which hides the latency of the division. The result is the reference's to the bit.
//
// The state (mean and M2 per channel, f64) is read and written back, and `count` is the number of
// elements of a channel seen before this block, so that a batch staged block by block of rows
// continues each channel's sequence where the previous block left it.
import { scalarAt } from './bn-lanes';

/** Lanes a and b: elements of channels a and b at the same offset. */
// @ts-ignore: decorator
@inline function pairOf<T>(x: usize, a: usize, b: usize): v128 {
  return f64x2.replace_lane(f64x2.splat(scalarAt<T>(x + a)), 1, scalarAt<T>(x + b));
}

/** The f64 state of channels c and c + 1 (zero past the last channel). */
function pairAt(state: usize, c: i32, channels: i32): v128 {
  if (c + 1 < channels) return v128.load(state + <usize>c * 8);
  if (c < channels) return f64x2.replace_lane(f64x2.splat(0), 0, load<f64>(state + <usize>c * 8));
  return f64x2.splat(0);
}

/** Stores the lanes of v that belong to channels (c and c + 1, those before the last). */
function putPair(state: usize, c: i32, channels: i32, v: v128): void {
  if (c + 1 < channels) v128.store(state + <usize>c * 8, v);
  else if (c < channels) store<f64>(state + <usize>c * 8, f64x2.extract_lane(v, 0));
}

function welford<T>(x: usize, rows: i32, channels: i32, inner: i32, count: f64, mean: usize, m2: usize): void {
  const size = <usize>sizeof<T>();
  const plane = <usize>inner * size;
  const rowBytes = <usize>channels * plane;
  for (let c0 = 0; c0 < channels; c0 += 8) {
    // Lanes past the last channel repeat it; their results are not stored.
    const last = channels - 1;
    const o0 = <usize>min(c0, last) * plane;
    const o1 = <usize>min(c0 + 1, last) * plane;
    const o2 = <usize>min(c0 + 2, last) * plane;
    const o3 = <usize>min(c0 + 3, last) * plane;
    const o4 = <usize>min(c0 + 4, last) * plane;
    const o5 = <usize>min(c0 + 5, last) * plane;
    const o6 = <usize>min(c0 + 6, last) * plane;
    const o7 = <usize>min(c0 + 7, last) * plane;
    let mu0 = pairAt(mean, c0, channels);
    let mu1 = pairAt(mean, c0 + 2, channels);
    let mu2 = pairAt(mean, c0 + 4, channels);
    let mu3 = pairAt(mean, c0 + 6, channels);
    let acc0 = pairAt(m2, c0, channels);
    let acc1 = pairAt(m2, c0 + 2, channels);
    let acc2 = pairAt(m2, c0 + 4, channels);
    let acc3 = pairAt(m2, c0 + 6, channels);
    let n = count;
    let row = x;
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < inner; i++) {
        const e = row + <usize>i * size;
        n += 1;
        const nn = f64x2.splat(n);
        const v0 = pairOf<T>(e, o0, o1);
        const v1 = pairOf<T>(e, o2, o3);
        const v2 = pairOf<T>(e, o4, o5);
        const v3 = pairOf<T>(e, o6, o7);
        const d0 = f64x2.sub(v0, mu0);
        const d1 = f64x2.sub(v1, mu1);
        const d2 = f64x2.sub(v2, mu2);
        const d3 = f64x2.sub(v3, mu3);
        mu0 = f64x2.add(mu0, f64x2.div(d0, nn));
        mu1 = f64x2.add(mu1, f64x2.div(d1, nn));
        mu2 = f64x2.add(mu2, f64x2.div(d2, nn));
        mu3 = f64x2.add(mu3, f64x2.div(d3, nn));
        acc0 = f64x2.add(acc0, f64x2.mul(d0, f64x2.sub(v0, mu0)));
        acc1 = f64x2.add(acc1, f64x2.mul(d1, f64x2.sub(v1, mu1)));
        acc2 = f64x2.add(acc2, f64x2.mul(d2, f64x2.sub(v2, mu2)));
        acc3 = f64x2.add(acc3, f64x2.mul(d3, f64x2.sub(v3, mu3)));
      }
      row += rowBytes;
    }
    putPair(mean, c0, channels, mu0);
    putPair(mean, c0 + 2, channels, mu1);
    putPair(mean, c0 + 4, channels, mu2);
    putPair(mean, c0 + 6, channels, mu3);
    putPair(m2, c0, channels, acc0);
    putPair(m2, c0 + 2, channels, acc1);
    putPair(m2, c0 + 4, channels, acc2);
    putPair(m2, c0 + 6, channels, acc3);
  }
}

/**
 * Continues Welford's sequence of every channel over a float32 block [rows][channels][inner] at
 * x: mean and m2 (f64 per channel) hold the state after `count` elements per channel and receive
 * the state after this block. Byte addresses.
 */
export function bnWelfordF32(x: usize, rows: i32, channels: i32, inner: i32, count: f64, mean: usize, m2: usize): void {
  welford<f32>(x, rows, channels, inner, count, mean, m2);
}

/** bnWelfordF32 on float64 data. */
export function bnWelfordF64(x: usize, rows: i32, channels: i32, inner: i32, count: f64, mean: usize, m2: usize): void {
  welford<f64>(x, rows, channels, inner, count, mean, m2);
}
