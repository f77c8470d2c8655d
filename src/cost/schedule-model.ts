/**
 * The predicted time of each collective algorithm on a topology: the critical path of the
 * algorithm's schedule, hop by hop, with the costs of timeline.ts (a copy holds its sender's link
 * for bytes x seconds-per-byte and arrives `latency` later; a receive waits for the arrival; a
 * reduction costs bytes x gamma; each call starts with NCCL's launch latency). No data moves and no
 * event queue runs: each algorithm is a formula, or a recurrence over ranks of the max-plus kind
 * (a rank's time = max(its own, a peer's + hop) + reduction), evaluated once.
 *
 * Exact, for devices that start together with one network card per GPU (the timeline agrees to
 * rounding; test/cost-timeline.test.ts holds them to 1%):
 *   ring                a chain of 2(P-1) hops: the sum of the hops round the ring twice, less the
 *                       cheapest adjacent pair, each carrying the largest chunk, plus P-1 chunk
 *                       reductions; while the links keep up with the chain (small messages)
 *   tree                binomial reduce then broadcast: recurrences over ranks, the broadcast
 *                       copies of a parent leaving one after another on each of its links
 *   recursive-doubling  round by round over ranks, fold and unfold included
 *   hierarchical        the tree's reduce inside nodes, recursive doubling among leaders, the
 *                       tree's broadcast inside nodes, composed
 *   central             gather, merges in rank order, copies one after another
 * Approximate:
 *   ring, bandwidth-bound: max(chain, the most loaded link or card's bytes x seconds-per-byte +
 *                       latency); exact at both ends, low in between
 *   double-binary-tree  each tree's recurrence alone (the two trees share links in the timeline)
 *   allgather           the last copy of the longest fan-out, then every merge
 *   shared cards        (K < G) a hop's transfer time is multiplied by how many of the node's GPUs
 *                       cross the network at once over K (ceil): an upper bound per hop; the
 *                       timeline shows where queueing smooths itself out
 * The all-gathers (ring on channels, direct) follow the same rules.
 */
import { checkWhole } from '../args.js';
import { type AlgorithmName, algorithmByName } from '../collectives/algorithms/index.js';
import { hierarchicalFor } from '../collectives/algorithms/hierarchical.js';
import { binaryTreeLinks, doubleBinaryTree, treeRank } from '../collectives/algorithms/double-binary-tree.js';
import { ringChannels, ringOrder } from '../collectives/algorithms/ring-channels.js';
import type { AllReduceAlgorithm } from '../collectives/algorithms/types.js';
import {
  type AllGatherAlgorithm,
  type AllGatherName,
  directAllGather,
  ringAllGather,
} from '../collectives/all-gather.js';
import type { Communicator } from '../collectives/communicator.js';
import type { TrafficCount } from '../collectives/endpoint.js';
import type { CallCosts, HopCost } from '../collectives/timeline.js';
import type { Family } from './nccl-tuning.js';

/** The machine a prediction is for. */
export interface ModelMachine {
  /** Consecutive ranks per node. */
  readonly nodeSize: number;
  /** Network cards per node. */
  readonly nics: number;
  /** Seconds per byte reduced. */
  readonly gamma: number;
}

/** A vector to all-reduce: values in records of `width`, `bytesPerValue` each on the wire. */
export interface VectorShape {
  /** Values in the vector. */
  readonly values: number;
  /** Values per record (chunks are cut on record boundaries). */
  readonly width: number;
  /** Bytes of one value on the wire. */
  readonly bytesPerValue: number;
}

/**
 * The family of NCCL constants an algorithm uses: the double binary tree the tree's, all others
 * (point-to-point steps) the ring's.
 * @param algorithm - the algorithm.
 * @returns 'tree' or 'ring'.
 */
export function familyOf(algorithm: AlgorithmName): Family {
  return algorithm === 'double-binary-tree' ? 'tree' : 'ring';
}

/**
 * Rings a call runs side by side: one per GPU of a node when the communicator spans several
 * nodes (so each node's GPUs all cross the network, as NCCL's channels do), else one.
 * @param machine node size
 * @param comm the communicator
 * @returns channel count
 */
