/**
 * The collective table (src/cost/collective-table.ts) and the figures it rests on: NCCL's tuning
 * constants as read, link presets from their sources, nccl-tests' bus bandwidth, hand-computed
 * times for tiny cases, and bad input.
 */
import { describe, expect, it } from 'vitest';
import { ALGORITHM_NAMES } from '../src/collectives/algorithms/index.js';
import { busFactor, collectiveTable } from '../src/cost/collective-table.js';
import { INTER_LINK_NAMES, INTRA_LINK_NAMES, LINK_PRESETS, linkPreset } from '../src/cost/links.js';
import { PROTOCOLS, bandwidthShare, baseLatency, hopLatency } from '../src/cost/nccl-tuning.js';
import { callCosts, flatTopology, makeTopology, resolveLink } from '../src/cost/topology.js';

const nvlink = resolveLink('intra', {}, 'nvlink-a100');
const hdr = resolveLink('inter', {}, 'ib-hdr');

describe('NCCL tuning constants and link presets, as their sources give them', () => {
  it('latencies and bandwidth shares of tuning.cc', () => {
    expect(baseLatency('ring', 'LL')).toBeCloseTo(6.6e-6, 12);
    expect(baseLatency('tree', 'Simple')).toBeCloseTo(8.4e-6, 12);
    expect(hopLatency('nvlink', 'ring', 'LL')).toBeCloseTo(0.6e-6, 12);
    expect(hopLatency('net', 'ring', 'Simple')).toBeCloseTo(14e-6, 12);
    // One GPU per node: a ring's network hops take the tree's latency.
    expect(hopLatency('net', 'ring', 'LL', true)).toBeCloseTo(hopLatency('net', 'tree', 'LL'), 12);
    expect(bandwidthShare('ring', 'LL', false)).toBe(0.5);
    expect(bandwidthShare('ring', 'LL128', false)).toBe(0.92);
    expect(bandwidthShare('tree', 'LL128', true)).toBeCloseTo((0.92 * 120) / 128, 12);
    expect(bandwidthShare('tree', 'LL128', false)).toBeCloseTo((0.92 * 7) / 9, 12);
  });

  it('presets: NCCL effective rates per NVLink (20, 20.6 GB/s), PCIe lanes x rate / 80, port speed / 8', () => {
    expect(LINK_PRESETS['nvlink-a100'].bandwidth).toBe(12 * 20e9);
    expect(LINK_PRESETS['nvlink-h100'].bandwidth).toBeCloseTo(18 * 20.6e9, 0);
    expect(LINK_PRESETS['nvlink-v100'].bandwidth).toBe(6 * 20e9);
    expect(LINK_PRESETS.pcie4.bandwidth).toBe(2 * LINK_PRESETS.pcie3.bandwidth);
    expect(LINK_PRESETS['ib-ndr'].bandwidth).toBe(400e9 / 8);
    expect(LINK_PRESETS['ethernet-25g'].bandwidth).toBe(25e9 / 8);
    for (const name of [...INTRA_LINK_NAMES, ...INTER_LINK_NAMES]) {
      const p = LINK_PRESETS[name];
      expect(p.bandwidth).toBeLessThanOrEqual(p.lineRate);
      expect(p.source.length).toBeGreaterThan(20);
    }
    // The earlier flat names still resolve.
    expect(linkPreset('infiniband').name).toBe('ib-hdr');
    expect(() => linkPreset('token-ring')).toThrow(/unknown link 'token-ring'/);
  });
});

