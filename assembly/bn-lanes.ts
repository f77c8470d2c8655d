// Shared helpers of the batch-norm kernels (assembly/bn-*.ts). Every BN kernel is generic over the
// element type T (f32 or f64) and computes in f64, as the JavaScript reference does: a "quad" is
// four consecutive elements held as two f64x2 vectors, lo (elements 0, 1) and hi (2, 3). For f32
// data a quad is one 16-byte load widened in two halves; for f64 it is two loads. Storing a quad
// of f32 rounds each lane to nearest, as a store into a Float32Array does in JavaScript, so an
// element-wise kernel that performs the reference's f64 operations in the same order gives the
// same bits (WebAssembly, like JavaScript, never contracts a * b + c into a fused multiply-add).

/** Elements 0 and 1 of the quad at p, as f64. */
// @ts-ignore: decorator
@inline export function quadLo<T>(p: usize): v128 {
  if (sizeof<T>() == 4) return f64x2.promote_low_f32x4(v128.load64_zero(p));
  return v128.load(p);
}

/** Elements 2 and 3 of the quad at p, as f64. */
// @ts-ignore: decorator
@inline export function quadHi<T>(p: usize): v128 {
  if (sizeof<T>() == 4) return f64x2.promote_low_f32x4(v128.load64_zero(p, 8));
  return v128.load(p, 16);
}

/** Stores lo and hi as the four elements of the quad at p (rounded to nearest for f32). */
// @ts-ignore: decorator
@inline export function storeQuad<T>(p: usize, lo: v128, hi: v128): void {
  if (sizeof<T>() == 4) {
    v128.store(p, i64x2.shuffle(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 2));
  } else {
    v128.store(p, lo);
    v128.store(p, hi, 16);
  }
}

/** The element at p, as f64. */
// @ts-ignore: decorator
@inline export function scalarAt<T>(p: usize): f64 {
  return <f64>load<T>(p);
}

/** Stores v at p as an element of type T (rounded to nearest for f32). */
// @ts-ignore: decorator
@inline export function storeScalar<T>(p: usize, v: f64): void {
  store<T>(p, <T>v);
}

/** Lane 0 + lane 1 of an f64x2. */
// @ts-ignore: decorator
@inline export function laneSum(v: v128): f64 {
  return f64x2.extract_lane(v, 0) + f64x2.extract_lane(v, 1);
}
