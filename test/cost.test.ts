/**
 * The alpha-beta-gamma cost model: its message and byte counts against what real clusters of
 * worker threads measure, its formulas on hand-sized cases, its crossovers, ResNet-50's BN layers,
 * and the `cost` command (in process: the lead registers it in program.ts).
 */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { StatsMethod } from '../src/bn/batch-moments.js';
import { addCostCommand } from '../src/cli/cost-command.js';
import { FLAT_ALGORITHM_NAMES, type FlatAlgorithmName } from '../src/collectives/cost-model.js';
import {
  type LinkParameters,
  allReduceSeconds,
  costCoefficients,
  crossoverBytes,
  fastestBySize,
  trafficOf,
} from '../src/collectives/cost-model.js';
import { DEFAULT_LINK, LINK_NAMES, LINK_PRESETS } from '../src/collectives/link-presets.js';
import { Cluster } from '../src/cluster/cluster.js';
import { InputError } from '../src/errors.js';
import { type CostReport, DEFAULT_COST_DEVICES, NETWORKS, bnAllReduceValues, costModel } from '../src/experiments/cost.js';
import { VEGA_LITE_SCHEMA } from '../src/report/plot.js';
import type { Tensor } from '../src/tensor/tensor.js';

function batch(rows: number, channels: number, seed: number): Tensor {
  const data = new Float64Array(rows * channels);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 12.9898 + seed * 78.233) * ((i % channels) + 1) + (i % channels);
  return { data, shape: [rows, channels] };
}

/** The model's traffic for a list of all-reduces of `values` each. */
function modelTraffic(algorithm: FlatAlgorithmName, W: number, vectors: readonly number[], bytesPerValue: number) {
  let messages = 0;
  let bytes = 0;
  for (const n of vectors) {
    const t = trafficOf(algorithm, W, n, bytesPerValue);
    messages += t.messages;
    bytes += t.bytes;
  }
  return { messages, bytes };
}

const open: Cluster[] = [];
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
});

describe('the model counts what the simulator sends', () => {
  const C = 5; // sums: 11 values; welford: 5 records of 3; two-pass: 6 then 5 values
  const STATS: StatsMethod[] = ['sums', 'welford', 'two-pass'];

  it.each([1, 2, 3, 5, 8, 13, 16, 64])('W = %i: every algorithm, sums, welford and two-pass, forward and backward', async (W) => {
    // Fewer rows than devices from W = 8 on: empty shards still take part in the all-reduce.
    const rows = Math.max(W - 3, 4);
    for (const stats of STATS) {
      const cluster = Cluster.start({ devices: W, stats, timeoutMs: 20_000 });
      open.push(cluster);
      const vectors = bnAllReduceValues(C, stats);
      for (const algorithm of FLAT_ALGORITHM_NAMES) {
        const f = await cluster.forward(batch(rows, C, W), { mode: 'sync', algorithm });
        const wantF = modelTraffic(algorithm, W, vectors.forward, 8);
        expect(f.comm.messages, `${algorithm} ${stats} forward messages`).toBe(wantF.messages);
        expect(f.comm.bytes, `${algorithm} ${stats} forward bytes`).toBe(wantF.bytes);
        const b = await cluster.backward(batch(rows, C, W + 1));
        const wantB = modelTraffic(algorithm, W, vectors.backward, 8);
        expect(b.comm.messages, `${algorithm} ${stats} backward messages`).toBe(wantB.messages);
        expect(b.comm.bytes, `${algorithm} ${stats} backward bytes`).toBe(wantB.bytes);
      }
      await cluster.close();
    }
  });

  it('float32 accumulators send 4 bytes a value', async () => {
    const W = 5;
    const cluster = Cluster.start({ devices: W, accumulator: 'float32', timeoutMs: 20_000 });
    open.push(cluster);
    for (const algorithm of FLAT_ALGORITHM_NAMES) {
      const f = await cluster.forward(batch(9, C, 3), { algorithm });
      expect(f.comm, algorithm).toMatchObject(trafficOf(algorithm, W, 2 * C + 1, 4));
    }
    await cluster.close();
  });
});