describe('collective table', () => {
  it('busbw = algbw x 2(n-1)/n for all-reduce and (n-1)/n for all-gather, on every row', () => {
    for (const [N, G] of [
      [1, 2],
      [1, 8],
      [3, 4],
    ]) {
      const t = makeTopology(N, G, undefined, nvlink, hdr);
      const n = N * G;
      const ar = collectiveTable(t, 'all-reduce', 1 << 20);
      expect(ar.rows).toHaveLength(ALGORITHM_NAMES.length * PROTOCOLS.length);
      for (const r of ar.rows) {
        expect(r.algbw).toBeCloseTo(ar.bytes / r.seconds, 0);
        expect(r.busbw / r.algbw).toBeCloseTo((2 * (n - 1)) / n, 12);
      }
      const ag = collectiveTable(t, 'all-gather', 1 << 20);
      for (const r of ag.rows) expect(r.busbw / r.algbw).toBeCloseTo((n - 1) / n, 12);
      expect(busFactor('all-gather', n)).toBeCloseTo((n - 1) / n, 12);
    }
  });

  it('auto is the fastest row', () => {
    const t = collectiveTable(makeTopology(4, 8, undefined, nvlink, hdr), 'all-reduce', 16388);
    expect(t.best.seconds).toBe(Math.min(...t.rows.map((r) => r.seconds)));
    expect(
      t.rows.some(
        (r) => r.algorithm === t.best.algorithm && r.protocol === t.best.protocol && r.seconds === t.best.seconds,
      ),
    ).toBe(true);
  });

  it('2 GPUs over NVLink, 32 bytes, ring LL: launch + 2 hops of 16 bytes at half the link, by hand', () => {
    const t = collectiveTable(makeTopology(1, 2, undefined, nvlink, hdr), 'all-reduce', 32);
    const ring = t.rows.find((r) => r.algorithm === 'ring' && r.protocol === 'LL');
    const hop = 0.6e-6 + 16 / (240e9 * 0.5);
    expect(ring?.seconds).toBeCloseTo(6.6e-6 + 2 * hop, 15);
  });

  it('8 GPUs, 1 GiB, ring Simple: 2(n-1)/n of the bytes at the full link, so busbw is the link rate', () => {
    const t = collectiveTable(makeTopology(1, 8, undefined, nvlink, hdr), 'all-reduce', 2 ** 30);
    const ring = t.rows.find((r) => r.algorithm === 'ring' && r.protocol === 'Simple');
    // 2(n-1) = 14 hops of 1/8 of the vector each, after the launch.
    expect(ring?.seconds).toBeCloseTo(8.4e-6 + 14 * (3.4e-6 + 2 ** 27 / 240e9), 12);
    // Latency is under 1% at this size.
    expect(ring?.busbw).toBeGreaterThan(0.99 * 240e9);
    expect(ring?.busbw).toBeLessThanOrEqual(240e9);
  });

  it('all-gather rounds the size down to whole float32 blocks per rank, as nccl-tests does', () => {
    const t = collectiveTable(makeTopology(1, 8, undefined, nvlink, hdr), 'all-gather', 1000);
    expect(t.bytes).toBe(32 * 31);
  });

  it('a flat network is a node of G GPUs (NVLink, PCIe) or G nodes of one GPU (a network link)', () => {
    expect(flatTopology(8, nvlink)).toMatchObject({ nodes: 1, gpusPerNode: 8 });
    expect(flatTopology(8, hdr)).toMatchObject({ nodes: 8, gpusPerNode: 1, nicsPerNode: 1 });
  });

  it('user alpha and beta replace the preset latency and bandwidth', () => {
    const custom = resolveLink('intra', { preset: 'pcie4', alpha: 1e-6, beta: 1e-10 }, 'nvlink-a100');
    expect(custom.name).toBe('custom');
    const c = callCosts(makeTopology(1, 2, undefined, custom, hdr), 'ring', 'Simple');
    expect(c.intra.latency).toBe(1e-6);
    expect(c.intra.secondsPerByte).toBeCloseTo(1e-10, 20);
  });

  it('refuses one rank, a size under one value, and unusable counts', () => {
    expect(() => collectiveTable(makeTopology(1, 1, undefined, nvlink, hdr), 'all-reduce', 64)).toThrow(
      /at least 2 ranks/,
    );
    expect(() => collectiveTable(makeTopology(1, 2, undefined, nvlink, hdr), 'all-reduce', 3)).toThrow(
      /less than one float32 value/,
    );
    expect(() => collectiveTable(makeTopology(1, 4, undefined, nvlink, hdr), 'all-gather', 15)).toThrow(/per rank/);
    expect(() => makeTopology(0, 8, undefined, nvlink, hdr)).toThrow(/nodes/);
    expect(() => makeTopology(2, 8, 0, nvlink, hdr)).toThrow(/nicsPerNode/);
    expect(() => resolveLink('inter', { beta: 0 }, 'ib-hdr')).toThrow(/interBeta/);
    expect(() => resolveLink('inter', { alpha: -1 }, 'ib-hdr')).toThrow(/interAlpha/);
  });
});
