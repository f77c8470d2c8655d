// The logistic sigmoid 1 / (1 + exp(-x)) on f32x4 vectors. Math.exp costs about 8 ns a call in
// V8, which made sigmoid the slowest layer of LeNet in JavaScript.
//
// exp is Cephes' expf: the argument v is reduced as v = k ln2 + r with k = nearest(v log2 e) and
// ln2 split in two parts (C1 exact in float32, C2 the rest) so that r is computed without
// rounding error; e^r = 1 + r + r^2 p(r) with a degree-5 polynomial p; 2^k is built directly in
// the exponent bits. Within 2 ulp of the correctly rounded sigmoid wherever that is a normal
// float; 0 below x = -88.7 and 1 above x = 17, as float32 rounding of the exact value; NaN stays NaN.

const LOG2E: f32 = 1.4426950408889634;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
const P5: f32 = 1.9875691500e-4;
const P4: f32 = 1.3981999507e-3;
const P3: f32 = 8.3334519073e-3;
const P2: f32 = 4.1665795894e-2;
const P1: f32 = 1.6666665459e-1;
const P0: f32 = 5.0000001201e-1;

/**
 * dst[i] = 1 / (1 + exp(-src[i])) for n floats (n a multiple of 4) at byte addresses src and dst,
 * which may be equal.
 */
export function sigmoid(src: usize, dst: usize, n: i32): void {
  const one = f32x4.splat(1);
  for (let left = n; left > 0; left -= 4) {
    // v = -x, clamped to [-87, 89]: past 88.7, 2^k is built as infinity and the result is exactly 0
    const v = f32x4.max(f32x4.min(f32x4.neg(v128.load(src)), f32x4.splat(89)), f32x4.splat(-87));
    const k = f32x4.nearest(f32x4.mul(v, f32x4.splat(LOG2E)));
    const r = f32x4.sub(f32x4.sub(v, f32x4.mul(k, f32x4.splat(LN2_HI))), f32x4.mul(k, f32x4.splat(LN2_LO)));
    let p = f32x4.splat(P5);
    p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
    p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
    p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
    p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P1));
    p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P0));
    // e^r = p r^2 + r + 1
    const er = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), one);
    // 2^k: the bits of (k + 127) << 23
    const twoK = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(k), i32x4.splat(127)), 23);
    const e = f32x4.mul(er, twoK);
    v128.store(dst, f32x4.div(one, f32x4.add(one, e)));
    src += 16;
    dst += 16;
  }
}
