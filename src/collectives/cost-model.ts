/**
 * An alpha-beta-gamma cost model of the five all-reduce algorithms the simulator runs (pure: no
 * threads, no I/O).
 *
 * Two things per algorithm:
 *
 * 1. `trafficOf`: the exact messages and bytes all ranks send for one all-reduce, counted as the
 *    simulator counts them (src/collectives/transport.ts: a post read by k peers is k messages and
 *    k * length * bytesPerValue bytes). test/cost.test.ts holds these to the counts real clusters
 *    measure.
 *
 * 2. `allReduceSeconds`: the time of one all-reduce of n bytes along the critical path, in the
 *    Hockney-style model of R. Thakur, R. Rabenseifner and W. Gropp, "Optimization of Collective
 *    Communication Operations in MPICH", Int. J. High Performance Computing Applications 19(1),
 *    49-66 (2005):
 *      alpha  latency of one message (seconds),
 *      beta   transfer time per byte (seconds per byte, 1 / bandwidth),
 *      gamma  reduction time per byte (seconds per byte of one operand).
 *    Assumptions, as in the paper: a flat network where every pair of ranks is one link apart,
 *    links are full duplex (a rank can send one message and receive another at the same time),
 *    no contention between pairs, and no overlap of reduction with communication.
 *
 *    With W ranks, n bytes, L = ceil(log2 W) and p the largest power of two <= W:
 *
 *    ring (reduce-scatter then all-gather, both around the ring; Thakur et al. give the ring
 *      all-gather, Patarasuk and Yuan, J. Parallel Distrib. Comput. 69(2), 2009, the ring all-reduce):
 *        2(W-1) alpha + 2((W-1)/W) n beta + ((W-1)/W) n gamma
 *      The textbook assumes chunks of n/W bytes. The simulator cuts the vector on record boundaries,
 *      so when W exceeds the number of records most chunks are empty and the largest is one record:
 *      the alpha term is exact, the beta term is then a slight underestimate. For BN statistics
 *      (hundreds to thousands of values) the alpha term dominates wherever this happens.
 *
 *    recursive-doubling (Thakur et al., section 4.4): log2 p rounds, each exchanging the whole vector
 *      and reducing it:  log2 p (alpha + n beta + n gamma)
 *      When W is not a power of two the simulator first folds ranks p..W-1 into ranks 0..W-p-1
 *      (one message and one reduction) and afterwards sends them the result (one message): that adds
 *        2(alpha + n beta) + n gamma
 *      so the time is ceil(log2 W)(alpha + n beta + n gamma) + (alpha + n beta) for those W: one
 *      message more than the paper's ceil(log2 W)(alpha + n beta + n gamma), which hides the fold.
 *
 *    tree (binomial reduce to rank 0, then binomial broadcast; Thakur et al., sections 4.2 and 4.1):
 *        reduce  L(alpha + n beta + n gamma)  +  broadcast  L(alpha + n beta)
 *        = 2L(alpha + n beta) + L n gamma
 *
 *    allgather (every rank sends its whole vector to every other, then merges all W in rank order;
 *      PyTorch's SyncBatchNorm): modelled as a ring all-gather of W vectors of n bytes, W-1 steps
 *      of one vector each (Thakur et al., section 3.1, with W n bytes gathered), then W-1 merges:
 *        (W-1)(alpha + n beta) + (W-1) n gamma
 *      The simulator lets every peer read a rank's one post (counted as W-1 messages); a direct
 *      exchange over one full-duplex port per rank has the same critical path as the ring.
 *
 *    central (gather to rank 0, which merges, then rank 0 sends the result to each rank): rank 0
 *      receives W-1 vectors one after another and sends W-1:
 *        2(W-1)(alpha + n beta) + (W-1) n gamma
 *
 *    Every formula is alpha * a + n * (beta * b + gamma * c) for counts a, b, c that depend on W
 *    only (`costCoefficients`), so two algorithms cross at most once as n grows (`crossoverBytes`).
 */
