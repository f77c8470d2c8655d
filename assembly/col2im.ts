// col2im for a stride-1 convolution: the adjoint of im2col (src/nn and assembly/im2col.ts), which
// sends every entry of the column matrix back to the input pixel it was read from.

/**
 * dx[b][c][ih][iw] += every col entry that im2col takes from x[b][c][ih][iw], with the geometry of
 * assembly/im2col.ts. dx is NCHW and must be zeroed by the caller; dx and col are byte addresses,
 * col rows are `ldcol` bytes apart.
 */
export function col2im(
  dx: usize, batch: i32, C: i32, H: i32, W: i32, k: i32, pad: i32, outH: i32, outW: i32, col: usize, ldcol: usize,
): void {
  const planeBytes = <usize>H * W * 4;
  const exampleCols = <usize>outH * outW * 4;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < C; c++) {
      const plane = dx + (<usize>b * C + c) * planeBytes;
      for (let ki = 0; ki < k; ki++) {
        for (let kj = 0; kj < k; kj++) {
          const row = col + <usize>((c * k + ki) * k + kj) * ldcol + <usize>b * exampleCols;
          // output columns [lo, hi) came from inside the input row; the others from the padding
          const lo = max(0, pad - kj);
          const hi = max(lo, min(outW, W + pad - kj));
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh + ki - pad;
            if (<u32>ih >= <u32>H) continue;
            const s = row + <usize>oh * outW * 4;
            const d = plane + (<usize>ih * W + kj - pad) * 4;
            for (let ow = lo; ow < hi; ow++) {
              const at = d + <usize>ow * 4;
              store<f32>(at, load<f32>(at) + load<f32>(s + <usize>ow * 4));
            }
          }
        }
      }
    }
  }
}
