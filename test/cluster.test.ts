/**
 * The cluster with real worker threads: every mode equals its single-device reference, every
 * algorithm gives every rank the same bits, and the traffic matches the textbook counts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { STATS_METHODS, type StatsMethod } from '../src/bn/batch-moments.js';
import { ALGORITHM_NAMES, type AlgorithmName } from '../src/collectives/algorithms/index.js';
import { Cluster } from '../src/cluster/cluster.js';
import { parseMode } from '../src/bn/modes.js';
import { InputError } from '../src/errors.js';
import type { Tensor } from '../src/tensor/tensor.js';
import { relativeError } from './helpers.js';
import { referenceFor } from './reference.js';

function batch(shape: number[], seed: number, dtype: 'float32' | 'float64' = 'float64'): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  // Channel-dependent offset and scale, so that a wrong channel mapping cannot pass.
  const inner = n / shape[0] / shape[1];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(i / inner) % shape[1];
    data[i] = (c + 1) * Math.sin(i * 12.9898 + seed * 78.233) + c * 0.5 - 1;
  }
  return {
    data,
    shape,
  };
}

const open: Cluster[] = [];
function start(...args: Parameters<typeof Cluster.start>): Cluster {
  const c = Cluster.start(...args);
  open.push(c);
  return c;
}
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
});

const weight = [1.5, -0.5, 2];
const bias = [0.1, 0.2, -0.3];

async function expectMatchesReference(cluster: Cluster, mode: string, x: Tensor, steps = 1, tol = 1e-12) {
  const W = cluster.devices;
  const parsed = parseMode(mode, W);
  for (let step = 0; step < steps; step++) {
    const xs = batch(x.shape as number[], step + 11, x.data instanceof Float32Array ? 'float32' : 'float64');
    const dy = batch(x.shape as number[], step + 101, x.data instanceof Float32Array ? 'float32' : 'float64');
    const before = cluster.runningStats();
    const f = await cluster.forward(xs, { mode, weight, bias });
    const b = await cluster.backward(dy);
    // Reference per rank uses that rank's running statistics before the step.
    const ref = referenceFor(parsed, xs, W, { weight, bias, gradOutput: dy, stats: cluster.stats }, before);
    expect(relativeError(f.output.data, ref.output), `output, step ${step}`).toBeLessThan(tol);
    expect(relativeError(b.gradInput.data, ref.gradInput!), `grad input, step ${step}`).toBeLessThan(tol);
    expect(relativeError(b.gradWeight, ref.gradWeight!), 'grad weight').toBeLessThan(tol);
    expect(relativeError(b.gradBias, ref.gradBias!), 'grad bias').toBeLessThan(tol);
    const after = cluster.runningStats();
    for (let r = 0; r < W; r++) {
      expect(relativeError(after[r].mean, ref.running[r].mean), `running mean rank ${r}`).toBeLessThan(tol);
      expect(relativeError(after[r].var, ref.running[r].var), `running var rank ${r}`).toBeLessThan(tol);
    }
  }
}

describe('sync BN equals single-device BN on the whole batch', () => {
  it.each(ALGORITHM_NAMES)('%s, W = 1, 3, 8, uneven shards, over two steps', async (algorithm) => {
    for (const W of [1, 3, 8]) {
      const cluster = start({ devices: W, algorithm, timeoutMs: 10_000 });
      await expectMatchesReference(cluster, 'sync', batch([13, 3, 2, 3], 1), 2);
      await cluster.close();
    }
  });

  it.each(STATS_METHODS)('every algorithm with %s statistics, W = 6 (not a power of two)', async (stats) => {
    for (const algorithm of ALGORITHM_NAMES) {
      const cluster = start({ devices: 6, algorithm, stats: stats as StatsMethod, timeoutMs: 10_000 });
      await expectMatchesReference(cluster, 'sync', batch([20, 3], 2));
      await cluster.close();
    }
  });

  it('empty shards (N < W) contribute nothing', async () => {
    for (const algorithm of ['ring', 'recursive-doubling', 'tree'] as AlgorithmName[]) {
      const cluster = start({ devices: 8, algorithm, stats: 'welford', timeoutMs: 10_000 });
      await expectMatchesReference(cluster, 'sync', batch([3, 3, 2, 2], 3));
      await cluster.close();
    }
  });

  it('groups whose devices all hold empty shards contribute nothing and produce no NaN', async () => {
    const cluster = start({ devices: 8, timeoutMs: 10_000 });
    await expectMatchesReference(cluster, 'group:2', batch([3, 3, 2, 2], 13), 2);
    const b = await cluster.backward(batch([3, 3, 2, 2], 14));
    for (const v of b.gradWeight) expect(Number.isFinite(v)).toBe(true);
    await cluster.close();
  });

  it('float32 batches match to float32 rounding', async () => {
    const cluster = start({ devices: 4, timeoutMs: 10_000 });
    await expectMatchesReference(cluster, 'sync', batch([10, 3, 3, 3], 4, 'float32'), 2, 1e-6);
    const f = await cluster.forward(batch([10, 3, 3, 3], 4, 'float32'));
    expect(f.output.data).toBeInstanceOf(Float32Array);
    await cluster.close();
  });

  it('runs 64 devices', async () => {
    const cluster = start({ devices: 64, algorithm: 'recursive-doubling', timeoutMs: 20_000 });
    await expectMatchesReference(cluster, 'sync', batch([100, 3], 5));
    await cluster.close();
  });
});

describe('the other modes equal their own references', () => {
  it.each(['local', 'group:2', 'group:3', 'ghost:2', 'ghost:3'])('%s over W = 6, several steps', async (mode) => {
    const cluster = start({ devices: 6, timeoutMs: 10_000 });
    await expectMatchesReference(cluster, mode, batch([23, 3, 2, 2], 6), 3);
    await cluster.close();
  });

  it('group:W equals sync, group:1 equals local, ghost:G >= shard equals local', async () => {
    const cluster = start({ devices: 4, timeoutMs: 10_000 });
    const x = batch([14, 3, 2, 2], 7);
    const out = async (mode: string) => (await cluster.forward(x, { mode, weight, bias, training: true })).output.data;
    expect(Array.from(await out('group:4'))).toEqual(Array.from(await out('sync')));
    expect(Array.from(await out('group:1'))).toEqual(Array.from(await out('local')));
    expect(Array.from(await out('ghost:4'))).toEqual(Array.from(await out('local')));
    await cluster.close();
  });

  it('W = 1 makes every mode the same', async () => {
    const cluster = start({ devices: 1, timeoutMs: 10_000 });
    const x = batch([9, 3, 2, 2], 8);
    const outputs = [];
    for (const mode of ['sync', 'local', 'group:1', 'ghost:9'])
      outputs.push(Array.from((await cluster.forward(x, { mode })).output.data));
    for (const o of outputs) expect(o).toEqual(outputs[0]);
    await cluster.close();
  });
});

describe('communication', () => {
  const C = 3;
  const n = 2 * C + 1;
  // Total messages and values all ranks send for one all-reduce of n values, as textbooks give them.
  const textbook: Record<AlgorithmName, (W: number) => { messages: number; values: number }> = {
    ring: (W) => ({ messages: 2 * W * (W - 1), values: 2 * (W - 1) * n }),
    tree: (W) => ({ messages: 2 * (W - 1), values: 2 * (W - 1) * n }),
    'recursive-doubling': (W) => {
      const p = 2 ** Math.floor(Math.log2(W));
      const extra = 2 * (W - p);
      return { messages: p * Math.log2(p) + extra, values: (p * Math.log2(p) + extra) * n };
    },
    allgather: (W) => ({ messages: W * (W - 1), values: W * (W - 1) * n }),
    central: (W) => ({ messages: 2 * (W - 1), values: 2 * (W - 1) * n }),
    // Two trees, each carrying half the vector up and down.
    'double-binary-tree': (W) => ({ messages: 4 * (W - 1), values: 2 * (W - 1) * n }),
    // Up and down inside nodes of 8, recursive doubling among the N node leaders.
    hierarchical: (W) => {
      const N = Math.ceil(W / 8);
      const q = 2 ** Math.floor(Math.log2(N));
      const messages = 2 * (W - N) + q * Math.log2(q) + 2 * (N - q);
      return { messages, values: messages * n };
    },
  };

  it.each(ALGORITHM_NAMES)('%s sends the textbook number of messages and bytes', async (algorithm) => {
    for (const W of [1, 2, 5, 8]) {
      const cluster = start({ devices: W, algorithm, timeoutMs: 10_000 });
      const f = await cluster.forward(batch([16, C], 9));
      const want = textbook[algorithm](W);
      expect(f.comm.messages, `W=${W}`).toBe(want.messages);
      expect(f.comm.bytes, `W=${W}`).toBe(want.values * 8);
      if (algorithm === 'ring' && W > 1) {
        for (const r of f.comm.perRank) expect(r.messages).toBe(2 * (W - 1));
      }
      await cluster.close();
    }
  });

  it('the backward all-reduces count, sum(dy) and sum(dy * xhat): 2C + 1 values', async () => {
    const cluster = start({ devices: 4, algorithm: 'allgather', timeoutMs: 10_000 });
    await cluster.forward(batch([16, C], 9));
    const b = await cluster.backward(batch([16, C], 10));
    expect(b.comm.bytes).toBe(4 * 3 * n * 8);
    await cluster.close();
  });

  it('eval mode and local mode send no message at all', async () => {
    const cluster = start({ devices: 4, timeoutMs: 10_000 });
    const x = batch([16, C], 11);
    expect((await cluster.forward(x, { training: false })).comm.messages).toBe(0);
    expect((await cluster.backward(x)).comm.messages).toBe(0);
    expect((await cluster.forward(x, { mode: 'local' })).comm.messages).toBe(0);
    expect((await cluster.forward(x, { mode: 'ghost:2' })).comm.messages).toBe(0);
    await cluster.close();
  });

  it('every rank ends with bitwise the same statistics, and so does every run', async () => {
    const x = batch([37, 3, 2, 2], 12);
    for (const algorithm of ALGORITHM_NAMES) {
      const runs = [];
      for (let run = 0; run < 2; run++) {
        const cluster = start({ devices: 7, algorithm, stats: 'welford', timeoutMs: 10_000 });
        const f = await cluster.forward(x);
        for (const d of f.devices) {
          expect(Array.from(d.used.mean)).toEqual(Array.from(f.devices[0].used.mean));
          expect(Array.from(d.used.var)).toEqual(Array.from(f.devices[0].used.var));
        }
        runs.push(Array.from(f.output.data));
        await cluster.close();
      }
      expect(runs[1]).toEqual(runs[0]);
    }
  });
});

describe('shared-memory tensors', () => {
  it('inputs in shared memory are read where they are, outputs go where asked, results equal the copying path', async () => {
    const cluster = start({ devices: 3, timeoutMs: 10_000 });
    const plain = batch([12, 3, 2, 2], 21);
    const dyPlain = batch([12, 3, 2, 2], 22);
    const copied = await cluster.forward(plain, { weight, bias });
    const copiedBack = await cluster.backward(dyPlain);

    const fresh = start({ devices: 3, timeoutMs: 10_000 });
    const x = Cluster.sharedTensor(plain.shape, 'float64');
    x.data.set(plain.data);
    const dy = Cluster.sharedTensor(plain.shape, 'float64');
    dy.data.set(dyPlain.data);
    const out = Cluster.sharedTensor(plain.shape, 'float64');
    const gradIn = Cluster.sharedTensor(plain.shape, 'float64');
    const f = await fresh.forward(x, { weight, bias, output: out });
    const b = await fresh.backward(dy, { gradInput: gradIn });
    expect(f.output.data.buffer).toBe(out.data.buffer);
    expect(b.gradInput.data.buffer).toBe(gradIn.data.buffer);
    expect(Array.from(out.data)).toEqual(Array.from(copied.output.data));
    expect(Array.from(gradIn.data)).toEqual(Array.from(copiedBack.gradInput.data));
    // Results handed out without a caller's array stay valid after the next step.
    const first = Array.from(copied.output.data);
    await cluster.forward(batch([12, 3, 2, 2], 23));
    expect(Array.from(copied.output.data)).toEqual(first);
    await Promise.all([cluster.close(), fresh.close()]);
  });

  it('refuses output arrays that are not shared, of another size or dtype, or overlapping the input', async () => {
    const cluster = start({ devices: 2, timeoutMs: 10_000 });
    const x = Cluster.sharedTensor([8, 3], 'float64');
    x.data.set(batch([8, 3], 1).data);
    await expect(cluster.forward(x, { output: batch([8, 3], 1) })).rejects.toThrow(/must live in shared memory/);
    await expect(cluster.forward(x, { output: Cluster.sharedTensor([8, 3], 'float32') })).rejects.toThrow(
      /must be float64 with 24 elements/,
    );
    await expect(cluster.forward(x, { output: x })).rejects.toThrow(/must not overlap the input/);
    await cluster.close();
  });
});

describe('all-reduce benchmark', () => {
  it('times vectors of any length without touching the BN state, before or after a forward', async () => {
    const cluster = start({ devices: 2, timeoutMs: 10_000 });
    const fresh = await cluster.benchmarkAllReduce(100, 3);
    expect(fresh).toHaveLength(3);
    for (const us of fresh) expect(us).toBeGreaterThan(0);
    await cluster.forward(batch([8, 2], 1));
    const after = await cluster.benchmarkAllReduce(1000, 2, 'ring');
    expect(after).toHaveLength(2);
    const f = await cluster.forward(batch([8, 2], 2));
    expect(f.output.data.length).toBe(16);
    await cluster.close();
  });
});

describe('bad input to the cluster', () => {
  it('refuses a group size that does not divide W, and training groups of one value', async () => {
    const cluster = start({ devices: 4, timeoutMs: 10_000 });
    await expect(cluster.forward(batch([8, 3], 1), { mode: 'group:3' })).rejects.toThrow(
      /K = 3 must divide the number of devices \(4\)/,
    );
    await expect(cluster.forward(batch([5, 3], 1), { mode: 'local' })).rejects.toThrow(InputError);
    await expect(cluster.forward(batch([8, 3], 1), { mode: 'ghost:1' })).rejects.toThrow(
      /more than 1 value per channel/,
    );
    await expect(cluster.forward(batch([8, 3], 1), { mode: 'bogus' })).rejects.toThrow(/unknown mode 'bogus'/);
    await cluster.close();
  });

  it('NaN or infinity found by a device is bad input: nothing updated, the cluster stays usable', async () => {
    const cluster = start({ devices: 3, timeoutMs: 10_000 });
    const good = batch([12, 3], 1);
    await cluster.forward(good);
    const before = cluster.runningStats();
    for (const mode of ['sync', 'local', 'ghost:2']) {
      const bad = { data: good.data.slice(), shape: good.shape };
      bad.data[20] = NaN;
      await expect(cluster.forward(bad, { mode })).rejects.toThrow(/input contains NaN at flat index 20/);
      bad.data[20] = -Infinity;
      await expect(cluster.forward(bad, { mode, training: false })).rejects.toThrow(
        /input contains -Infinity at flat index 20/,
      );
    }
    expect(cluster.runningStats()).toEqual(before);
    await cluster.forward(good);
    const dy = { data: good.data.slice(), shape: good.shape };
    dy.data[4] = Infinity;
    await expect(cluster.backward(dy)).rejects.toThrow(/grad output contains Infinity at flat index 4/);
    expect(cluster.closed).toBe(false);
    await cluster.close();
  });

  it('refuses bad cluster options', () => {
    expect(() => Cluster.start({ devices: 0 })).toThrow(/devices must be a whole number/);
    expect(() => Cluster.start({ devices: 2, fault: { kind: 'crash', rank: 2 } })).toThrow(/fault rank 2/);
    expect(() => Cluster.start({ devices: 2, algorithm: 'gossip' as AlgorithmName })).toThrow(
      /algorithm must be one of ring, .*got 'gossip'/,
    );
  });
});