export function ringChannelsFor(machine: ModelMachine, comm: Communicator): number {
  const G = machine.nodeSize;
  const spans = Math.floor(comm.first / G) !== Math.floor((comm.first + comm.size - 1) / G);
  return spans ? Math.min(G, comm.size) : 1;
}

/**
 * The generator the timeline executes for an all-reduce algorithm on this machine and communicator.
 * @param algorithm the algorithm's name
 * @param machine node size
 * @param comm the communicator
 * @returns the generator object
 */
export function allReduceGenerator(
  algorithm: AlgorithmName,
  machine: ModelMachine,
  comm: Communicator,
): AllReduceAlgorithm {
  if (algorithm === 'ring') return ringChannels(ringChannelsFor(machine, comm), machine.nodeSize);
  if (algorithm === 'hierarchical') return hierarchicalFor(machine.nodeSize);
  if (algorithm === 'double-binary-tree') return doubleBinaryTree;
  return algorithmByName(algorithm);
}

/**
 * The generator the timeline executes for an all-gather algorithm.
 * @param algorithm ring or direct
 * @param machine node size
 * @param comm the communicator
 * @returns the generator object
 */
export function allGatherGenerator(
  algorithm: AllGatherName,
  machine: ModelMachine,
  comm: Communicator,
): AllGatherAlgorithm {
  return algorithm === 'ring' ? ringAllGather(ringChannelsFor(machine, comm), machine.nodeSize) : directAllGather;
}

// ---- helpers --------------------------------------------------------------------------------

class Hops {
  constructor(
    readonly machine: ModelMachine,
    readonly costs: CallCosts,
    readonly first: number,
    readonly size: number,
  ) {}
  /** Whether communicator ranks a and b sit in different nodes. */
  crosses(a: number, b: number): boolean {
    const G = this.machine.nodeSize;
    return Math.floor((this.first + a) / G) !== Math.floor((this.first + b) / G);
  }
  cost(a: number, b: number): HopCost {
    return this.crosses(a, b) ? this.costs.inter : this.costs.intra;
  }
  /** Transfer plus latency of `bytes` from a to b, `sharing` GPUs of a node crossing at once. */
  time(a: number, b: number, bytes: number, sharing = 1): number {
    const c = this.cost(a, b);
    const factor = this.crosses(a, b) ? Math.max(1, Math.ceil(sharing / this.machine.nics)) : 1;
    return c.latency + bytes * c.secondsPerByte * factor;
  }
  /** How many of the communicator's ranks share a node with rank r. */
  membersInNode(r: number): number {
    const G = this.machine.nodeSize;
    const node = Math.floor((this.first + r) / G);
    return Math.min((node + 1) * G, this.first + this.size) - Math.max(node * G, this.first);
  }
}

function checkComm(comm: Communicator): void {
  checkWhole('communicator.first', comm.first, 0);
  checkWhole('communicator.size', comm.size, 1);
}

/** Largest chunk, in records, of `records` records cut into `parts`. */
const maxPart = (records: number, parts: number) => Math.ceil(records / parts);

// ---- all-reduce ----------------------------------------------------------------------------

/**
 * Predicted seconds of one all-reduce (formulas in the module comment).
 * @param algorithm the algorithm
 * @param machine node size, cards, reduction cost
 * @param costs launch and hop costs of the protocol
 * @param comm the communicator (consecutive global ranks)
 * @param vector values, record width and bytes per value
 * @returns seconds
 */