import { requireInput } from '../errors.js';
import type { AlgorithmName } from './algorithms/index.js';
import type { TrafficCount } from './endpoint.js';

/**
 * The five algorithms this flat model has formulas for. The double binary tree and the
 * hierarchical all-reduce need a topology (nodes, links, cards): src/cost/schedule-model.ts.
 */
export type FlatAlgorithmName = Exclude<AlgorithmName, 'double-binary-tree' | 'hierarchical'>;
/** The flat model's algorithms, in the order of its tables. */
export const FLAT_ALGORITHM_NAMES: readonly FlatAlgorithmName[] = [
  'ring',
  'tree',
  'recursive-doubling',
  'allgather',
  'central',
];

/** Parameters of a link in the alpha-beta-gamma model. */
export interface LinkParameters {
  /** Latency of one message, seconds. */
  readonly alpha: number;
  /** Transfer time per byte, seconds per byte (1 / bandwidth). */
  readonly beta: number;
  /** Reduction time per byte of one operand, seconds per byte. */
  readonly gamma: number;
}

/** How many alphas, n*betas and n*gammas lie on an algorithm's critical path. */
export interface CostCoefficients {
  /** Message latencies on the critical path. */
  readonly alpha: number;
  /** Multiples of the message size transferred on the critical path. */
  readonly beta: number;
  /** Multiples of the message size reduced on the critical path. */
  readonly gamma: number;
}

/** A line in message size: seconds = latency + perByte * bytes. */
export interface CostLine {
  /** Seconds independent of the message size (alpha terms). */
  readonly latency: number;
  /** Seconds per byte of message (beta and gamma terms). */
  readonly perByte: number;
}

function checkDevices(devices: number): void {
  requireInput(
    Number.isSafeInteger(devices) && devices >= 1,
    () => `devices must be a whole number >= 1, got ${devices}`,
  );
}

function checkAlgorithm(algorithm: FlatAlgorithmName): void {
  requireInput(
    FLAT_ALGORITHM_NAMES.includes(algorithm),
    () => `unknown algorithm '${algorithm}' (${FLAT_ALGORITHM_NAMES.join(', ')})`,
  );
}

function checkLink(link: LinkParameters): void {
  for (const key of ['alpha', 'beta', 'gamma'] as const) {
    const v = link[key];
    requireInput(Number.isFinite(v) && v >= 0, () => `${key} must be a finite number >= 0, got ${v}`);
  }
}

/**
 * The largest power of two <= devices (devices >= 1).
 *
 * @param devices - W, >= 1.
 * @returns the largest p = 2^k <= W.
 */
export function largestPowerOfTwoAtMost(devices: number): number {
  let p = 1;
  while (p * 2 <= devices) p *= 2;
  return p;
}

/**
 * ceil(log2 devices), computed exactly on integers.
 *
 * @param devices - W, >= 1.
 * @returns the smallest k with 2^k >= W.
 */
export function ceilLog2(devices: number): number {
  let k = 0;
  while (2 ** k < devices) k++;
  return k;
}

/**
 * Messages and bytes all ranks send for one all-reduce of `values` values, exactly as the
 * simulator counts them:
 *   ring                2W(W-1) messages (2(W-1) per rank, empty chunks included); every value
 *                       crosses W-1 links in each half: 2(W-1) * values values in all, whatever
 *                       the record width, since each half sends every chunk but one per rank
 *   tree, central       2(W-1) messages of the whole vector
 *   recursive-doubling  p log2 p + 2(W-p) messages of the whole vector
 *   allgather           W(W-1) messages of the whole vector
 * and nothing for W = 1. Counts are exact while they stay below 2^53 (allgather's W(W-1) messages
 * of a large vector pass that near W = 10^6).
 *
 * @param algorithm - the algorithm.
 * @param devices - W, >= 1.
 * @param values - values per all-reduce.
 * @param bytesPerValue - bytes of one value on the wire.
 * @returns the messages and bytes of all ranks.
 * @throws {@link InputError} when an argument is unusable.
 */