describe('trafficOf', () => {
  it('gives the textbook counts', () => {
    expect(trafficOf('ring', 4, 8, 4)).toEqual({ messages: 24, bytes: 2 * 3 * 8 * 4 });
    expect(trafficOf('tree', 5, 3, 8)).toEqual({ messages: 8, bytes: 8 * 3 * 8 });
    expect(trafficOf('central', 5, 3, 8)).toEqual({ messages: 8, bytes: 8 * 3 * 8 });
    expect(trafficOf('allgather', 5, 3, 8)).toEqual({ messages: 20, bytes: 20 * 3 * 8 });
    // p = 4: 4 * 2 messages in the rounds, plus fold and unfold for rank 4.
    expect(trafficOf('recursive-doubling', 5, 3, 8)).toEqual({ messages: 10, bytes: 10 * 3 * 8 });
    expect(trafficOf('recursive-doubling', 8, 1, 8)).toEqual({ messages: 24, bytes: 24 * 8 });
    for (const a of FLAT_ALGORITHM_NAMES) expect(trafficOf(a, 1, 100, 4)).toEqual({ messages: 0, bytes: 0 });
    // Zero values: the ring still sends its 2(W-1) steps per rank.
    expect(trafficOf('ring', 3, 0, 4)).toEqual({ messages: 12, bytes: 0 });
  });

  it('refuses nonsense', () => {
    expect(() => trafficOf('ring', 0, 3, 4)).toThrow(InputError);
    expect(() => trafficOf('ring', 2.5, 3, 4)).toThrow(InputError);
    expect(() => trafficOf('ring', 4, -1, 4)).toThrow(InputError);
    expect(() => trafficOf('butterfly' as FlatAlgorithmName, 4, 3, 4)).toThrow(/unknown algorithm/);
  });
});

describe('allReduceSeconds', () => {
  const unit: LinkParameters = { alpha: 1, beta: 1, gamma: 1 };
  const noGamma: LinkParameters = { alpha: 1, beta: 1, gamma: 0 };

  it('ring: 2(W-1) alpha + 2((W-1)/W) n beta + ((W-1)/W) n gamma', () => {
    expect(allReduceSeconds('ring', 4, 4, noGamma)).toBe(12); // 6 + 6
    expect(allReduceSeconds('ring', 4, 4, unit)).toBe(15); // + 3
  });

  it('recursive doubling: log2 W rounds, plus fold and unfold when W is not a power of two', () => {
    expect(allReduceSeconds('recursive-doubling', 8, 2, unit)).toBe(15); // 3 (1 + 2 + 2)
    expect(allReduceSeconds('recursive-doubling', 5, 2, unit)).toBe(18); // 2 (1 + 2 + 2) + 2 (1 + 2) + 2
    expect(allReduceSeconds('recursive-doubling', 2, 2, unit)).toBe(5);
  });

  it('tree: 2 ceil(log2 W) (alpha + n beta) + ceil(log2 W) n gamma', () => {
    expect(allReduceSeconds('tree', 5, 2, unit)).toBe(24); // 6 * 3 + 3 * 2
    expect(allReduceSeconds('tree', 8, 2, unit)).toBe(24);
    expect(allReduceSeconds('tree', 2, 2, unit)).toBe(8);
  });

  it('allgather: (W-1)(alpha + n beta) + (W-1) n gamma', () => {
    expect(allReduceSeconds('allgather', 4, 2, unit)).toBe(15);
  });

  it('central: 2(W-1)(alpha + n beta) + (W-1) n gamma', () => {
    expect(allReduceSeconds('central', 4, 2, unit)).toBe(24);
  });

  it('costs nothing on one device and grows linearly in the size', () => {
    for (const a of FLAT_ALGORITHM_NAMES) {
      expect(allReduceSeconds(a, 1, 1e6, unit)).toBe(0);
      const c = costCoefficients(a, 12);
      expect(allReduceSeconds(a, 12, 10, { alpha: 2, beta: 3, gamma: 5 })).toBeCloseTo(2 * c.alpha + 10 * (3 * c.beta + 5 * c.gamma), 12);
    }
  });

  it('refuses negative parameters and sizes', () => {
    expect(() => allReduceSeconds('ring', 4, 4, { alpha: -1, beta: 1, gamma: 1 })).toThrow(/alpha/);
    expect(() => allReduceSeconds('ring', 4, -4, unit)).toThrow(/bytes/);
  });
});