export function predictAllReduce(
  algorithm: AlgorithmName,
  machine: ModelMachine,
  costs: CallCosts,
  comm: Communicator,
  vector: VectorShape,
): number {
  checkComm(comm);
  const P = comm.size;
  if (P === 1) return 0;
  const hops = new Hops(machine, costs, comm.first, P);
  const records = vector.values / vector.width;
  const recordBytes = vector.width * vector.bytesPerValue;
  const n = vector.values * vector.bytesPerValue;
  const g = machine.gamma;
  let t: number;
  switch (algorithm) {
    case 'ring':
      t = ringTime(hops, machine, comm, records, recordBytes);
      break;
    case 'tree': {
      const ranks = Array.from({ length: P }, (_, i) => i);
      const up = binomialUp(hops, ranks, n, g, new Float64Array(P));
      t = Math.max(...binomialDown(hops, ranks, n, up, up[0]));
      break;
    }
    case 'recursive-doubling':
      t = recursiveDoublingTime(
        hops,
        Array.from({ length: P }, (_, i) => i),
        n,
        g,
        new Float64Array(P),
        true,
      ).reduce((a, b) => Math.max(a, b), 0);
      break;
    case 'hierarchical':
      t = hierarchicalTime(hops, machine.nodeSize, P, n, g);
      break;
    case 'double-binary-tree': {
      const half = maxPart(records, 2) * recordBytes;
      t = Math.max(binaryTreeTime(hops, P, 0, half, g), binaryTreeTime(hops, P, 1, half, g));
      break;
    }
    case 'allgather':
      t = allgatherAllReduceTime(hops, P, n, g);
      break;
    case 'central':
      t = centralTime(hops, P, n, g);
      break;
  }
  return costs.base + t;
}

function ringTime(hops: Hops, machine: ModelMachine, comm: Communicator, records: number, recordBytes: number): number {
  const P = comm.size;
  const c = ringChannelsFor(machine, comm);
  const chunk = maxPart(maxPart(records, c), P) * recordBytes;
  const order = ringOrder(P, machine.nodeSize, 0);
  // Chain: twice round the ring less the cheapest adjacent pair of hops, plus P-1 reductions.
  const h = order.map((r, i) => hops.time(r, order[(i + 1) % P], chunk, c));
  const total = h.reduce((a, b) => a + b, 0);
  let cheapestPair = Infinity;
  for (let i = 0; i < P; i++) cheapestPair = Math.min(cheapestPair, h[i] + h[(i + 1) % P]);
  const chain = 2 * total - cheapestPair + (P - 1) * chunk * machine.gamma;
  // Links: the busiest port (a GPU's link inside the node, its network port) or a node's cards.
  let ports = 0;
  const steps = 2 * (P - 1);
  const inter = interSends(hops, P, machine.nodeSize, c);
  for (let r = 0; r < P; r++) {
    const intra = c - inter[r];
    if (intra > 0)
      ports = Math.max(ports, steps * intra * chunk * hops.costs.intra.secondsPerByte + hops.costs.intra.latency);
    if (inter[r] > 0) {
      const sharing = Math.max(1, Math.ceil(hops.membersInNode(r) / machine.nics));
      ports = Math.max(
        ports,
        steps * inter[r] * chunk * hops.costs.inter.secondsPerByte * (c > 1 ? sharing : 1) + hops.costs.inter.latency,
      );
    }
  }
  return Math.max(chain, ports);
}

/** For each rank, in how many of the c rings its successor sits in another node. */
function interSends(hops: Hops, P: number, nodeSize: number, c: number): Int32Array {
  const counts = new Int32Array(P);
  for (let j = 0; j < c; j++) {
    const o = ringOrder(P, nodeSize, j);
    for (let p = 0; p < P; p++) if (hops.crosses(o[p], o[(p + 1) % P])) counts[o[p]]++;
  }
  return counts;
}

/**
 * Binomial reduce over `ranks` (communicator ranks, rank order = position order): the time each
 * position posts its partial up (the root: when it holds the total).
 */
function binomialUp(hops: Hops, ranks: readonly number[], n: number, g: number, start: Float64Array): Float64Array {
  const m = ranks.length;
  const up = new Float64Array(m);
  for (let i = m - 1; i >= 0; i--) {
    let t = start[i];
    const span = i === 0 ? firstPowerAtLeast(m) : i & -i;
    for (let mask = 1; mask < span && i + mask < m; mask <<= 1) {
      t = Math.max(t, up[i + mask] + hops.time(ranks[i + mask], ranks[i], n)) + n * g;
    }
    up[i] = t;
  }
  return up;
}

