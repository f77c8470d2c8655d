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
    let mu0 = f64x2.splat(0), mu1 = f64x2.splat(0), mu2 = f64x2.splat(0), mu3 = f64x2.splat(0);
    let acc0 = f64x2.splat(0), acc1 = f64x2.splat(0), acc2 = f64x2.splat(0), acc3 = f64x2.splat(0);
    // Load the state lane by lane (the lanes past the last channel start from zeros).
    for (let j = 0; j < 8 && c0 + j < channels; j++) {
      const at = <usize>(c0 + j) * 8;
      const m = load<f64>(mean + at);
      const a = load<f64>(m2 + at);
      if (j == 0) { mu0 = f64x2.replace_lane(mu0, 0, m); acc0 = f64x2.replace_lane(acc0, 0, a); }
      else if (j == 1) { mu0 = f64x2.replace_lane(mu0, 1, m); acc0 = f64x2.replace_lane(acc0, 1, a); }
      else if (j == 2) { mu1 = f64x2.replace_lane(mu1, 0, m); acc1 = f64x2.replace_lane(acc1, 0, a); }
      else if (j == 3) { mu1 = f64x2.replace_lane(mu1, 1, m); acc1 = f64x2.replace_lane(acc1, 1, a); }
      else if (j == 4) { mu2 = f64x2.replace_lane(mu2, 0, m); acc2 = f64x2.replace_lane(acc2, 0, a); }
      else if (j == 5) { mu2 = f64x2.replace_lane(mu2, 1, m); acc2 = f64x2.replace_lane(acc2, 1, a); }
      else if (j == 6) { mu3 = f64x2.replace_lane(mu3, 0, m); acc3 = f64x2.replace_lane(acc3, 0, a); }
      else { mu3 = f64x2.replace_lane(mu3, 1, m); acc3 = f64x2.replace_lane(acc3, 1, a); }
    }
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
    for (let j = 0; j < 8 && c0 + j < channels; j++) {
      const at = <usize>(c0 + j) * 8;
      const mu = j < 2 ? mu0 : j < 4 ? mu1 : j < 6 ? mu2 : mu3;
      const acc = j < 2 ? acc0 : j < 4 ? acc1 : j < 6 ? acc2 : acc3;
      store<f64>(mean + at, (j & 1) == 0 ? f64x2.extract_lane(mu, 0) : f64x2.extract_lane(mu, 1));
      store<f64>(m2 + at, (j & 1) == 0 ? f64x2.extract_lane(acc, 0) : f64x2.extract_lane(acc, 1));
    }
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
