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

/** The sums of channels c to c + 3 (f64 holding float32 values; zero past the last channel) as f32 lanes. */
function quadAt(sums: usize, c: i32, channels: i32): v128 {
  let v = f32x4.splat(0);
  if (c < channels) v = f32x4.replace_lane(v, 0, <f32>load<f64>(sums + <usize>c * 8));
  if (c + 1 < channels) v = f32x4.replace_lane(v, 1, <f32>load<f64>(sums + <usize>(c + 1) * 8));
  if (c + 2 < channels) v = f32x4.replace_lane(v, 2, <f32>load<f64>(sums + <usize>(c + 2) * 8));
  if (c + 3 < channels) v = f32x4.replace_lane(v, 3, <f32>load<f64>(sums + <usize>(c + 3) * 8));
  return v;
}

/** Stores the lanes of v that belong to channels (c to c + 3, those before the last), widened to f64. */
function putQuad(sums: usize, c: i32, channels: i32, v: v128): void {
  if (c < channels) store<f64>(sums + <usize>c * 8, <f64>f32x4.extract_lane(v, 0));
  if (c + 1 < channels) store<f64>(sums + <usize>(c + 1) * 8, <f64>f32x4.extract_lane(v, 1));
  if (c + 2 < channels) store<f64>(sums + <usize>(c + 2) * 8, <f64>f32x4.extract_lane(v, 2));
  if (c + 3 < channels) store<f64>(sums + <usize>(c + 3) * 8, <f64>f32x4.extract_lane(v, 3));
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
    let total = quadAt(sum, c0, channels);
    let totalSq = quadAt(sumSq, c0, channels);
    let total2 = quadAt(sum, c0 + 4, channels);
    let totalSq2 = quadAt(sumSq, c0 + 4, channels);
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
    putQuad(sum, c0, channels, total);
    putQuad(sumSq, c0, channels, totalSq);
    putQuad(sum, c0 + 4, channels, total2);
    putQuad(sumSq, c0 + 4, channels, totalSq2);
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
