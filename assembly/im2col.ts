// im2col for a stride-1 convolution: lays the input out as the column matrix the GEMM multiplies,
// one row per (channel, kernel row, kernel column), one column per (example, output pixel).

/**
 * col[(c*k + ki)*k + kj][b*P + oh*outW + ow] = x[b][c][oh + ki - pad][ow + kj - pad], 0 where that
 * falls in the padding (P = outH*outW). x is NCHW [batch, C, H, W]; x and col are byte addresses,
 * col rows are `ldcol` bytes apart.
 */
export function im2col(
  x: usize, batch: i32, C: i32, H: i32, W: i32, k: i32, pad: i32, outH: i32, outW: i32, col: usize, ldcol: usize,
): void {
  const planeBytes = <usize>H * W * 4;
  const exampleCols = <usize>outH * outW * 4;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < C; c++) {
      const plane = x + (<usize>b * C + c) * planeBytes;
      for (let ki = 0; ki < k; ki++) {
        for (let kj = 0; kj < k; kj++) {
          const row = col + <usize>((c * k + ki) * k + kj) * ldcol + <usize>b * exampleCols;
          // output columns [lo, hi) read inside the input row; the others are padding
          const lo = max(0, pad - kj);
          const hi = max(lo, min(outW, W + pad - kj));
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh + ki - pad;
            const d = row + <usize>oh * outW * 4;
            if (<u32>ih < <u32>H) {
              zero(d, 0, lo);
              memory.copy(d + <usize>lo * 4, plane + (<usize>ih * W + kj - pad + lo) * 4, <usize>(hi - lo) * 4);
              zero(d, hi, outW);
            } else {
              zero(d, 0, outW);
            }
          }
        }
      }
    }
  }
}

/** Zeroes floats [from, to) of the row at `d`. */
// @ts-ignore: decorator
@inline
function zero(d: usize, from: i32, to: i32): void {
  for (let i = from; i < to; i++) store<f32>(d + <usize>i * 4, 0);
}