export function trafficOf(
  algorithm: FlatAlgorithmName,
  devices: number,
  values: number,
  bytesPerValue: number,
): TrafficCount {
  checkAlgorithm(algorithm);
  checkDevices(devices);
  requireInput(Number.isSafeInteger(values) && values >= 0, () => `values must be a whole number >= 0, got ${values}`);
  requireInput(
    Number.isFinite(bytesPerValue) && bytesPerValue > 0,
    () => `bytes per value must be > 0, got ${bytesPerValue}`,
  );
  const W = devices;
  if (W === 1) return { messages: 0, bytes: 0 };
  let messages: number;
  let valuesSent: number;
  switch (algorithm) {
    case 'ring':
      messages = 2 * W * (W - 1);
      valuesSent = 2 * (W - 1) * values;
      break;
    case 'tree':
    case 'central':
      messages = 2 * (W - 1);
      valuesSent = messages * values;
      break;
    case 'recursive-doubling': {
      const p = largestPowerOfTwoAtMost(W);
      messages = p * Math.log2(p) + 2 * (W - p);
      valuesSent = messages * values;
      break;
    }
    case 'allgather':
      messages = W * (W - 1);
      valuesSent = messages * values;
      break;
  }
  return { messages, bytes: valuesSent * bytesPerValue };
}

/**
 * The counts a, b, c of `alpha a + n (beta b + gamma c)` for one all-reduce over `devices` ranks.
 *
 * @param algorithm - the algorithm.
 * @param devices - W, >= 1.
 * @returns the alphas, betas and gammas on the critical path.
 * @throws {@link InputError} when an argument is unusable.
 */
export function costCoefficients(algorithm: FlatAlgorithmName, devices: number): CostCoefficients {
  checkAlgorithm(algorithm);
  checkDevices(devices);
  const W = devices;
  if (W === 1) return { alpha: 0, beta: 0, gamma: 0 };
  const L = ceilLog2(W);
  switch (algorithm) {
    case 'ring':
      return { alpha: 2 * (W - 1), beta: (2 * (W - 1)) / W, gamma: (W - 1) / W };
    case 'recursive-doubling': {
      const p = largestPowerOfTwoAtMost(W);
      const rounds = Math.log2(p);
      // Fold and unfold for W not a power of two: 2(alpha + n beta) + n gamma.
      const folded = p === W ? 0 : 1;
      return { alpha: rounds + 2 * folded, beta: rounds + 2 * folded, gamma: rounds + folded };
    }
    case 'tree':
      return { alpha: 2 * L, beta: 2 * L, gamma: L };
    case 'allgather':
      return { alpha: W - 1, beta: W - 1, gamma: W - 1 };
    case 'central':
      return { alpha: 2 * (W - 1), beta: 2 * (W - 1), gamma: W - 1 };
  }
}

/**
 * The time of one all-reduce as a line in the message size.
 *
 * @param algorithm - the algorithm.
 * @param devices - W, >= 1.
 * @param link - alpha, beta and gamma of the link.
 * @returns its latency and its seconds per byte.
 * @throws {@link InputError} when an argument is unusable.
 */
export function costLine(algorithm: FlatAlgorithmName, devices: number, link: LinkParameters): CostLine {
  checkLink(link);
  const c = costCoefficients(algorithm, devices);
  return { latency: c.alpha * link.alpha, perByte: c.beta * link.beta + c.gamma * link.gamma };
}

/**
 * Seconds of one all-reduce of `bytes` bytes over `devices` ranks (critical path; formulas above).
 *
 * @param algorithm - the algorithm.
 * @param devices - W, >= 1.
 * @param bytes - the message size.
 * @param link - alpha, beta and gamma of the link.
 * @returns the seconds.
 * @throws {@link InputError} when an argument is unusable.
 */
export function allReduceSeconds(
  algorithm: FlatAlgorithmName,
  devices: number,
  bytes: number,
  link: LinkParameters,
): number {
  requireInput(Number.isFinite(bytes) && bytes >= 0, () => `bytes must be a finite number >= 0, got ${bytes}`);
  const line = costLine(algorithm, devices, link);
  return line.latency + line.perByte * bytes;
}

