/**
 * The logistic sigmoid on WebAssembly SIMD (kernel in src/nn/wasm-kernels.ts): Math.exp costs
 * about 8 ns per call in V8, which made sigmoid the slowest layer of LeNet; this runs about 4x
 * faster, within 2 ulp of the float64 formula rounded to float32. The data is copied into the
 * runtime's memory and back (two memcpys).
 */
import { wasmRuntime } from './wasm-runtime.js';

/** The SIMD sigmoid (y may be x), or undefined where WebAssembly SIMD is not available. */
export function wasmSigmoid(): ((x: Float32Array, y: Float32Array) => void) | undefined {
  const rt = wasmRuntime();
  if (!rt) return undefined;
  return (x, y) => {
    const n = x.length;
    const padded = (n + 3) & ~3;
    const heap = rt.reserve(padded * 2);
    heap.set(x, 0);
    heap.fill(0, n, padded);
    rt.sigmoid(0, padded * 4, padded);
    y.set(heap.subarray(padded, padded + n));
  };
}
