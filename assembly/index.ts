// The one WebAssembly module of syncbn-sim's kernels (dist/wasm/kernels.wasm, built by
// `npm run build:wasm`). Each kernel lives in its own file, named after the op; this entry only
// re-exports them. All kernels address the module's one linear memory in bytes; the drivers in
// src/ stage their operands from `scratchBase()` on and call the kernels with those addresses.

export { GEMM_TILE_COLS, GEMM_TILE_ROWS, gemmTiles } from './gemm';
export { transpose } from './transpose';
export { sigmoid } from './sigmoid';
export { im2col } from './im2col';
export { col2im } from './col2im';
export { bnSumsF32, bnSumsF64 } from './bn-sums';
export { bnSums32F32, bnSums32F64 } from './bn-sums32';
export { bnWelfordF32, bnWelfordF64 } from './bn-welford';
export { bnNormalizeF32, bnNormalizeF64 } from './bn-normalize';
export { bnGradSumsF32, bnGradSumsF64 } from './bn-grad-sums';
export { bnGradInputF32, bnGradInputF64, bnGradScaleF32, bnGradScaleF64 } from './bn-grad-input';

/** The first byte address past the module's static data: memory from here on is the caller's. */
export function scratchBase(): usize {
  return __heap_base;
}