describe('crossoverBytes', () => {
  it('solves the hand-sized case: recursive doubling against ring at W = 8', () => {
    // RD 3 + 3n, ring 14 + 1.75n: equal at n = 11 / 1.25 = 8.8.
    const link = { alpha: 1, beta: 1, gamma: 0 };
    expect(crossoverBytes('recursive-doubling', 'ring', 8, link)).toBeCloseTo(8.8, 12);
    expect(crossoverBytes('ring', 'recursive-doubling', 8, link)).toBeUndefined();
  });

  it('at the crossover both take the same time; above it the claimed winner is faster, below it the other', () => {
    let crossings = 0;
    for (const name of LINK_NAMES) {
      const link = LINK_PRESETS[name];
      for (const W of [2, 3, 4, 8, 13, 64, 1000, 4096]) {
        for (const a of FLAT_ALGORITHM_NAMES) {
          for (const b of FLAT_ALGORITHM_NAMES) {
            if (a === b) continue;
            const x = crossoverBytes(a, b, W, link);
            const t = (alg: FlatAlgorithmName, n: number) => allReduceSeconds(alg, W, n, link);
            if (x === undefined) {
              // b never overtakes a: b is never slower at small sizes and faster at large ones.
              const sizes = [0, 1, 1e3, 1e6, 1e9, 1e12];
              const bWinsLate = sizes.findIndex((n) => t(b, n) < t(a, n) * (1 - 1e-9));
              const aWinsEarly = sizes.findIndex((n) => t(a, n) < t(b, n) * (1 - 1e-9));
              expect(bWinsLate === -1 || aWinsEarly === -1 || aWinsEarly > bWinsLate, `${a} ${b} W=${W} ${name}`).toBe(true);
              continue;
            }
            crossings++;
            expect(x).toBeGreaterThan(0);
            expect(Math.abs(t(a, x) - t(b, x)) / t(a, x), `${a} ${b} W=${W} ${name}`).toBeLessThan(1e-9);
            expect(t(b, x * 1.01)).toBeLessThan(t(a, x * 1.01));
            expect(t(a, x * 0.99)).toBeLessThan(t(b, x * 0.99));
          }
        }
      }
    }
    expect(crossings).toBeGreaterThan(20);
  });

  it('fastestBySize names the fastest algorithm inside every segment', () => {
    const link = LINK_PRESETS.infiniband;
    for (const W of [2, 5, 8, 64, 4096]) {
      const segments = fastestBySize(FLAT_ALGORITHM_NAMES, W, link);
      expect(segments[0].fromBytes).toBe(0);
      expect(segments[segments.length - 1].toBytes).toBeUndefined();
      for (const s of segments) {
        const n = s.toBytes === undefined ? s.fromBytes * 2 + 1 : (s.fromBytes + s.toBytes) / 2;
        const best = Math.min(...FLAT_ALGORITHM_NAMES.map((a) => allReduceSeconds(a, W, n, link)));
        for (const a of s.algorithms) expect(allReduceSeconds(a, W, n, link) / best, `${a} W=${W}`).toBeCloseTo(1, 12);
      }
    }
    // W = 2: recursive doubling and allgather are the same algorithm.
    expect(fastestBySize(FLAT_ALGORITHM_NAMES, 2, link)[0].algorithms).toEqual(['recursive-doubling', 'allgather']);
  });
});

