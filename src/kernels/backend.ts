/**
 * Which implementation of the numeric kernels runs in this thread: `wasm`, the WebAssembly SIMD
 * kernels built from assembly/ (the default, required on Node >= 20), or `js`, the plain
 * JavaScript kernels kept as the reference. The choice is explicit only: the `kernels` option of
 * the trainer, `useKernels` in a thread of one's own, or the environment variable
 * `SYNCBN_KERNELS=js|wasm`. Nothing falls back from one to the other: when the WebAssembly module
 * cannot be loaded, using it throws (src/kernels/wasm-module.ts).
 *
 * The choice is per thread (every worker has its own module state); the trainer sends its choice
 * with every task, so devices run what the coordinator was asked for.
 */
import { InputError } from '../errors.js';

/** The two implementations of the kernels. */
export type KernelBackend = 'wasm' | 'js';

/** Every backend, the default first. */
export const KERNEL_BACKENDS: readonly KernelBackend[] = ['wasm', 'js'];

/** The environment variable that selects the backend when no option does. */
export const KERNELS_ENV = 'SYNCBN_KERNELS';

/**
 * The backend named by `value`.
 * @param value - `wasm` or `js`.
 * @param source - where the value came from, for the error message.
 * @returns the backend.
 * @throws {@link InputError} when `value` names no backend.
 */
export function parseKernelBackend(value: string, source: string): KernelBackend {
  if (value === 'wasm' || value === 'js') return value;
  throw new InputError(`${source} must be one of ${KERNEL_BACKENDS.join(', ')}, got '${value}'`);
}

/**
 * The backend the environment asks for: `SYNCBN_KERNELS` when set and not empty, else `wasm`.
 * @param env - the environment to read (default `process.env`).
 * @returns the backend.
 * @throws {@link InputError} when `SYNCBN_KERNELS` names no backend.
 */
export function kernelsFromEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): KernelBackend {
  const value = env[KERNELS_ENV];
  return value === undefined || value === '' ? 'wasm' : parseKernelBackend(value, KERNELS_ENV);
}

let current: KernelBackend | undefined;

/**
 * The backend the kernels of this thread use: the last `useKernels`, else the environment's.
 * @returns `wasm` or `js`.
 * @throws {@link InputError} when `SYNCBN_KERNELS` names no backend.
 */
export function kernelBackend(): KernelBackend {
  current ??= kernelsFromEnvironment();
  return current;
}

/**
 * Selects the backend for every kernel of this thread from now on.
 *
 * @param backend - `wasm` or `js`.
 * @throws {@link InputError} when `backend` names no backend.
 * @example
 * ```ts
 * import { useKernels } from 'syncbn-sim';
 * useKernels('js'); // the JavaScript reference kernels, on this thread
 * ```
 */
export function useKernels(backend: KernelBackend): void {
  current = parseKernelBackend(backend, 'kernels');
}
