/**
 * Injected faults with real worker threads: each ends with a typed error naming the rank and the
 * phase, the cluster closes its threads, and nothing hangs (the test timeout is the bound).
 */
import { describe, expect, it } from 'vitest';
import { Cluster } from '../src/cluster/cluster.js';
import {
  ClusterClosedError,
  DeviceCrashError,
  DeviceFailureError,
  DeviceHangError,
  DeviceMissingError,
} from '../src/cluster/errors.js';
import type { FaultKind } from '../src/cluster/protocol.js';

const x = { data: Float32Array.from({ length: 16 * 3 }, (_, i) => Math.sin(i)), shape: [16, 3] };

async function failure(kind: FaultKind, rank: number, mode: string, algorithm: 'ring' | 'tree' = 'ring') {
  const cluster = Cluster.start({ devices: 4, algorithm, timeoutMs: 1000, fault: { kind, rank } });
  let caught: unknown;
  try {
    await cluster.forward(x, { mode });
  } catch (error) {
    caught = error;
  }
  expect(cluster.closed).toBe(true);
  await expect(cluster.forward(x)).rejects.toThrow(ClusterClosedError);
  await cluster.close();
  expect(caught).toBeInstanceOf(DeviceFailureError);
  return caught as DeviceFailureError;
}

describe('faults', () => {
  it('a crash mid-collective names the rank and phase, and its peers are released', async () => {
    const e = await failure('crash', 2, 'sync');
    expect(e).toBeInstanceOf(DeviceCrashError);
    expect(e.code).toBe('E_DEVICE_CRASH');
    expect(e.rank).toBe(2);
    expect(e.phase).toBe('forward: all-reduce');
    expect(e.message).toMatch(/device rank 2 crashed in phase 'forward: all-reduce'/);
  });

  it('a crash in local mode (no collective) is reported where the device was', async () => {
    const e = await failure('crash', 3, 'local');
    expect(e).toBeInstanceOf(DeviceCrashError);
    expect(e.phase).toBe('forward: normalize');
  });

  it('a hang is detected by the timeout and the hung thread is terminated', async () => {
    const e = await failure('hang', 1, 'sync', 'tree');
    expect(e).toBeInstanceOf(DeviceHangError);
    expect(e.code).toBe('E_DEVICE_HANG');
    expect(e.rank).toBe(1);
    expect(e.message).toMatch(/device rank 1 stopped responding in phase 'forward: all-reduce'/);
  });

  it('a rank that never joins the collective times its peers out and is named', async () => {
    for (const algorithm of ['ring', 'tree'] as const) {
      const e = await failure('skip', 3, 'sync', algorithm);
      expect(e).toBeInstanceOf(DeviceMissingError);
      expect(e.code).toBe('E_DEVICE_MISSING');
      expect(e.rank).toBe(3);
      expect(e.message).toMatch(/device rank 3 never joined the collective in phase 'forward: all-reduce'/);
    }
  });

  it('in group mode only the faulty group waits, and the missing rank is still named', async () => {
    const e = await failure('skip', 1, 'group:2');
    expect(e).toBeInstanceOf(DeviceMissingError);
    expect(e.rank).toBe(1);
  });

  it('close() twice is harmless and later steps refuse clearly', async () => {
    const cluster = Cluster.start({ devices: 2 });
    await cluster.forward(x);
    await cluster.close();
    await cluster.close();
    await expect(cluster.forward(x)).rejects.toThrow(/cluster is closed/);
  });
});
