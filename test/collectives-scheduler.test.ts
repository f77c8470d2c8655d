/**
 * The collectives as generators, driven by one scheduler hosting every device (one thread):
 * the results, the bitwise agreement between ranks, the message counts, and the failures.
 */
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES, type AlgorithmName, algorithmByName } from '../src/collectives/algorithms/index.js';
import { Doorbells, allocateDoorbells } from '../src/collectives/doorbells.js';
import type { Program } from '../src/collectives/endpoint.js';
import { DeviceProgramError, PeerWaitTimeoutError } from '../src/collectives/errors.js';
import { OutboxEndpoint } from '../src/collectives/outbox-endpoint.js';
import { allocateOutbox, outboxViews } from '../src/collectives/outbox.js';
import { type Reducer, chanMerge, float64Sum } from '../src/collectives/reducers.js';
import { Scheduler } from '../src/collectives/scheduler.js';

let lastSnapshot: ReturnType<Scheduler['snapshot']> | undefined;

interface RunResult {
  data: Float64Array[];
  messages: number;
  bytes: number;
}

/** Runs `calls` all-reduces of each rank's vector among W devices hosted on one scheduler. */
function allReduceOnOneThread(
  algorithm: AlgorithmName,
  inputs: Float64Array[],
  reducer: Reducer,
  options: { calls?: number; program?: (rank: number, run: () => Program) => Program; timeoutMs?: number } = {},
): RunResult {
  const W = inputs.length;
  const impl = algorithmByName(algorithm);
  const space = impl.space(W, inputs[0].length, reducer.width);
  const outbox = outboxViews(
    allocateOutbox({ devices: W, slots: space.slots, slotValues: Math.max(space.slotValues, 1) }),
  );
  const scheduler = new Scheduler({
    thread: 0,
    threadOfRank: new Int32Array(W),
    doorbells: new Doorbells(allocateDoorbells(1)),
    abort: { array: new Int32Array(1), index: 0 },
    timeoutMs: options.timeoutMs ?? 5000,
  });
  const members = inputs.map((_, r) => r);
  const comm = { first: 0, size: W };
  const data = inputs.map((v) => v.slice());
  const traffic = { messages: 0, bytes: 0 };
  const calls = options.calls ?? 1;
  function* device(rank: number): Program {
    for (let c = 0; c < calls; c++) {
      const endpoint = new OutboxEndpoint(outbox, comm, rank, reducer.bytesPerValue, scheduler);
      yield* impl.run(endpoint, data[rank], reducer);
      traffic.messages += endpoint.traffic.messages;
      traffic.bytes += endpoint.traffic.bytes;
    }
  }
  const programs = members.map((rank) => (options.program ? options.program(rank, () => device(rank)) : device(rank)));
  try {
    scheduler.run(members, programs);
  } finally {
    lastSnapshot = scheduler.snapshot();
  }
  return { data, ...traffic };
}

function integerVectors(W: number, n: number): Float64Array[] {
  return Array.from({ length: W }, (_, r) => Float64Array.from({ length: n }, (_, i) => ((r * 31 + i * 7) % 97) - 40));
}

function welfordRecords(W: number, C: number): Float64Array[] {
  return Array.from({ length: W }, (_, r) => {
    const v = new Float64Array(3 * C);
    for (let c = 0; c < C; c++) {
      v[3 * c] = (r % 5) + 1; // counts, some ranks heavier
      v[3 * c + 1] = 1e4 + Math.sin(r * 1.3 + c) * 0.37;
      v[3 * c + 2] = 0.5 + Math.cos(r + c * 0.7) ** 2;
    }
    return v;
  });
}

/** Messages per all-reduce among W ranks, summed over ranks (the textbook counts). */
function textbookMessages(algorithm: AlgorithmName, W: number): number {
  if (W === 1) return 0;
  const p = 2 ** Math.floor(Math.log2(W));
  switch (algorithm) {
    case 'allgather':
      return W * (W - 1);
    case 'central':
    case 'tree':
      return 2 * (W - 1);
    case 'ring':
      return 2 * W * (W - 1);
    case 'recursive-doubling':
      return p * Math.log2(p) + 2 * (W - p);
    case 'double-binary-tree':
      // Each tree: W - 1 messages up and W - 1 down.
      return 4 * (W - 1);
    case 'hierarchical': {
      // Up and down inside nodes of 8, recursive doubling among the N node leaders.
      const N = Math.ceil(W / 8);
      const q = 2 ** Math.floor(Math.log2(N));
      return 2 * (W - N) + q * Math.log2(q) + 2 * (N - q);
    }
  }
}

