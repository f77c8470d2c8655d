// Choosing the kernels and loading the WebAssembly module: the backend is WebAssembly unless
// something explicitly asks for JavaScript, a bad choice is refused, and a missing, corrupt or
// incomplete module is an error with one clear message, never a silent switch to JavaScript.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InputError } from '../src/errors.js';
import {
  KERNELS_ENV,
  kernelBackend,
  kernelsFromEnvironment,
  parseKernelBackend,
  useKernels,
} from '../src/kernels/backend.js';
import { KERNEL_EXPORTS } from '../src/kernels/wasm-exports.js';
import { WasmKernelError, instantiateKernels, kernelsWasmPath, loadKernels } from '../src/kernels/wasm-module.js';
import { wasmRuntime } from '../src/kernels/wasm-runtime.js';
import { tempDir } from './helpers.js';

describe('kernel backend', () => {
  it('is WebAssembly unless the environment says otherwise', () => {
    expect(kernelsFromEnvironment({})).toBe('wasm');
    expect(kernelsFromEnvironment({ [KERNELS_ENV]: '' })).toBe('wasm');
    expect(kernelsFromEnvironment({ [KERNELS_ENV]: 'js' })).toBe('js');
    expect(kernelsFromEnvironment({ [KERNELS_ENV]: 'wasm' })).toBe('wasm');
    // this test process sets nothing, so this thread runs WebAssembly
    expect(process.env[KERNELS_ENV] ?? '').toBe('');
    expect(kernelBackend()).toBe('wasm');
  });

  it('refuses a name that is no backend, saying where it came from', () => {
    expect(() => kernelsFromEnvironment({ [KERNELS_ENV]: 'JS' })).toThrow(InputError);
    expect(() => kernelsFromEnvironment({ [KERNELS_ENV]: 'gpu' })).toThrow(
      /SYNCBN_KERNELS must be one of wasm, js, got 'gpu'/,
    );
    expect(() => parseKernelBackend('simd', 'kernels')).toThrow(/kernels must be one of wasm, js/);
    expect(() => useKernels('fast' as never)).toThrow(InputError);
    expect(kernelBackend()).toBe('wasm');
  });
});

describe('the WebAssembly module', () => {
  const bytes = new Uint8Array(readFileSync(kernelsWasmPath()));

  it('is built into dist/wasm and has every export the drivers use', () => {
    expect(kernelsWasmPath()).toMatch(/dist[/\\]wasm[/\\]kernels\.wasm$/);
    const exports = instantiateKernels(bytes, 'test');
    for (const name of Object.keys(KERNEL_EXPORTS)) expect(exports, name).toHaveProperty(name);
    expect([exports.GEMM_TILE_ROWS.value, exports.GEMM_TILE_COLS.value]).toEqual([4, 8]);
    // the drivers' scratch memory starts past the module's static data, 16-byte aligned
    const rt = wasmRuntime();
    expect(rt.base * 4).toBeGreaterThanOrEqual(exports.scratchBase());
    expect(rt.base % 4).toBe(0);
  });

  it('a corrupt file is an error that names the check that failed and what to do', () => {
    const corrupt = Uint8Array.from(bytes);
    corrupt[corrupt.length >> 1] ^= 0xff;
    corrupt[corrupt.length - 3] ^= 0x5a;
    expect(() => instantiateKernels(corrupt, 'corrupt.wasm')).toThrow(WasmKernelError);
    expect(() => instantiateKernels(corrupt, 'corrupt.wasm')).toThrow(
      /corrupt\.wasm: WebAssembly\.validate rejects the module.*npm run build.*SYNCBN_KERNELS=js/,
    );
    expect(() => instantiateKernels(bytes.subarray(0, bytes.length - 10), 'truncated.wasm')).toThrow(
      /truncated\.wasm: WebAssembly\.validate rejects/,
    );
  });

  it('a valid module without the kernels is an error that lists what is missing', () => {
    const empty = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    expect(() => instantiateKernels(empty, 'empty.wasm')).toThrow(
      /empty\.wasm: the module lacks the exports memory \(memory\), scratchBase \(function\), .*gemmTiles \(function\)/,
    );
  });

  it('a missing file is an error that names it', () => {
    const path = join(tempDir(), 'kernels.wasm');
    expect(() => loadKernels(path)).toThrow(WasmKernelError);
    expect(() => loadKernels(path)).toThrow(/kernels\.wasm: cannot read the file \(ENOENT\)/);
    writeFileSync(path, bytes);
    expect(loadKernels(path).GEMM_TILE_COLS.value).toBe(8);
  });
});
