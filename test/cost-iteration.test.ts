/**
 * The iteration model (src/cost/iteration.ts), the frameworks' BN traffic (bn-patterns.ts) and the
 * executed iteration (simulate.ts): call counts by pattern, what each mode communicates, DDP's
 * overlap, executed = analytic without jitter, and the wait stragglers add to sync BN.
 */
import { describe, expect, it } from 'vitest';
import { bnCalls } from '../src/cost/bn-patterns.js';
import { DDP_BUCKET_BYTES, PickCache, gradientAllReduce, iterationCost, parseCostMode } from '../src/cost/iteration.js';
import { MODELS, computeSeconds } from '../src/cost/networks.js';
import { bnTraffic, simulateIteration } from '../src/cost/simulate.js';
import { callPicks } from '../src/cost/iteration.js';
import { makeTopology, resolveLink } from '../src/cost/topology.js';

const nvlink = resolveLink('intra', {}, 'nvlink-a100');
const hdr = resolveLink('inter', {}, 'ib-hdr');
const cluster = (N: number, G = 8, K?: number) => makeTopology(N, G, K, nvlink, hdr);

describe('BN traffic per framework', () => {
  const channels = [4, 8, 16];
  it('pytorch: an all-gather of 2C+1 per layer forward, an all-reduce of 2C per layer backward, in reverse', () => {
    const calls = bnCalls(channels, 'pytorch');
    expect(calls.map((c) => [c.pass, c.layer, c.kind, c.values])).toEqual([
      ['forward', 0, 'all-gather', 9],
      ['forward', 1, 'all-gather', 17],
      ['forward', 2, 'all-gather', 33],
      ['backward', 2, 'all-reduce', 32],
      ['backward', 1, 'all-reduce', 16],
      ['backward', 0, 'all-reduce', 8],
    ]);
  });
  it('keras: three all-reduces (C, C, 1) per layer forward, two of C backward', () => {
    const calls = bnCalls(channels, 'keras');
    expect(calls).toHaveLength(5 * 3);
    expect(calls.filter((c) => c.pass === 'forward' && c.layer === 1).map((c) => c.values)).toEqual([8, 8, 1]);
    expect(calls.filter((c) => c.pass === 'backward' && c.layer === 2).map((c) => c.values)).toEqual([16, 16]);
    expect(calls.every((c) => c.kind === 'all-reduce')).toBe(true);
  });
  it('fused: one all-reduce of every layer 2C+1 each way', () => {
    expect(bnCalls(channels, 'fused').map((c) => c.values)).toEqual([9 + 17 + 33, 9 + 17 + 33]);
  });
});

describe('iteration', () => {
  const base = { network: MODELS.resnet50, computeSeconds: 32 / 2470, pattern: 'pytorch' as const };

  it('local communicates nothing, group:W is sync, and a node group costs less than sync across nodes', () => {
    const r = iterationCost({ ...base, topology: cluster(4), modes: ['sync', 'group:32', 'group:8', 'local'] });
    const by = Object.fromEntries(r.rows.map((row) => [row.bn, row]));
    expect(by.local.seconds).toBe(0);
    expect(by.local.calls).toBe(0);
    expect(by['group:32'].seconds).toBe(by.sync.seconds);
    expect(by['group:8'].seconds).toBeLessThan(by.sync.seconds);
    expect(by.sync.calls).toBe(2 * 53);
    for (const row of r.rows) {
      expect(row.iterationSeconds).toBeCloseTo(r.computeSeconds + row.seconds + row.gradExposedSeconds, 15);
      expect(row.shareOfIteration).toBeCloseTo(row.seconds / row.iterationSeconds, 15);
      expect(row.gradExposedSeconds).toBeLessThanOrEqual(r.gradAllreduceSeconds);
    }
  });

  it('sync BN costs more as the cluster grows; a group of one node does not', () => {
    const at = (N: number) => iterationCost({ ...base, topology: cluster(N), modes: ['sync', 'group:8'] }).rows;
    const small = at(2);
    const large = at(64);
    expect(large[0].seconds).toBeGreaterThan(small[0].seconds);
    expect(large[1].seconds).toBe(small[1].seconds);
  });

  it("DDP's buckets: 25 MiB each, the last smaller; overlapped with a long backward, exposed with a short one", () => {
    const cache = new PickCache(cluster(4), 0);
    const long = gradientAllReduce(MODELS.resnet50, 32, 10, cache);
    const short = gradientAllReduce(MODELS.resnet50, 32, 0, cache);
    expect(long.buckets).toBe(Math.ceil((MODELS.resnet50.params * 4) / DDP_BUCKET_BYTES));
    expect(short.exposed).toBeCloseTo(short.total, 15);
    // With a backward far longer than the communication, only the last bucket is exposed.
    expect(long.exposed).toBeLessThan(long.total / 2);
    expect(gradientAllReduce(MODELS.resnet50, 1, 1, cache)).toEqual({ exposed: 0, total: 0, buckets: 0 });
  });

  it('compute: per-GPU batch over the preset throughput, or --step-ms', () => {
    expect(computeSeconds(MODELS.resnet50, 256, 'a100', undefined).seconds).toBeCloseTo(256 / 2470, 15);
    expect(computeSeconds(MODELS.resnet50, 64, 'v100', undefined).seconds).toBeCloseTo(64 / 1200, 15);
    expect(computeSeconds(MODELS['lenet-bn'], 64, undefined, 2).seconds).toBe(0.002);
    expect(() => computeSeconds(MODELS['lenet-bn'], 64, 'a100', undefined)).toThrow(/resnet50 only/);
    expect(() => computeSeconds(MODELS.resnet50, 64, 'h100', undefined)).toThrow(/--step-ms/);
    expect(() => computeSeconds(MODELS.resnet50, 64, 'a100', 3)).toThrow(/exclude each other/);
    expect(MODELS['lenet-bn'].params).toBe(44_878);
  });

  it('refuses modes it does not know and groups that do not divide W', () => {
    expect(parseCostMode('group:4', 16).groupSize).toBe(4);
    expect(() => parseCostMode('ghost:2', 16)).toThrow(/unknown mode 'ghost:2'/);
    expect(() => parseCostMode('group:3', 16)).toThrow(/divide/);
    expect(() => parseCostMode('group:0', 16)).toThrow(/divide/);
  });
});

