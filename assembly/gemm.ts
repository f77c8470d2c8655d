// The GEMM micro-kernel: C (=|+=) A · B over whole register tiles, float32, f32x4 SIMD.
//
// A tile is GEMM_TILE_ROWS x GEMM_TILE_COLS = 4 x 8 floats of C, held in eight f32x4 accumulators
// (two vectors per row). For each k the kernel loads the 8 floats of row k of B (two vectors),
// splats A[row][k] of each of the 4 rows, and does 8 multiply-adds: 11 vector registers live, well
// within what V8 allocates on x64. Measured alternatives: a 6 x 8 tile (15 registers) spills and
// runs at a third of the speed; 3 x 12 wins on some of LeNet's shapes and loses half the speed on
// others.
//
// A is read in place through two byte strides (the step from one row of op(A) to the next, and
// from one k to the next), so a transposed A costs nothing. B is read row-major, TILE_COLS
// consecutive floats per k, ldb bytes apart. Accumulation is float32, in k order within the call.
// The driver (src/nn/gemm-wasm.ts) blocks K and the rows so that the B panel stays in L1 and the
// A block in L2, and pads the operands so that every tile is whole.

/** Rows of C in one register tile. */
export const GEMM_TILE_ROWS: i32 = 4;
/** Columns of C in one register tile (two f32x4 vectors). */
export const GEMM_TILE_COLS: i32 = 8;

/**
 * For each of `rowTiles` x `colTiles` tiles of C: C tile = (C tile if `accumulate`) + sum over kc
 * of A · B. Addresses and strides are in bytes: A's rows `aRowStride` apart and its k `aKStride`
 * apart; B row-major with rows `ldb` apart; C row-major with rows `ldc` apart.
 */
export function gemmTiles(
  rowTiles: i32,
  colTiles: i32,
  kc: i32,
  a: usize,
  aRowStride: usize,
  aKStride: usize,
  b: usize,
  ldb: usize,
  c: usize,
  ldc: usize,
  accumulate: bool,
): void {
  for (let jt = 0; jt < colTiles; jt++) {
    const bTile = b + <usize>jt * GEMM_TILE_COLS * 4;
    for (let it = 0; it < rowTiles; it++) {
      let a0 = a + <usize>it * GEMM_TILE_ROWS * aRowStride;
      let a1 = a0 + aRowStride;
      let a2 = a1 + aRowStride;
      let a3 = a2 + aRowStride;
      let bp = bTile;
      // c<row><half>: row 0..3 of the tile, columns 0-3 (half 0) and 4-7 (half 1)
      let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
      let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
      let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
      for (let k = kc; k > 0; k--) {
        const b0 = v128.load(bp);
        const b1 = v128.load(bp, 16);
        let av = v128.load32_splat(a0);
        c00 = f32x4.add(c00, f32x4.mul(av, b0));
        c01 = f32x4.add(c01, f32x4.mul(av, b1));
        av = v128.load32_splat(a1);
        c10 = f32x4.add(c10, f32x4.mul(av, b0));
        c11 = f32x4.add(c11, f32x4.mul(av, b1));
        av = v128.load32_splat(a2);
        c20 = f32x4.add(c20, f32x4.mul(av, b0));
        c21 = f32x4.add(c21, f32x4.mul(av, b1));
        av = v128.load32_splat(a3);
        c30 = f32x4.add(c30, f32x4.mul(av, b0));
        c31 = f32x4.add(c31, f32x4.mul(av, b1));
        a0 += aKStride;
        a1 += aKStride;
        a2 += aKStride;
        a3 += aKStride;
        bp += ldb;
      }
      let cp = c + <usize>it * GEMM_TILE_ROWS * ldc + <usize>jt * GEMM_TILE_COLS * 4;
      storeRow(cp, c00, c01, accumulate);
      cp += ldc;
      storeRow(cp, c10, c11, accumulate);
      cp += ldc;
      storeRow(cp, c20, c21, accumulate);
      cp += ldc;
      storeRow(cp, c30, c31, accumulate);
    }
  }
}

/** Stores (or adds onto) one row of a tile: 8 floats at `at`. */
// @ts-ignore: decorator
@inline
function storeRow(at: usize, left: v128, right: v128, accumulate: bool): void {
  if (accumulate) {
    left = f32x4.add(left, v128.load(at));
    right = f32x4.add(right, v128.load(at, 16));
  }
  v128.store(at, left);
  v128.store(at, right, 16);
}
