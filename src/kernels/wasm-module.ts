/**
 * Loading the WebAssembly kernels: dist/wasm/kernels.wasm, compiled from assembly/ by
 * `npm run build`. The file is read, checked with `WebAssembly.validate`, compiled, instantiated
 * and checked against the export contract (src/kernels/wasm-exports.ts). Any failure throws a
 * `WasmKernelError` that says which step failed, on which file, and what to do: there is no
 * fallback to the JavaScript kernels, which run only when selected (src/kernels/backend.ts).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SyncBnError } from '../errors.js';
import { KERNEL_EXPORTS, type KernelExports } from './wasm-exports.js';

/** The WebAssembly module could not be read, validated, compiled, instantiated or used. */
export class WasmKernelError extends SyncBnError {
  /** Always 'E_WASM_KERNEL'. */
  override readonly code = 'E_WASM_KERNEL';
  /** Always 'WasmKernelError'. */
  override readonly name = 'WasmKernelError';
}

/** The part of the WebAssembly JavaScript API used here (the project's lib settings do not declare it). */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
  Memory: abstract new (...args: never[]) => object;
  Global: abstract new (...args: never[]) => object;
}

const HINT =
  'the WebAssembly kernels are required: rebuild them with `npm run build`, or select the JavaScript reference kernels explicitly with SYNCBN_KERNELS=js';

/**
 * Where the module is: dist/wasm/kernels.wasm of this package, both when this file runs compiled
 * (dist/src/kernels/*.js) and from its TypeScript source (src/kernels/*.ts, as the tests do).
 * @returns the file's path.
 */
export function kernelsWasmPath(): string {
  const fromHere = import.meta.url.endsWith('.ts') ? '../../dist/wasm/kernels.wasm' : '../../wasm/kernels.wasm';
  return fileURLToPath(new URL(fromHere, import.meta.url));
}

/**
 * Validates, compiles and instantiates the module's bytes and checks its exports.
 * @param bytes - the contents of a .wasm file.
 * @param origin - where the bytes came from, for error messages.
 * @returns the instance's exports.
 * @throws WasmKernelError when any step fails.
 */
export function instantiateKernels(bytes: Uint8Array, origin: string): KernelExports {
  const fail = (what: string, cause?: unknown): never => {
    const detail = cause instanceof Error ? `: ${cause.message}` : '';
    throw new WasmKernelError(
      `WebAssembly kernels ${origin}: ${what}${detail}; ${HINT}`,
      cause === undefined ? undefined : { cause },
    );
  };
  const WA = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;
  if (!WA) return fail('this runtime has no WebAssembly');
  if (!WA.validate(bytes))
    return fail('WebAssembly.validate rejects the module (a corrupt file, or a runtime without WebAssembly SIMD)');
  let exports: Record<string, unknown>;
  try {
    exports = new WA.Instance(new WA.Module(bytes), {}).exports;
  } catch (error) {
    return fail('the module does not compile or instantiate', error);
  }
  const kinds = {
    function: (v: unknown) => typeof v === 'function',
    memory: (v: unknown) => v instanceof WA.Memory,
    global: (v: unknown) => v instanceof WA.Global,
  };
  const missing = Object.entries(KERNEL_EXPORTS)
    .filter(([name, kind]) => !kinds[kind](exports[name]))
    .map(([name, kind]) => `${name} (${kind})`);
  if (missing.length > 0) fail(`the module lacks the exports ${missing.join(', ')}`);
  return exports as unknown as KernelExports;
}

/**
 * Reads and instantiates the kernels' module.
 * @param path - the .wasm file (default dist/wasm/kernels.wasm, `kernelsWasmPath`).
 * @returns the instance's exports.
 * @throws WasmKernelError when the file is missing or unusable.
 */
export function loadKernels(path: string = kernelsWasmPath()): KernelExports {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new WasmKernelError(
      `WebAssembly kernels ${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)}); ${HINT}`,
      { cause: error },
    );
  }
  return instantiateKernels(bytes, path);
}