describe('executed iteration', () => {
  const input = { channels: [16, 32, 64, 32], computeSeconds: 2e-3 };

  it('without jitter, executed and analytic agree within 1% for every pattern and mode', () => {
    for (const pattern of ['pytorch', 'keras', 'fused'] as const) {
      for (const mode of ['sync', 'group:8', 'local']) {
        const s = simulateIteration({ ...input, topology: cluster(4), pattern, mode });
        expect(Math.abs(s.seconds / s.analyticSeconds - 1)).toBeLessThan(0.01);
        expect(s.waitSeconds).toBeLessThan(1e-3 * s.seconds);
        if (mode === 'local') expect(s.messages).toBe(0);
      }
    }
  });

  it('with jitter, sync BN waits at every layer for the slowest device; local waits once', () => {
    const run = (mode: string) =>
      simulateIteration({ ...input, topology: cluster(4), pattern: 'pytorch', mode, jitterSeconds: 50e-6, seed: 3 });
    const sync = run('sync');
    const group = run('group:8');
    const local = run('local');
    // 8 segments of up to 50 us. Sync pays, at each, the maximum of 32 draws less their mean
    // (about 23 us: 190 us in all); local pays once the maximum of 32 sums of 8 draws less
    // their mean (about 2.1 standard deviations of a sum, 50 us x sqrt(8/12): 85 us).
    expect(sync.waitSeconds).toBeGreaterThan(2 * local.waitSeconds);
    expect(sync.waitSeconds).toBeLessThan(8 * 50e-6);
    expect(group.waitSeconds).toBeGreaterThan(local.waitSeconds);
    expect(sync.waitSeconds).toBeGreaterThan(group.waitSeconds);
    // Same seed, same draws.
    expect(run('sync')).toEqual(sync);
  });

  it('a straggler delays sync BN by about its whole delay at every call, local BN once at the end', () => {
    const straggler = { rank: 5, seconds: 1e-3 };
    const sync = simulateIteration({ ...input, topology: cluster(2), pattern: 'keras', mode: 'sync', straggler });
    const clean = simulateIteration({ ...input, topology: cluster(2), pattern: 'keras', mode: 'sync' });
    // Every call waits for it; a little of its delay hides where peers would have waited anyway.
    expect(sync.seconds - clean.seconds).toBeGreaterThan(0.95e-3);
    expect(sync.seconds - clean.seconds).toBeLessThanOrEqual(1e-3 + 1e-12);
    // The mean device computes 1/16 ms more; the others wait for the rest.
    expect(sync.waitSeconds).toBeGreaterThan(0.9e-3);
    expect(sync.waitSeconds).toBeLessThanOrEqual(1e-3 - 1e-3 / 16 + 1e-12);
    const local = simulateIteration({ ...input, topology: cluster(2), pattern: 'keras', mode: 'local', straggler });
    expect(local.seconds - input.computeSeconds).toBeCloseTo(1e-3, 12);
  });

  // (Every algorithm's own count against the timeline: test/cost-timeline.test.ts.)
  it("the model's message counts are what the executed pytorch and keras patterns send", () => {
    const topology = cluster(3, 4);
    const machine = { nodeSize: 4, nics: 4, gamma: 0 };
    for (const pattern of ['pytorch', 'keras'] as const) {
      for (const mode of ['sync', 'group:4']) {
        const s = simulateIteration({ ...input, topology, pattern, mode });
        const calls = bnCalls(input.channels, pattern);
        const K = parseCostMode(mode, 12).groupSize;
        const picks = callPicks(calls, parseCostMode(mode, 12), new PickCache(topology, 0));
        expect(s.messages).toBe(bnTraffic(machine, calls, picks, 12, K).messages);
      }
    }
  });

  it('refuses runs too large to execute, and bad stragglers', () => {
    expect(() =>
      simulateIteration({
        topology: cluster(64),
        channels: MODELS.resnet50.channels,
        computeSeconds: 0.01,
        pattern: 'pytorch',
        mode: 'sync',
      }),
    ).toThrow(/MiB of vectors/);
    expect(() =>
      simulateIteration({
        ...input,
        topology: cluster(2),
        pattern: 'pytorch',
        mode: 'sync',
        straggler: { rank: 16, seconds: 1 },
      }),
    ).toThrow(/rank 16 is not among the 16 devices/);
    expect(() =>
      simulateIteration({ ...input, topology: cluster(2), pattern: 'pytorch', mode: 'sync', jitterSeconds: -1 }),
    ).toThrow(/jitterSeconds/);
  });
});
