// Partial sums with float32 accumulators, the simulator's model of a GPU's float sums: every
// operation rounded to float32, in the reference's sequential order (per plane: v = x - k,
// s += v, s2 += v * v; then sum += s and sumSq += s2). Splitting a plane across lanes would
// change the result, so, as in assembly/bn-welford.ts, each f32x4 lane follows its own channel
// through the reference's exact sequence, eight channels (two vectors) side by side.
//
// Every f32 operation equals the reference's f64 operation rounded to f32 (Math.fround): for +, -
// and * of floats, rounding first to f64 and then to f32 gives the correctly rounded f32 result,
// since f64 carries more than 2 * 24 + 2 bits (Figueroa, "When is double rounding innocuous?",
// 1995). x - k is computed as in the reference, in f64 and then rounded, which also serves f64 data.
// The result is the reference's to the bit. Sums are f64 per channel holding float32 values.
import { scalarAt } from './bn-lanes';

/** Lanes: (x - k) of four channels' elements at the same offset, each rounded to f32. */
// @ts-ignore: decorator
@inline function quadOf<T>(e: usize, a: usize, b: usize, c: usize, d: usize, klo: v128, khi: v128): v128 {
  const lo = f64x2.sub(f64x2.replace_lane(f64x2.splat(scalarAt<T>(e + a)), 1, scalarAt<T>(e + b)), klo);
  const hi = f64x2.sub(f64x2.replace_lane(f64x2.splat(scalarAt<T>(e + c)), 1, scalarAt<T>(e + d)), khi);
  return i64x2.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 2);
}

function sums32<T>(x: usize, rows: i32, channels: i32, inner: i32, shift: usize, sum: usize, sumSq: usize): void {
  const size = <usize>sizeof<T>();
  const plane = <usize>inner * size;
  const rowBytes = <usize>channels * plane;
  const last = channels - 1;
  for (let c0 = 0; c0 < channels; c0 += 8) {
    // Lanes past the last channel repeat it; their results are not stored.
    const o0 = <usize>min(c0, last) * plane;
    const o1 = <usize>min(c0 + 1, last) * plane;
    const o2 = <usize>min(c0 + 2, last) * plane;
    const o3 = <usize>min(c0 + 3, last) * plane;
    const o4 = <usize>min(c0 + 4, last) * plane;
    const o5 = <usize>min(c0 + 5, last) * plane;
    const o6 = <usize>min(c0 + 6, last) * plane;
    const o7 = <usize>min(c0 + 7, last) * plane;
    // The shifts rounded to f32, then widened back (exactly) for the f64 subtraction.
    const k0 = kAt(shift, c0, last);
    const k1 = kAt(shift, c0 + 2, last);
    const k2 = kAt(shift, c0 + 4, last);
    const k3 = kAt(shift, c0 + 6, last);
    let total = f32x4.splat(0);
    let totalSq = f32x4.splat(0);
    let total2 = f32x4.splat(0);
    let totalSq2 = f32x4.splat(0);
    for (let j = 0; j < 8 && c0 + j < channels; j++) {
      const at = <usize>(c0 + j) * 8;
      const s = <f32>load<f64>(sum + at);
      const s2 = <f32>load<f64>(sumSq + at);
      if (j == 0) { total = f32x4.replace_lane(total, 0, s); totalSq = f32x4.replace_lane(totalSq, 0, s2); }
      else if (j == 1) { total = f32x4.replace_lane(total, 1, s); totalSq = f32x4.replace_lane(totalSq, 1, s2); }
      else if (j == 2) { total = f32x4.replace_lane(total, 2, s); totalSq = f32x4.replace_lane(totalSq, 2, s2); }
      else if (j == 3) { total = f32x4.replace_lane(total, 3, s); totalSq = f32x4.replace_lane(totalSq, 3, s2); }
      else if (j == 4) { total2 = f32x4.replace_lane(total2, 0, s); totalSq2 = f32x4.replace_lane(totalSq2, 0, s2); }
      else if (j == 5) { total2 = f32x4.replace_lane(total2, 1, s); totalSq2 = f32x4.replace_lane(totalSq2, 1, s2); }
      else if (j == 6) { total2 = f32x4.replace_lane(total2, 2, s); totalSq2 = f32x4.replace_lane(totalSq2, 2, s2); }
      else { total2 = f32x4.replace_lane(total2, 3, s); totalSq2 = f32x4.replace_lane(totalSq2, 3, s2); }
    }
    let row = x;
    for (let r = 0; r < rows; r++) {
      let s = f32x4.splat(0), s2 = f32x4.splat(0), t = f32x4.splat(0), t2 = f32x4.splat(0);
      for (let i = 0; i < inner; i++) {
        const e = row + <usize>i * size;
        const v = quadOf<T>(e, o0, o1, o2, o3, k0, k1);
        const w = quadOf<T>(e, o4, o5, o6, o7, k2, k3);
        s = f32x4.add(s, v);
        t = f32x4.add(t, w);
        s2 = f32x4.add(s2, f32x4.mul(v, v));
        t2 = f32x4.add(t2, f32x4.mul(w, w));
      }
      total = f32x4.add(total, s);
      totalSq = f32x4.add(totalSq, s2);
      total2 = f32x4.add(total2, t);
      totalSq2 = f32x4.add(totalSq2, t2);
      row += rowBytes;
    }
    for (let j = 0; j < 8 && c0 + j < channels; j++) {
      const at = <usize>(c0 + j) * 8;
      const s = j < 4 ? total : total2;
      const s2 = j < 4 ? totalSq : totalSq2;
      const lane = j & 3;
      store<f64>(sum + at, <f64>(lane == 0 ? f32x4.extract_lane(s, 0) : lane == 1 ? f32x4.extract_lane(s, 1) : lane == 2 ? f32x4.extract_lane(s, 2) : f32x4.extract_lane(s, 3)));
      store<f64>(sumSq + at, <f64>(lane == 0 ? f32x4.extract_lane(s2, 0) : lane == 1 ? f32x4.extract_lane(s2, 1) : lane == 2 ? f32x4.extract_lane(s2, 2) : f32x4.extract_lane(s2, 3)));
    }
  }
}

/** The shifts of channels c and c + 1 (clamped to the last), each rounded to f32, as f64 lanes. */
function kAt(shift: usize, c: i32, last: i32): v128 {
  const a = <f64><f32>load<f64>(shift + <usize>min(c, last) * 8);
  const b = <f64><f32>load<f64>(shift + <usize>min(c + 1, last) * 8);
  return f64x2.replace_lane(f64x2.splat(a), 1, b);
}

/**
 * Float32-accumulator sums over a float32 block [rows][channels][inner] at x: per plane
 * s = sum of fround(x - fround(shift[c])) and s2 = sum of their squares, every step rounded to
 * float32 in order, then sum[c] = fround(sum[c] + s), sumSq[c] = fround(sumSq[c] + s2). shift, sum
 * and sumSq are f64 per channel. Byte addresses.
 */
export function bnSums32F32(x: usize, rows: i32, channels: i32, inner: i32, shift: usize, sum: usize, sumSq: usize): void {
  sums32<f32>(x, rows, channels, inner, shift, sum, sumSq);
}

/** bnSums32F32 on float64 data. */
export function bnSums32F64(x: usize, rows: i32, channels: i32, inner: i32, shift: usize, sum: usize, sumSq: usize): void {
  sums32<f64>(x, rows, channels, inner, shift, sum, sumSq);
}