/** Binomial broadcast from position 0 holding the result at `rootTime`: when each position has it. */
function binomialDown(
  hops: Hops,
  ranks: readonly number[],
  n: number,
  up: Float64Array,
  rootTime: number,
): Float64Array {
  const m = ranks.length;
  const down = new Float64Array(m);
  down[0] = rootTime;
  for (let i = 0; i < m; i++) {
    const span = i === 0 ? firstPowerAtLeast(m) : i & -i;
    const free = [down[i], down[i]]; // the position's link inside the node, its network port
    for (let mask = 1; mask < span && i + mask < m; mask <<= 1) {
      const child = i + mask;
      const c = hops.cost(ranks[i], ranks[child]);
      const k = hops.crosses(ranks[i], ranks[child]) ? 1 : 0;
      const from = Math.max(down[i], free[k]);
      free[k] = from + n * c.secondsPerByte;
      down[child] = Math.max(up[child], free[k] + c.latency);
    }
  }
  return down;
}

function firstPowerAtLeast(m: number): number {
  let p = 1;
  while (p < m) p <<= 1;
  return p;
}

/**
 * Recursive doubling among `ranks` starting at `start`; when each ends. `everyRankCrosses`: all
 * ranks of a node cross the network in the same round (flat), or only one per node (leaders).
 * Each rank's links are followed: a post waits for the rank's previous copy on the same link.
 */
function recursiveDoublingTime(
  hops: Hops,
  ranks: readonly number[],
  n: number,
  g: number,
  start: Float64Array,
  everyRankCrosses: boolean,
): Float64Array {
  const m = ranks.length;
  const end = Float64Array.from(start);
  if (m === 1) return end;
  let p = 1;
  while (p * 2 <= m) p *= 2;
  const sharing = (i: number) => (everyRankCrosses ? hops.membersInNode(ranks[i]) : 1);
  // free[2 i + k]: when rank i's link inside the node (k = 0) or network port (k = 1) frees.
  const free = new Float64Array(2 * m);
  /** Arrival of a copy rank `from` posts to rank `to` at time `at`. */
  const send = (from: number, to: number, at: number): number => {
    const k = hops.crosses(ranks[from], ranks[to]) ? 1 : 0;
    const c = k === 1 ? hops.costs.inter : hops.costs.intra;
    const factor = k === 1 ? Math.max(1, Math.ceil(sharing(from) / hops.machine.nics)) : 1;
    const until = Math.max(at, free[2 * from + k]) + n * c.secondsPerByte * factor;
    free[2 * from + k] = until;
    return until + c.latency;
  };
  const t = Float64Array.from(start.subarray(0, p));
  for (let i = 0; i + p < m; i++) t[i] = Math.max(t[i], send(i + p, i, start[i + p])) + n * g;
  const arrival = new Float64Array(p);
  for (let mask = 1; mask < p; mask <<= 1) {
    for (let i = 0; i < p; i++) arrival[i ^ mask] = send(i, i ^ mask, t[i]);
    for (let i = 0; i < p; i++) t[i] = Math.max(t[i], arrival[i]) + n * g;
  }
  for (let i = 0; i < p; i++) end[i] = t[i];
  for (let i = 0; i + p < m; i++) end[i + p] = send(i, i + p, t[i]);
  return end;
}

function hierarchicalTime(hops: Hops, G: number, P: number, n: number, g: number): number {
  const nodes = Math.ceil(P / G);
  const blocks = Array.from({ length: nodes }, (_, b) =>
    Array.from({ length: Math.min(G, P - b * G) }, (_, k) => b * G + k),
  );
  const ups = blocks.map((ranks) => binomialUp(hops, ranks, n, g, new Float64Array(ranks.length)));
  const leaders = blocks.map((ranks) => ranks[0]);
  const between = recursiveDoublingTime(hops, leaders, n, g, Float64Array.from(ups.map((u) => u[0])), false);
  let end = 0;
  blocks.forEach((ranks, b) => {
    for (const v of binomialDown(hops, ranks, n, ups[b], between[b])) end = Math.max(end, v);
  });
  return end;
}

