// Transpose of a float32 matrix in 4 x 4 blocks: four f32x4 loads take a block from four source
// rows, six shuffles turn it around in registers, four stores put it in four destination rows.
// Columns past the last multiple of 4 are moved one float at a time.

/**
 * dst[j][i] = src[i][j] for i < rows rounded up to a multiple of 4 and j < cols. Addresses and
 * row strides (`lds`, `ldd`) are in bytes. The rows past `rows` up to the next multiple of 4 are
 * read and written too: the caller provides readable memory there and room in dst.
 */
export function transpose(src: usize, rows: i32, cols: i32, lds: usize, dst: usize, ldd: usize): void {
  const quads = (rows + 3) >> 2;
  const wholeCols = cols & ~3;
  for (let i = 0; i < quads; i++) {
    const s0 = src + <usize>i * 4 * lds;
    const s1 = s0 + lds;
    const s2 = s1 + lds;
    const s3 = s2 + lds;
    let d = dst + <usize>i * 16;
    let j = 0;
    for (; j < wholeCols; j += 4) {
      const at = <usize>j * 4;
      const r0 = v128.load(s0 + at);
      const r1 = v128.load(s1 + at);
      const r2 = v128.load(s2 + at);
      const r3 = v128.load(s3 + at);
      // interleave pairs of rows, then pairs of pairs: column c of the block becomes vector c
      const lo01 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
      const hi01 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
      const lo23 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
      const hi23 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
      v128.store(d, i64x2.shuffle(lo01, lo23, 0, 2));
      d += ldd;
      v128.store(d, i64x2.shuffle(lo01, lo23, 1, 3));
      d += ldd;
      v128.store(d, i64x2.shuffle(hi01, hi23, 0, 2));
      d += ldd;
      v128.store(d, i64x2.shuffle(hi01, hi23, 1, 3));
      d += ldd;
    }
    for (; j < cols; j++) {
      const at = <usize>j * 4;
      store<f32>(d, load<f32>(s0 + at));
      store<f32>(d, load<f32>(s1 + at), 4);
      store<f32>(d, load<f32>(s2 + at), 8);
      store<f32>(d, load<f32>(s3 + at), 12);
      d += ldd;
    }
  }
}
