/**
 * Fault blame with the machine fully loaded: a busy loop runs on every core (child processes)
 * while clusters fail on purpose, several at once, so that thread start-up, timeouts and replies
 * all come late and out of order. The faulty rank must be named every time, for every algorithm
 * and fault kind; a timeout shorter than a step must be called that, not blamed on a rank; and
 * tearing pools down while some of their threads are still starting must not abort the process.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from '../src/cluster/cluster.js';
import {
  CollectiveTimeoutError,
  DeviceCrashError,
  type DeviceFailureError,
  DeviceHangError,
  DeviceMissingError,
} from '../src/cluster/errors.js';
import type { FaultKind } from '../src/cluster/protocol.js';
import { ALGORITHM_NAMES, type AlgorithmName } from '../src/collectives/algorithms/index.js';

const x = { data: Float32Array.from({ length: 32 * 3 }, (_, i) => Math.sin(i)), shape: [32, 3] };
const busy: ChildProcess[] = [];

beforeAll(() => {
  for (let i = 0; i < availableParallelism(); i++)
    busy.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
});
afterAll(() => {
  for (const child of busy) child.kill('SIGKILL');
});

async function failure(
  devices: number,
  algorithm: AlgorithmName,
  fault: { kind: FaultKind; rank: number } | undefined,
  timeoutMs: number,
): Promise<DeviceFailureError> {
  const cluster = Cluster.start({ devices, algorithm, timeoutMs, fault });
  try {
    await cluster.forward(x);
  } catch (error) {
    expect(cluster.closed).toBe(true); // its threads are gone
    return error as DeviceFailureError;
  } finally {
    await cluster.close();
  }
  throw new Error(`${algorithm} ${fault?.kind}:${fault?.rank} did not fail`);
}

const EXPECTED = { crash: DeviceCrashError, hang: DeviceHangError, skip: DeviceMissingError } as const;

describe('fault blame under full load', () => {
  it('names the faulty rank for every algorithm and fault kind', async () => {
    // Every case at once: their threads start, time out and reply over each other.
    const cases = (['skip', 'hang', 'crash'] as const).flatMap((kind) =>
      ALGORITHM_NAMES.map((algorithm) => ({ kind, algorithm })),
    );
    const errors = await Promise.all(cases.map(({ kind, algorithm }) => failure(3, algorithm, { kind, rank: 2 }, 300)));
    errors.forEach((e, i) => {
      const { kind, algorithm } = cases[i];
      expect(e, `${algorithm} ${kind}: ${e.message}`).toBeInstanceOf(EXPECTED[kind]);
      expect(e.rank, `${algorithm} ${kind}: ${e.message}`).toBe(2);
    });
  });

  it('names rank 3 in every run of the reported case (8 devices, tree, skip:3)', async () => {
    // Six at once: 48 threads starting make some rank reach the collective seconds late.
    const errors = await Promise.all(
      Array.from({ length: 6 }, () => failure(8, 'tree', { kind: 'skip', rank: 3 }, 300)),
    );
    for (const e of errors) {
      expect(e, e.message).toBeInstanceOf(DeviceMissingError);
      expect(e.message).toMatch(/^device rank 3 never joined the collective in phase 'forward: all-reduce'/);
    }
  });

  it('a timeout shorter than a step is reported as such, with no rank blamed', async () => {
    const errors = [await failure(8, 'ring', undefined, 1)];
    for (const e of errors) {
      expect(e, e.message).toBeInstanceOf(CollectiveTimeoutError);
      expect(e.code).toBe('E_COLLECTIVE_TIMEOUT');
      expect(e.message).toMatch(
        /^collective timed out after 1 ms in phase 'forward: all-reduce' with no device at fault .*the timeout is shorter than a step takes here; raise timeoutMs/,
      );
    }
  });
});
