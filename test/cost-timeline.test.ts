/**
 * The executed timeline (the simulator's own generators on a virtual clock) against the analytic
 * schedule model, collective by collective: with every device starting together and one network
 * card per GPU, ring, tree, recursive doubling and the hierarchical all-reduce agree within 1% for
 * BN-sized vectors, up to W = 1024; every rank ends with the exact sums; the model's message and
 * byte counts are those the timeline sends. Shared cards (K < G) slow what crosses the network.
 */
import { describe, expect, it } from 'vitest';
import { type AlgorithmName, ALGORITHM_NAMES } from '../src/collectives/algorithms/index.js';
import { executeAllGather, executeAllReduce, sampleVector } from '../src/cost/execute.js';
import { PROTOCOLS, type Protocol } from '../src/cost/nccl-tuning.js';
import {
  type ModelMachine,
  allGatherTraffic,
  allReduceTraffic,
  familyOf,
  predictAllGather,
  predictAllReduce,
  ringChannelsFor,
} from '../src/cost/schedule-model.js';
import { callCosts, makeTopology, resolveLink } from '../src/cost/topology.js';

const intra = resolveLink('intra', {}, 'nvlink-a100');
const inter = resolveLink('inter', {}, 'ib-hdr');

function setup(N: number, G: number, K = G, gamma = 0) {
  const topology = makeTopology(N, G, K, intra, inter);
  const machine: ModelMachine = { nodeSize: G, nics: K, gamma };
  return { topology, machine, W: N * G };
}

/** Every rank's expected sum of sampleVector over ranks, computed here in rank order. */
function expectedSums(W: number, values: number): Float64Array {
  const sum = new Float64Array(values);
  for (let r = 0; r < W; r++) {
    const v = sampleVector(r, values);
    for (let i = 0; i < values; i++) sum[i] += v[i];
  }
  return sum;
}

const EXACT: readonly AlgorithmName[] = ['ring', 'tree', 'recursive-doubling', 'hierarchical'];

describe('executed against predicted, one card per GPU', () => {
  // N x G: one node, nodes of one GPU, uneven and power-of-two node counts, and W = 1024 (the ring
  // as 1024 nodes of one GPU: with 8 GPUs a node it runs 8 rings, 16.7 million messages, minutes).
  const shapes: [number, number, readonly AlgorithmName[]][] = [
    [1, 8, EXACT],
    [12, 1, EXACT],
    [3, 5, EXACT],
    [4, 8, EXACT],
    [1024, 1, ['ring']],
    [128, 8, ['tree', 'recursive-doubling', 'hierarchical']],
  ];
  for (const [N, G, algorithms] of shapes) {
    for (const algorithm of algorithms) {
      it(`${algorithm} on ${N} x ${G}, 2C+1 = 129 values, every protocol`, () => {
        const { topology, machine, W } = setup(N, G, G, 3 / 1.555e12);
        // W = 1024: one protocol keeps the file fast; the others run on the smaller shapes.
        const protocols: readonly Protocol[] = W > 256 ? ['LL'] : PROTOCOLS;
        for (const protocol of protocols) {
          const costs = callCosts(topology, familyOf(algorithm), protocol);
          const e = executeAllReduce(algorithm, machine, costs, W, 129, 4);
          const p = predictAllReduce(
            algorithm,
            machine,
            costs,
            { first: 0, size: W },
            { values: 129, width: 1, bytesPerValue: 4 },
          );
          expect(Math.abs(e.seconds / p - 1)).toBeLessThan(0.01);
          expect(e.traffic).toEqual(
            allReduceTraffic(algorithm, W, 129, 4, {
              channels: ringChannelsFor(machine, { first: 0, size: W }),
              nodeSize: G,
            }),
          );
          if (protocol === protocols[0]) {
            const want = expectedSums(W, 129);
            for (const out of [e.outputs[0], e.outputs[W - 1]]) expect(Array.from(out)).toEqual(Array.from(want));
          }
        }
      });
    }
  }

  it('every algorithm, and both all-gathers, send what the model counts', () => {
    const { topology, machine, W } = setup(3, 4);
    const comm = { first: 0, size: W };
    for (const algorithm of ALGORITHM_NAMES) {
      const e = executeAllReduce(algorithm, machine, callCosts(topology, familyOf(algorithm), 'Simple'), W, 37, 4);
      expect(e.traffic).toEqual(
        allReduceTraffic(algorithm, W, 37, 4, { channels: ringChannelsFor(machine, comm), nodeSize: 4 }),
      );
      const want = expectedSums(W, 37);
      for (const out of e.outputs) expect(Array.from(out)).toEqual(Array.from(want));
    }
    for (const algorithm of ['ring', 'direct'] as const) {
      const e = executeAllGather(algorithm, machine, callCosts(topology, 'ring', 'LL'), W, 9, 4);
      expect(e.traffic).toEqual(
        allGatherTraffic(algorithm, W, 9, 4, algorithm === 'ring' ? ringChannelsFor(machine, comm) : 1),
      );
      for (const out of e.outputs)
        for (let r = 0; r < W; r++)
          expect(Array.from(out.subarray(r * 9, (r + 1) * 9))).toEqual(Array.from(sampleVector(r, 9)));
    }
  });

  it('a device that starts late delays everyone by as much (sync collectives wait for the last)', () => {
    const { topology, machine, W } = setup(2, 4);
    const costs = callCosts(topology, 'ring', 'LL');
    const on = executeAllReduce('recursive-doubling', machine, costs, W, 129, 4);
    const starts = new Float64Array(W);
    starts[5] = 1e-3;
    const late = executeAllReduce('recursive-doubling', machine, costs, W, 129, 4, starts);
    expect(late.seconds).toBeGreaterThanOrEqual(on.seconds + 1e-3 - 1e-12);
  });
});

describe('shared network cards', () => {
  it('with one card for 4 GPUs, what crosses the network is slower, in the model and on the timeline', () => {
    // 1 MiB over 25 GbE cards: each ring step's transfer outlasts the hop latency.
    const values = 2 ** 18;
    const slow = resolveLink('inter', {}, 'ethernet-25g');
    const full = { machine: { nodeSize: 4, nics: 4, gamma: 0 }, topology: makeTopology(2, 4, 4, intra, slow) };
    const half = { machine: { nodeSize: 4, nics: 1, gamma: 0 } };
    const costs = callCosts(full.topology, 'ring', 'Simple');
    const comm = { first: 0, size: 8 };
    const vector = { values, width: 1, bytesPerValue: 4 };
    const pFull = predictAllReduce('ring', full.machine, costs, comm, vector);
    const pHalf = predictAllReduce('ring', half.machine, costs, comm, vector);
    const eFull = executeAllReduce('ring', full.machine, costs, 8, values, 4).seconds;
    const eHalf = executeAllReduce('ring', half.machine, costs, 8, values, 4).seconds;
    expect(pHalf).toBeGreaterThan(1.5 * pFull);
    expect(eHalf).toBeGreaterThan(1.5 * eFull);
    // The all-gather of the same size, likewise.
    expect(predictAllGather('ring', half.machine, costs, comm, values / 8, 4)).toBeGreaterThan(
      1.5 * predictAllGather('ring', full.machine, costs, comm, values / 8, 4),
    );
  });
});