describe('networks and the per-iteration projection', () => {
  it("ResNet-50 has 53 BN layers and 26,560 channels (torchvision's BatchNorm2d layers)", () => {
    const ch = NETWORKS.resnet50.channels;
    expect(ch.length).toBe(53);
    expect(ch.reduce((a, b) => a + b, 0)).toBe(26_560);
    expect(ch[0]).toBe(64);
    expect(ch[ch.length - 1]).toBe(2048);
    const count = (c: number) => ch.filter((x) => x === c).length;
    // 64: the stem + bn1, bn2 of 3 layer1 blocks; 128: bn1, bn2 of 4 layer2 blocks;
    // 256: bn3 of 3 layer1 blocks + its downsample + bn1, bn2 of 6 layer3 blocks;
    // 512: bn3 of 4 layer2 blocks + downsample + bn1, bn2 of 3 layer4 blocks;
    // 1024: bn3 of 6 layer3 blocks + downsample; 2048: bn3 of 3 layer4 blocks + downsample.
    expect([64, 128, 256, 512, 1024, 2048].map(count)).toEqual([7, 8, 16, 11, 7, 4]);
  });

  it('BN layers all-reduce 2C+1 (sums), 3C (welford) or C+1 then C (two-pass) forward, 2C+1 backward', () => {
    expect(bnAllReduceValues(64, 'sums')).toEqual({ forward: [129], backward: [129] });
    expect(bnAllReduceValues(64, 'welford')).toEqual({ forward: [192], backward: [129] });
    expect(bnAllReduceValues(64, 'two-pass')).toEqual({ forward: [65, 64], backward: [129] });
  });

  it('rows hold per-iteration time and traffic for every W and algorithm', () => {
    const r = costModel();
    expect(r.settings.devices).toEqual([...DEFAULT_COST_DEVICES]);
    expect(DEFAULT_COST_DEVICES[0]).toBe(2);
    expect(DEFAULT_COST_DEVICES[DEFAULT_COST_DEVICES.length - 1]).toBe(4096);
    expect(r.rows.length).toBe(12 * 5);
    expect(r.link.name).toBe(DEFAULT_LINK);
    expect(r.network).toMatchObject({ name: 'resnet50', layers: 53, channels_total: 26_560, all_reduces_per_iteration: 106 });
    // sums, float32: (2C + 1) values forward and backward per layer.
    expect(r.network.values_per_iteration).toBe(2 * (2 * 26_560 + 53));
    expect(r.network.fused_message_bytes).toEqual([4 * (2 * 26_560 + 53), 4 * (2 * 26_560 + 53)]);
    const link = LINK_PRESETS[DEFAULT_LINK];
    for (const row of r.rows) {
      const perLayer = NETWORKS.resnet50.channels.flatMap((c) => [2 * c + 1, 2 * c + 1]);
      const seconds = perLayer.reduce((s, n) => s + allReduceSeconds(row.algorithm, row.devices, 4 * n, link), 0);
      expect(row.seconds / seconds).toBeCloseTo(1, 10);
      expect(row.seconds_fused).toBeLessThan(row.seconds);
      expect({ messages: row.messages, bytes: row.bytes }).toEqual(modelTraffic(row.algorithm, row.devices, perLayer, 4));
      expect(row.latency_fraction).toBeGreaterThan(0);
      expect(row.latency_fraction).toBeLessThanOrEqual(1);
    }
    for (const c of r.crossovers) {
      const t = (a: FlatAlgorithmName, n: number) => allReduceSeconds(a, c.devices, n, link);
      expect(t(c.faster_below, c.bytes / 2)).toBeLessThan(t(c.faster_above, c.bytes / 2));
      expect(t(c.faster_above, c.bytes * 2)).toBeLessThan(t(c.faster_below, c.bytes * 2));
      expect(c.values).toBe(c.bytes / 4);
    }
    expect(r.fastest.length).toBe(12);
  });

  it('one device costs nothing; custom channels, links and statistics are honoured', () => {
    const r = costModel({ devices: [1, 3], channels: [4, 8], link: 'nvlink', alpha: 0, stats: 'welford', bytesPerValue: 8, algorithms: ['tree', 'ring'] });
    expect(r.rows.map((x) => [x.devices, x.algorithm])).toEqual([
      [1, 'ring'],
      [1, 'tree'],
      [3, 'ring'],
      [3, 'tree'],
    ]);
    for (const row of r.rows.filter((x) => x.devices === 1)) expect(row).toMatchObject({ seconds: 0, messages: 0, bytes: 0 });
    expect(r.link).toMatchObject({ name: 'nvlink', alpha: 0, overridden: ['alpha'] });
    expect(r.network).toMatchObject({ name: 'custom', layers: 2, values_per_iteration: 12 + 9 + 24 + 17 });
    expect(r.rows[2].bytes).toBe(trafficOf('ring', 3, 62, 8).bytes);
  });

  it.each([
    [{ devices: [] }, /devices: empty list/],
    [{ devices: [0] }, /devices must be/],
    [{ devices: [2, 1.5] }, /devices must be/],
    [{ channels: [] }, /channels: empty list/],
    [{ channels: [0] }, /channels must be/],
    [{ network: 'resnet50' as const, channels: [3] }, /not both/],
    [{ beta: -1 }, /beta must be/],
    [{ gamma: Number.NaN }, /gamma must be/],
    [{ algorithms: [] }, /algorithms: empty list/],
  ])('refuses %j', (options, message) => {
    expect(() => costModel(options)).toThrow(InputError);
    expect(() => costModel(options)).toThrow(message);
  });

  it('every preset documents where its figures come from', () => {
    for (const name of LINK_NAMES) {
      const p = LINK_PRESETS[name];
      expect(p.source).toMatch(/alpha/);
      expect(p.source).toMatch(/beta/);
      expect(p.source).toMatch(/gamma/);
      for (const v of [p.alpha, p.beta, p.gamma]) expect(v).toBeGreaterThan(0);
    }
  });
});

