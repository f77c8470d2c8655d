// The kernel benchmark on a tiny batch, without PyTorch: the figures it documents are there and
// consistent (bytes per pass, GB/s from them, ratios per round), and it leaves the thread's kernel
// choice as it found it. No timing is asserted.
import { describe, expect, it } from 'vitest';
import { benchmarkKernels } from '../src/experiments/kernel-bench.js';
import { kernelBackend, useKernels } from '../src/kernels/backend.js';

describe('benchmarkKernels', () => {
  it('times every pass on both backends and reports bytes, GB/s and the goal', async () => {
    useKernels('js');
    try {
      const r = await benchmarkKernels({ shape: [4, 3, 4, 4], rounds: 2, reps: 1, torch: false });
      expect(kernelBackend()).toBe('js');
      const bytes = 4 * 3 * 16 * 4;
      expect(r.passes.map((p) => p.bytes / bytes)).toEqual([1, 2, 2, 2, 3, 3]);
      for (const p of r.passes) {
        expect(p.wasm_ms).toBeGreaterThan(0);
        expect(p.js_ms).toBeGreaterThan(0);
        expect(p.wasm_gb_per_s).toBeCloseTo(p.bytes / (p.wasm_ms * 1e6), 12);
        expect(p.js_ratio_to_probe).toBeCloseTo(p.js_gb_per_s / r.probe.gb_per_s, 12);
      }
      expect(r.steps.map((s) => s.step)).toEqual(['forward', 'forward+backward']);
      for (const s of r.steps) {
        expect(s.js_over_wasm.min).toBeLessThanOrEqual(s.js_over_wasm.median);
        expect(s.js_over_wasm.max).toBeGreaterThanOrEqual(s.js_over_wasm.median);
        expect(s.pytorch_ms).toBeUndefined();
      }
      expect(r.pytorch_note).toBe('not run (switched off)');
      expect(r.goal).toEqual({ name: expect.stringMatching(/forward\+backward.*PyTorch/), goal: 1 });
    } finally {
      useKernels('wasm');
    }
  });
});
