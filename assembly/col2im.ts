// col2im for a stride-1 convolution: the adjoint of im2col (assembly/im2col.ts), which sends every
// entry of the column matrix back to the input pixel it was read from. Each output row adds a run
// of the column matrix onto part of one input row, four floats at a time; every pixel receives
// its terms in the same order as a scalar loop would give them.

/**
 * dx[b][c][ih][iw] += every col entry that im2col takes from x[b][c][ih][iw], with the geometry of
 * assembly/im2col.ts. dx is NCHW and must be zeroed by the caller; dx and col are byte addresses,
 * col rows are `ldcol` bytes apart.
 */
export function col2im(
  dx: usize, batch: i32, C: i32, H: i32, W: i32, k: i32, pad: i32, outH: i32, outW: i32, col: usize, ldcol: usize,
): void {
  const planeBytes = <usize>H * W * 4;
  const exampleBytes = <usize>outH * outW * 4;
  const rowBytes = <usize>outW * 4;
  for (let b = 0; b < batch; b++) {
    for (let c = 0; c < C; c++) {
      const plane = dx + (<usize>b * C + c) * planeBytes;
      for (let ki = 0; ki < k; ki++) {
        for (let kj = 0; kj < k; kj++) {
          const colRow = col + <usize>((c * k + ki) * k + kj) * ldcol + <usize>b * exampleBytes;
          // output columns [lo, hi) came from inside the input row; the others from the padding
          const lo = max(0, pad - kj);
          const hi = max(lo, min(outW, W + pad - kj));
          for (let oh = 0; oh < outH; oh++) {
            const ih = oh + ki - pad;
            if (<u32>ih >= <u32>H) continue;
            const s = colRow + <usize>oh * rowBytes;
            addRun(plane + (<usize>ih * W + kj - pad + lo) * 4, s + <usize>lo * 4, s + <usize>hi * 4);
          }
        }
      }
    }
  }
}

/** to[i] += the floats in [from, end), in order. */
// @ts-ignore: decorator
@inline
function addRun(to: usize, from: usize, end: usize): void {
  for (; from + 16 <= end; from += 16, to += 16) v128.store(to, f32x4.add(v128.load(to), v128.load(from)));
  for (; from < end; from += 4, to += 4) store<f32>(to, load<f32>(to) + load<f32>(from));
}
