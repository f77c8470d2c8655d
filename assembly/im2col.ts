// im2col for a stride-1 convolution: lays the input out as the column matrix the GEMM multiplies,
// one row per (channel, kernel row, kernel column), one column per (example, output pixel).
// Each output row is a run of zeros (left padding), a copy of part of one input row, and zeros
// (right padding); runs are copied four floats at a time.

/**
 * col[(c*k + ki)*k + kj][b*P + oh*outW + ow] = x[b][c][oh + ki - pad][ow + kj - pad], 0 where that
 * falls in the padding (P = outH*outW). x is NCHW [batch, C, H, W]; x and col are byte addresses,
 * col rows are `ldcol` bytes apart.
 */
export function im2col(
  x: usize, batch: i32, C: i32, H: i32, W: i32, k: i32, pad: i32, outH: i32, outW: i32, col: usize, ldcol: usize,
): void {
  const planeBytes = <usize>H * W * 4;
  const exampleBytes = <usize>outH * outW * 4;
  const rowBytes = <usize>outW * 4;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < C; c++) {
      const plane = x + (<usize>b * C + c) * planeBytes;
      for (let ki = 0; ki < k; ki++) {
        for (let kj = 0; kj < k; kj++) {
          const colRow = col + <usize>((c * k + ki) * k + kj) * ldcol + <usize>b * exampleBytes;
          // output columns [lo, hi) read inside the input row; the others are padding
          const lo = max(0, pad - kj);
          const hi = max(lo, min(outW, W + pad - kj));
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh + ki - pad;
            const d = colRow + <usize>oh * rowBytes;
            if (<u32>ih < <u32>H) {
              zeroRun(d, d + <usize>lo * 4);
              copyRun(d + <usize>lo * 4, d + <usize>hi * 4, plane + (<usize>ih * W + kj - pad + lo) * 4);
              zeroRun(d + <usize>hi * 4, d + rowBytes);
            } else {
              zeroRun(d, d + rowBytes);
            }
          }
        }
      }
    }
  }
}

/** Copies floats from `src` on into [to, end). */
// @ts-ignore: decorator
@inline
function copyRun(to: usize, end: usize, src: usize): void {
  for (; to + 16 <= end; to += 16, src += 16) v128.store(to, v128.load(src));
  for (; to < end; to += 4, src += 4) store<f32>(to, load<f32>(src));
}

/** Zeroes the floats in [to, end). */
// @ts-ignore: decorator
@inline
function zeroRun(to: usize, end: usize): void {
  for (; to + 16 <= end; to += 16) v128.store(to, f32x4.splat(0));
  for (; to < end; to += 4) store<f32>(to, 0);
}
