// Transpose of a float32 matrix, four source rows at a time: each pass over the columns reads
// four rows side by side and writes four consecutive floats of each destination row.

/**
 * dst[j][i] = src[i][j] for i < rows rounded up to a multiple of 4 and j < cols. Addresses and
 * row strides (`lds`, `ldd`) are in bytes. The rows past `rows` up to the next multiple of 4 are
 * read and written too: the caller provides readable memory there and room in dst.
 */
export function transpose(src: usize, rows: i32, cols: i32, lds: usize, dst: usize, ldd: usize): void {
  const quads = (rows + 3) >> 2;
  for (let i = 0; i < quads; i++) {
    let s = src + <usize>i * 4 * lds;
    let d = dst + <usize>i * 16;
    for (let j = 0; j < cols; j++) {
      store<f32>(d, load<f32>(s));
      store<f32>(d, load<f32>(s + lds), 4);
      store<f32>(d, load<f32>(s + 2 * lds), 8);
      store<f32>(d, load<f32>(s + 3 * lds), 12);
      s += 4;
      d += ldd;
    }
  }
}