/** One tree of the double binary tree, alone: when the last rank has its half. */
function binaryTreeTime(hops: Hops, P: number, tree: number, half: number, g: number): number {
  const up = new Float64Array(P);
  const down = new Float64Array(P);
  const rankOf = (label: number) => treeRank(tree, P, label);
  const visitUp = (label: number): number => {
    let t = 0;
    for (const child of binaryTreeLinks(P, label).children) {
      t = Math.max(t, visitUp(child) + hops.time(rankOf(child), rankOf(label), half)) + half * g;
    }
    up[label] = t;
    return t;
  };
  visitUp(0);
  let end = 0;
  const visitDown = (label: number, at: number) => {
    down[label] = at;
    end = Math.max(end, at);
    const free = [at, at];
    for (const child of binaryTreeLinks(P, label).children) {
      const c = hops.cost(rankOf(label), rankOf(child));
      const k = hops.crosses(rankOf(label), rankOf(child)) ? 1 : 0;
      const from = Math.max(at, free[k]);
      free[k] = from + half * c.secondsPerByte;
      visitDown(child, Math.max(up[child], free[k] + c.latency));
    }
  };
  visitDown(0, up[0]);
  return end;
}

/** The last copy of a fan-out of `bytes` from one rank to every other, on each link. */
function fanOut(hops: Hops, P: number, bytes: number, at: number, from: number, sharing: number): number {
  const local = hops.membersInNode(from) - 1;
  const remote = P - 1 - local;
  const c = hops.costs;
  const intra = local > 0 ? at + local * bytes * c.intra.secondsPerByte + c.intra.latency : at;
  const factor = Math.max(1, Math.ceil(sharing / hops.machine.nics));
  const inter = remote > 0 ? at + remote * bytes * c.inter.secondsPerByte * factor + c.inter.latency : at;
  return Math.max(intra, inter);
}

function allgatherAllReduceTime(hops: Hops, P: number, n: number, g: number): number {
  let last = 0;
  for (let r = 0; r < P; r += Math.max(1, hops.machine.nodeSize))
    last = Math.max(last, fanOut(hops, P, n, 0, r, hops.membersInNode(r)));
  return last + (P - 1) * n * g;
}

function centralTime(hops: Hops, P: number, n: number, g: number): number {
  // Gather: ranks of rank 0's node, then the others, merged in rank order as they arrive.
  let t = 0;
  for (let r = 1; r < P; r++) t = Math.max(t, hops.time(r, 0, n, hops.membersInNode(r))) + n * g;
  return fanOut(hops, P, n, t, 0, 1);
}

// ---- all-gather ------------------------------------------------------------------------------

/**
 * Predicted seconds of one all-gather of blocks of `blockValues` values per rank.
 * @param algorithm ring or direct
 * @param machine node size, cards
 * @param costs launch and hop costs
 * @param comm the communicator
 * @param blockValues values each rank contributes
 * @param bytesPerValue bytes per value on the wire
 * @returns seconds
 */
export function predictAllGather(
  algorithm: AllGatherName,
  machine: ModelMachine,
  costs: CallCosts,
  comm: Communicator,
  blockValues: number,
  bytesPerValue: number,
): number {
  checkComm(comm);
  const P = comm.size;
  if (P === 1) return 0;
  const hops = new Hops(machine, costs, comm.first, P);
  if (algorithm === 'direct') {
    let last = 0;
    for (let r = 0; r < P; r++)
      last = Math.max(last, fanOut(hops, P, blockValues * bytesPerValue, 0, r, hops.membersInNode(r)));
    return costs.base + last;
  }
  const c = ringChannelsFor(machine, comm);
  const part = maxPart(blockValues, c) * bytesPerValue;
  const order = ringOrder(P, machine.nodeSize, 0);
  const h = order.map((r, i) => hops.time(r, order[(i + 1) % P], part, c));
  const chain = h.reduce((a, b) => a + b, 0) - Math.min(...h);
  let ports = 0;
  const crossing = interSends(hops, P, machine.nodeSize, c);
  for (let r = 0; r < P; r++) {
    const inter = crossing[r];
    const intra = c - inter;
    if (intra > 0) ports = Math.max(ports, (P - 1) * intra * part * costs.intra.secondsPerByte + costs.intra.latency);
    if (inter > 0)
      ports = Math.max(
        ports,
        (P - 1) *
          inter *
          part *
          costs.inter.secondsPerByte *
          (c > 1 ? Math.max(1, Math.ceil(hops.membersInNode(r) / machine.nics)) : 1) +
          costs.inter.latency,
      );
  }
  return costs.base + Math.max(chain, ports);
}