describe('collectives on one scheduler', () => {
  for (const algorithm of ALGORITHM_NAMES) {
    for (const W of [1, 2, 3, 5, 8, 13, 64]) {
      it(`${algorithm}, W = ${W}: every rank gets the exact sum, with the textbook message count`, () => {
        const inputs = integerVectors(W, 17);
        const expected = new Float64Array(17);
        for (const v of inputs) for (let i = 0; i < 17; i++) expected[i] += v[i];
        const result = allReduceOnOneThread(algorithm, inputs, float64Sum);
        for (const d of result.data) expect(Array.from(d)).toEqual(Array.from(expected));
        expect(result.messages).toBe(textbookMessages(algorithm, W));
      });
    }

    it(`${algorithm}: Welford records merge to bitwise the same statistics on every rank, call after call`, () => {
      const W = 24;
      const result = allReduceOnOneThread(algorithm, welfordRecords(W, 5), chanMerge, { calls: 3 });
      for (const d of result.data) expect(Array.from(d)).toEqual(Array.from(result.data[0]));
      // Three merges of the merged statistics: the count grows W-fold per call.
      const total = welfordRecords(W, 5).reduce((a, v) => a + v[0], 0);
      expect(result.data[0][0]).toBe(total * W * W);
    });
  }

  it('ring with far more devices than values still sends its 2(W-1) steps per rank', () => {
    const result = allReduceOnOneThread('ring', integerVectors(200, 3), float64Sum);
    expect(result.messages).toBe(2 * 200 * 199);
    expect(Array.from(result.data[137])).toEqual(Array.from(result.data[0]));
  });

  it('a device that skips the collective makes its peers time out, naming who waited for whom', () => {
    const run = () =>
      allReduceOnOneThread('tree', integerVectors(8, 4), float64Sum, {
        timeoutMs: 50,
        // Rank 3 never joins.
        program: (rank, go) => (rank === 3 ? (function* () {})() : go()),
      });
    expect(run).toThrow(PeerWaitTimeoutError);
    expect(run).toThrow(expect.objectContaining({ code: 'E_PEER_WAIT_TIMEOUT' }));
    // Rank 3 ended without posting; rank 2 (its parent in the tree) waits for it.
    expect(lastSnapshot!.finished).toEqual([3]);
    expect(lastSnapshot!.waiting.find((w) => w.rank === 2)?.wait).toMatchObject({ kind: 'message', peer: 3 });
  });

  it('a device whose program throws is named', () => {
    const run = () =>
      allReduceOnOneThread('allgather', integerVectors(6, 4), float64Sum, {
        program: (rank, go) =>
          rank === 4
            ? // biome-ignore lint/correctness/useYield: a program that finishes without waiting
              (function* (): Program {
                throw new Error('boom');
              })()
            : go(),
      });
    expect(run).toThrow(DeviceProgramError);
    try {
      run();
    } catch (error) {
      expect((error as DeviceProgramError).rank).toBe(4);
      expect((error as DeviceProgramError).code).toBe('E_DEVICE_PROGRAM');
    }
  });
});

describe('the scheduler sleeps only when it must', () => {
  it('does not sleep once a look at the remotely parked devices has let them all finish', () => {
    // Thread 0 hosts rank 0 only; rank 1 lives on thread 1. Rank 0 first pauses for a message of
    // rank 1, which "arrives" (is counted as there) only after rank 0 has paused once.
    let sleeps = 0;
    const bells = new Doorbells(allocateDoorbells(2));
    const counting = Object.assign(Object.create(Object.getPrototypeOf(bells)), bells, {
      sleep: () => {
        sleeps++;
      },
    }) as Doorbells;
    const scheduler = new Scheduler({
      thread: 0,
      threadOfRank: Int32Array.from([0, 1]),
      doorbells: counting,
      abort: { array: new Int32Array(1), index: 0 },
      timeoutMs: 1000,
    });
    let arrived = false;
    function* rank0(): Program<string> {
      while (!arrived) {
        arrived = true; // the message lands while rank 0 is parked
        yield { kind: 'message', peer: 1, tag: 0 };
      }
      return 'done';
    }
    expect(scheduler.run([0], [rank0()])).toEqual(['done']);
    expect(sleeps).toBe(0);
  });
});
