/**
 * The cost model against published NCCL measurements (src/cost/validation.ts). Tolerances, fixed
 * before looking at the misses: small-message latency within 30% (nccl-tests times include the
 * host's launch of each call, which NCCL's model leaves out), large-message bus bandwidth within
 * 10% (NCCL's effective link rates are its own topology figures, not fitted to these runs).
 */
import { describe, expect, it } from 'vitest';
import { MEASUREMENTS, validate } from '../src/cost/validation.js';

describe('cost model against published measurements', () => {
  it.each(MEASUREMENTS.map((m) => [m.name, m] as const))('%s', (_name, m) => {
    const row = validate(m);
    const tolerance = m.metric === 'seconds' ? 0.3 : 0.1;
    expect(Math.abs(row.error)).toBeLessThan(tolerance);
    // The model runs NCCL's algorithms: rings for large messages.
    if (m.metric === 'busbw') expect(row.algorithm).toBe('ring');
  });

  it('covers latency inside a node, across nodes, and bandwidth on 8 GPUs of a node', () => {
    expect(MEASUREMENTS.some((m) => m.metric === 'seconds' && m.nodes === 1)).toBe(true);
    expect(MEASUREMENTS.some((m) => m.metric === 'seconds' && m.nodes > 1)).toBe(true);
    expect(MEASUREMENTS.some((m) => m.metric === 'busbw' && m.nodes === 1 && m.gpusPerNode === 8)).toBe(true);
  });
});