// ---- traffic ---------------------------------------------------------------------------------

/**
 * Messages and bytes all ranks send for one all-reduce, exactly as the simulator counts them (a
 * post read by k ranks is k messages):
 *   ring                c x 2P(P-1) messages (c rings), 2(P-1) x values values
 *   tree, central       2(P-1) messages of the whole vector
 *   recursive-doubling  p log2 p + 2(P-p) messages of the whole vector (p: largest power of 2 <= P)
 *   allgather           P(P-1) messages of the whole vector
 *   double-binary-tree  4(P-1) messages (two trees, up and down), 2(P-1) x values values
 *   hierarchical        2(P-N) + recursive doubling among the N = ceil(P/G) leaders, whole vector
 * @param algorithm the algorithm
 * @param P communicator size
 * @param values values in the vector
 * @param bytesPerValue bytes per value
 * @param options ring channels and hierarchical node size (defaults: 1 and 8)
 * @returns messages and bytes
 */
export function allReduceTraffic(
  algorithm: AlgorithmName,
  P: number,
  values: number,
  bytesPerValue: number,
  options: { channels?: number; nodeSize?: number } = {},
): TrafficCount {
  checkWhole('ranks', P, 1);
  checkWhole('values', values, 0);
  if (P === 1) return { messages: 0, bytes: 0 };
  const rd = (m: number) => {
    let p = 1;
    while (p * 2 <= m) p *= 2;
    return p * Math.log2(p) + 2 * (m - p);
  };
  let messages: number;
  let sent: number;
  switch (algorithm) {
    case 'ring':
      messages = (options.channels ?? 1) * 2 * P * (P - 1);
      sent = 2 * (P - 1) * values;
      break;
    case 'tree':
    case 'central':
      messages = 2 * (P - 1);
      sent = messages * values;
      break;
    case 'recursive-doubling':
      messages = rd(P);
      sent = messages * values;
      break;
    case 'allgather':
      messages = P * (P - 1);
      sent = messages * values;
      break;
    case 'double-binary-tree':
      messages = 4 * (P - 1);
      sent = 2 * (P - 1) * values;
      break;
    case 'hierarchical': {
      const N = Math.ceil(P / (options.nodeSize ?? 8));
      messages = 2 * (P - N) + rd(N);
      sent = messages * values;
      break;
    }
  }
  return { messages, bytes: sent * bytesPerValue };
}

/**
 * Messages and bytes all ranks send for one all-gather of blocks of `blockValues` values.
 * @param algorithm ring (c rings: c x P(P-1) messages) or direct (P(P-1) messages)
 * @param P communicator size
 * @param blockValues values per block
 * @param bytesPerValue bytes per value
 * @param channels rings of the ring all-gather (default 1)
 * @returns messages and bytes (every rank sends every block but its successor's: P(P-1) blocks)
 */
export function allGatherTraffic(
  algorithm: AllGatherName,
  P: number,
  blockValues: number,
  bytesPerValue: number,
  channels = 1,
): TrafficCount {
  checkWhole('ranks', P, 1);
  checkWhole('blockValues', blockValues, 0);
  const blocks = P * (P - 1);
  return { messages: algorithm === 'ring' ? channels * blocks : blocks, bytes: blocks * blockValues * bytesPerValue };
}
