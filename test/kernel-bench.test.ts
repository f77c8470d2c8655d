// The kernel benchmark on a tiny batch, without PyTorch: the figures it documents are there and
// consistent (bytes per pass, GB/s from them, ratios per round), and it leaves the thread's kernel
// choice as it found it. No timing is asserted.
import { describe, expect, it } from 'vitest';
import { benchmarkKernels } from '../src/experiments/kernel-bench.js';
import { kernelBackend, useKernels } from '../src/kernels/backend.js';
import { kernelBenchTable } from '../src/report/tables/kernel-bench-table.js';

describe('benchmarkKernels', () => {
  it('times every pass on both backends and reports bytes, GB/s and the goal', async () => {
    useKernels('js');
    try {
      const r = await benchmarkKernels({ shape: [4, 3, 4, 4], rounds: 2, reps: 1, torch: false });
      expect(kernelBackend()).toBe('js');
      const bytes = 4 * 3 * 16 * 4;
      expect(r.passes.map((p) => p.bytes / bytes)).toEqual([1, 2, 2, 2, 3, 3]);
      for (const p of r.passes) {
        expect(p.wasmMs).toBeGreaterThan(0);
        expect(p.jsMs).toBeGreaterThan(0);
        expect(p.wasmGbPerS).toBeCloseTo(p.bytes / (p.wasmMs * 1e6), 12);
        expect(p.jsRatioToProbe).toBeCloseTo(p.jsGbPerS / r.probe.gbPerS, 12);
      }
      expect(r.steps.map((s) => s.step)).toEqual(['forward', 'forward+backward']);
      for (const s of r.steps) {
        expect(s.jsOverWasm.min).toBeLessThanOrEqual(s.jsOverWasm.median);
        expect(s.jsOverWasm.max).toBeGreaterThanOrEqual(s.jsOverWasm.median);
        expect(s.pytorchMs).toBeUndefined();
      }
      expect(r.pytorchNote).toBe('not run (switched off)');
      expect(r.goal).toEqual({ name: expect.stringMatching(/forward\+backward.*PyTorch/), goal: 1 });
      expect(kernelBenchTable(r)).toMatch(/PyTorch: not run \(switched off\)\ngoal: .* not measured$/);
    } finally {
      useKernels('wasm');
    }
  });
});