describe('cost command (in process)', () => {
  afterEach(() => vi.restoreAllMocks());

  function program(): Command {
    const p = new Command('syncbn-sim').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    addCostCommand(p);
    p.commands.forEach((c) => c.exitOverride());
    return p;
  }

  async function run(...args: string[]): Promise<string> {
    let out = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      await program().parseAsync(['node', 'syncbn-sim', 'cost', ...args]);
    } finally {
      vi.restoreAllMocks();
    }
    return out;
  }

  it('--devices 8,64,1024 --json prints rows with devices, algorithm and seconds', async () => {
    const report = JSON.parse(await run('--devices', '8,64,1024', '--json')) as CostReport;
    expect(report.rows.length).toBe(15);
    for (const row of report.rows) {
      expect([8, 64, 1024]).toContain(row.devices);
      expect(FLAT_ALGORITHM_NAMES).toContain(row.algorithm);
      expect(row.seconds).toBeGreaterThan(0);
    }
    expect(Array.isArray(report.crossovers)).toBe(true);
    expect(report.crossovers.length).toBeGreaterThan(0);
    expect(report.link.name).toBe(DEFAULT_LINK);
    expect(report.network.name).toBe('resnet50');
  });

  it('prints tables by default, CSV on request, and a plot with its spec beside it', async () => {
    const table = await run('--devices', '4,16', '--link', 'ethernet');
    expect(table).toMatch(/ms\/iteration/);
    expect(table).toMatch(/Fastest algorithm by message size/);
    expect(table).toMatch(/Fastest for resnet50/);
    const csv = await run('--devices', '4', '--channels', '3,5', '--csv');
    expect(csv.split('\n')[0]).toBe('devices,algorithm,seconds,seconds_fused,latency_fraction,messages,bytes,messages_fused,all_reduces,layers,values_per_iteration');
    expect(csv.trim().split('\n').length).toBe(6);
    const dir = mkdtempSync(join(tmpdir(), 'syncbn-cost-'));
    const out = await run('--devices', '2,8,64', '--plot', join(dir, 'cost.svg'));
    expect(out).toMatch(/plot written to/);
    expect(readFileSync(join(dir, 'cost.svg'), 'utf8')).toMatch(/<svg/);
    const spec = JSON.parse(readFileSync(join(dir, 'cost.vl.json'), 'utf8'));
    expect(spec.$schema).toBe(VEGA_LITE_SCHEMA);
    expect(spec.spec.encoding.x.scale.type).toBe('log');
    expect(spec.spec.encoding.y.scale.type).toBe('log');
  });

  it.each([
    [['--devices', ''], /--devices: empty list/],
    [['--devices', '0'], /--devices: 0 is out of range/],
    [['--devices', '8,x'], /--devices: 'x' is not a whole number/],
    [['--devices', '2000000'], /out of range/],
    [['--link', 'carrier-pigeon'], /--link: unknown link 'carrier-pigeon'/],
    [['--alpha', '-1'], /--alpha must be a number >= 0/],
    [['--beta', 'fast'], /--beta must be a number >= 0/],
    [['--channels', ''], /--channels: empty list/],
    [['--channels', '64,0'], /--channels: 0 is out of range/],
    [['--network', 'vgg16'], /--network: unknown value 'vgg16'/],
    [['--network', 'resnet50', '--channels', '8'], /exclude each other/],
    [['--stats', 'median'], /--stats: unknown value/],
    [['--bytes-per-value', '2'], /--bytes-per-value must be 4/],
    [['--algorithms', 'ring,butterfly'], /--algorithms: unknown value 'butterfly'/],
    [['--plot', 'cost.png'], /--plot must name an .svg file/],
  ])('refuses %j with an InputError (exit 2)', async (args, message) => {
    const attempt = run(...args);
    await expect(attempt).rejects.toBeInstanceOf(InputError);
    await expect(attempt).rejects.toThrow(message);
  });

  it('writes no plot when the input is bad', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncbn-cost-'));
    await expect(run('--devices', '', '--plot', join(dir, 'cost.svg'))).rejects.toBeInstanceOf(InputError);
    expect(existsSync(join(dir, 'cost.svg'))).toBe(false);
  });
});