/** Relative difference below which two coefficients of the model count as equal (rounding only). */
const SAME = 1e-12;

function same(a: number, b: number): boolean {
  return Math.abs(a - b) <= SAME * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * The message size in bytes above which algorithm `b` is faster than algorithm `a` (below it `a`
 * is faster; at it both take the same time), or undefined when `b` never overtakes `a`: when `b`
 * is faster at every size, slower at every size, or the two take the same time throughout.
 *
 * @param a - the algorithm that is faster for small messages.
 * @param b - the one that may overtake it.
 * @param devices - W, >= 1.
 * @param link - alpha, beta and gamma of the link.
 * @returns the size in bytes, or undefined.
 * @throws {@link InputError} when an argument is unusable.
 */
export function crossoverBytes(
  a: FlatAlgorithmName,
  b: FlatAlgorithmName,
  devices: number,
  link: LinkParameters,
): number | undefined {
  const la = costLine(a, devices, link);
  const lb = costLine(b, devices, link);
  // b overtakes a only if it grows more slowly and starts higher.
  if (lb.perByte >= la.perByte || same(la.perByte, lb.perByte)) return undefined;
  if (lb.latency <= la.latency || same(la.latency, lb.latency)) return undefined;
  return (lb.latency - la.latency) / (la.perByte - lb.perByte);
}

/** One stretch of message sizes over which the same algorithms are fastest. */
export interface FastestSegment {
  /** The fastest algorithms (several when their times are the same at every size). */
  readonly algorithms: readonly FlatAlgorithmName[];
  /** Sizes in bytes: from (inclusive) up to (exclusive; undefined = no upper end). */
  readonly fromBytes: number;
  /** Where the segment ends (exclusive), in bytes; undefined when it has no upper end. */
  readonly toBytes: number | undefined;
}

/**
 * The fastest of `algorithms` at every message size from 0 bytes up: the lower envelope of their
 * cost lines, as consecutive segments separated by crossover sizes.
 *
 * @param algorithms - the candidates.
 * @param devices - W, >= 1.
 * @param link - alpha, beta and gamma of the link.
 * @returns the segments, from 0 bytes up.
 * @throws {@link InputError} when an argument is unusable.
 */
export function fastestBySize(
  algorithms: readonly FlatAlgorithmName[],
  devices: number,
  link: LinkParameters,
): FastestSegment[] {
  requireInput(algorithms.length > 0, 'at least one algorithm is needed');
  // Algorithms with the same line are one candidate.
  const groups: { names: FlatAlgorithmName[]; line: CostLine }[] = [];
  for (const name of algorithms) {
    const line = costLine(name, devices, link);
    const twin = groups.find((g) => same(g.line.latency, line.latency) && same(g.line.perByte, line.perByte));
    if (twin) {
      if (!twin.names.includes(name)) twin.names.push(name);
    } else groups.push({ names: [name], line });
  }
  // At size 0: least latency, then least slope.
  let current = groups.reduce((best, g) =>
    g.line.latency < best.line.latency || (g.line.latency === best.line.latency && g.line.perByte < best.line.perByte)
      ? g
      : best,
  );
  const segments: FastestSegment[] = [];
  let from = 0;
  for (;;) {
    let next: (typeof groups)[number] | undefined;
    let at = Infinity;
    for (const g of groups) {
      if (g === current || g.line.perByte >= current.line.perByte || same(g.line.perByte, current.line.perByte))
        continue;
      const x = Math.max((g.line.latency - current.line.latency) / (current.line.perByte - g.line.perByte), from);
      if (x < at || (x === at && next !== undefined && g.line.perByte < next.line.perByte)) {
        at = x;
        next = g;
      }
    }
    if (!next) {
      segments.push({ algorithms: current.names, fromBytes: from, toBytes: undefined });
      return segments;
    }
    if (at > from) segments.push({ algorithms: current.names, fromBytes: from, toBytes: at });
    from = at;
    current = next;
  }
}
