/**
 * One training iteration of data-parallel training on a topology: compute, DDP's gradient
 * all-reduce, and sync BN's collectives, for each BN mode. Pure: no threads, no I/O.
 *
 * - Compute: per-GPU seconds from a GPU preset or the user's measurement (networks.ts); a third
 *   of it forward and two thirds backward (a backward pass computes two gradients per forward
 *   product: the usual 1:2 split).
 * - BN: every call of the pattern (bn-patterns.ts) sits on the critical path: a layer cannot
 *   normalize (forward) or pass its gradient on (backward) before its collective ends. Each call
 *   runs the fastest algorithm and protocol for its size, as NCCL's tuner picks them
 *   (collective-table.ts). group:K runs among K consecutive ranks (all groups at once; groups
 *   never share a link when K divides or is a multiple of the node size), local communicates
 *   nothing.
 * - Gradients: DDP all-reduces the float32 gradients in buckets of 25 MiB (its bucket_cap_mb
 *   default), each once the backward has produced it; buckets become ready evenly over the
 *   backward (with its BN calls) and go one after another. Only what runs past the end of the
 *   backward is exposed.
 * The iteration is compute + BN seconds + exposed gradient seconds.
 */
import { checkNumber, checkWhole } from '../args.js';
import { InputError } from '../errors.js';
import type { BnCall, BnPattern } from './bn-patterns.js';
import { bnCalls } from './bn-patterns.js';
import { type CollectiveKind, type CollectivePick, WIRE_BYTES, pickFastest } from './collective-table.js';
import type { NetworkFigures } from './networks.js';
import { type Topology, devicesOf } from './topology.js';

/** DDP's default bucket size (torch.nn.parallel.DistributedDataParallel, bucket_cap_mb = 25). */
export const DDP_BUCKET_BYTES = 25 * 1024 * 1024;
/** Share of an iteration's compute that is the forward pass. */
export const FORWARD_SHARE = 1 / 3;

/** A BN mode as the cost model knows it. */
export interface CostMode {
  /** As typed: 'sync', 'group:K' or 'local'. */
  readonly label: string;
  /** Ranks that communicate together (1 for local). */
  readonly groupSize: number;
}

/**
 * A BN mode from its name.
 * @param label - 'sync', 'local' or 'group:K'.
 * @param devices - W.
 * @returns the mode.
 * @throws {@link syncbn-sim!InputError} for another name, or K that does not divide W.
 */
export function parseCostMode(label: string, devices: number): CostMode {
  if (label === 'sync') return { label, groupSize: devices };
  if (label === 'local') return { label, groupSize: 1 };
  const m = /^group:(\d+)$/.exec(label);
  if (!m) throw new InputError(`--bn: unknown mode '${label}' (sync, local or group:K)`);
  const K = Number(m[1]);
  if (!(K >= 1 && K <= devices && devices % K === 0))
    throw new InputError(`--bn ${label}: K must divide the ${devices} devices`);
  return { label, groupSize: K };
}

/** A cache of the fastest pick per call shape: an iteration repeats few sizes many times. */
export class PickCache {
  private readonly picks = new Map<string, CollectivePick>();
  /**
   * @param topology - the cluster.
   * @param gamma - seconds per byte reduced.
   */
  constructor(
    private readonly topology: Topology,
    private readonly gamma: number,
  ) {}
  /**
   * The fastest algorithm and protocol for a call among the first `size` ranks.
   * @param kind - the collective.
   * @param size - communicator size.
   * @param values - all-reduce vector or all-gather block values.
   * @returns the pick.
   */
  pick(kind: CollectiveKind, size: number, values: number): CollectivePick {
    const key = `${kind}:${size}:${values}`;
    let p = this.picks.get(key);
    if (p === undefined) {
      p =
        size === 1
          ? { algorithm: 'ring', protocol: 'Simple', seconds: 0 }
          : pickFastest(this.topology, this.gamma, kind, 0, size, values);
      this.picks.set(key, p);
    }
    return p;
  }
}

/** The BN cost of one mode. */
export interface IterationRow {
  /** The mode, as typed. */
  readonly bn: string;
  /** The traffic pattern. */
  readonly pattern: BnPattern;
  /** Seconds of BN communication per iteration (all on the critical path). */
  readonly seconds: number;
  /** Of which in the forward pass. */
  readonly forwardSeconds: number;
  /** Seconds of the whole iteration with this mode. */
  readonly iterationSeconds: number;
  /** seconds / iterationSeconds. */
  readonly shareOfIteration: number;
  /** Collective calls per iteration. */
  readonly calls: number;
  /** Exposed gradient all-reduce seconds with this mode. */
  readonly gradExposedSeconds: number;
}

/** One iteration on one topology. */
export interface IterationReport {
  /** Nodes. */
  readonly nodes: number;
  /** GPUs per node. */
  readonly gpusPerNode: number;
  /** W. */
  readonly devices: number;
  /** Compute seconds per iteration. */
  readonly computeSeconds: number;
  /** Seconds of DDP's gradient all-reduce (all buckets, overlapped or not). */
  readonly gradAllreduceSeconds: number;
  /** Gradient buckets. */
  readonly gradBuckets: number;
  /** One row per BN mode. */
  readonly rows: readonly IterationRow[];
}

/** What an iteration is computed from. */
export interface IterationInput {
  /** The cluster. */
  readonly topology: Topology;
  /** The network. */
  readonly network: NetworkFigures;
  /** Compute seconds per iteration. */
  readonly computeSeconds: number;
  /** The framework's BN traffic. */
  readonly pattern: BnPattern;
  /** BN modes, as typed. */
  readonly modes: readonly string[];
  /** Seconds per byte reduced (default 0). */
  readonly gamma?: number;
}

/**
 * Seconds of each BN call of a mode, in order.
 * @param calls - the iteration's calls.
 * @param mode - the mode.
 * @param cache - fastest picks.
 * @returns the pick of each call (seconds 0 for local).
 */
export function callPicks(calls: readonly BnCall[], mode: CostMode, cache: PickCache): CollectivePick[] {
  return calls.map((c) => cache.pick(c.kind, mode.groupSize, c.values));
}

/**
 * When DDP's gradient all-reduce ends after the backward, and its total time.
 * @param network - the network (its parameter count).
 * @param devices - W.
 * @param backwardSeconds - the backward's length, its BN calls included.
 * @param cache - fastest picks.
 * @returns exposed seconds, total seconds and bucket count.
 */
export function gradientAllReduce(
  network: NetworkFigures,
  devices: number,
  backwardSeconds: number,
  cache: PickCache,
): { exposed: number; total: number; buckets: number } {
  const bytes = network.params * WIRE_BYTES;
  if (devices === 1 || bytes === 0) return { exposed: 0, total: 0, buckets: 0 };
  let done = 0;
  let free = 0;
  let total = 0;
  let buckets = 0;
  for (let start = 0; start < bytes; start += DDP_BUCKET_BYTES) {
    const size = Math.min(DDP_BUCKET_BYTES, bytes - start);
    done += size;
    const ready = (backwardSeconds * done) / bytes;
    const t = cache.pick('all-reduce', devices, Math.ceil(size / WIRE_BYTES)).seconds;
    free = Math.max(free, ready) + t;
    total += t;
    buckets++;
  }
  return { exposed: Math.max(0, free - backwardSeconds), total, buckets };
}

/**
 * The iteration for every BN mode.
 * @param input - topology, network, compute, pattern and modes.
 * @returns the report.
 * @throws {@link syncbn-sim!InputError} for a bad mode or an unusable argument.
 */
export function iterationCost(input: IterationInput): IterationReport {
  checkNumber('computeSeconds', input.computeSeconds, { min: 0 });
  const gamma = checkNumber('gamma', input.gamma ?? 0, { min: 0 });
  const W = checkWhole('devices', devicesOf(input.topology), 1);
  const calls = bnCalls(input.network.channels, input.pattern);
  const cache = new PickCache(input.topology, gamma);
  const backwardCompute = input.computeSeconds * (1 - FORWARD_SHARE);
  let gradTotal = 0;
  let gradBuckets = 0;
  const rows = input.modes.map((label): IterationRow => {
    const mode = parseCostMode(label, W);
    const picks = callPicks(calls, mode, cache);
    let seconds = 0;
    let forwardSeconds = 0;
    picks.forEach((p, i) => {
      seconds += p.seconds;
      if (calls[i].pass === 'forward') forwardSeconds += p.seconds;
    });
    const grad = gradientAllReduce(input.network, W, backwardCompute + seconds - forwardSeconds, cache);
    gradTotal = grad.total;
    gradBuckets = grad.buckets;
    const iterationSeconds = input.computeSeconds + seconds + grad.exposed;
    return {
      bn: label,
      pattern: input.pattern,
      seconds,
      forwardSeconds,
      iterationSeconds,
      shareOfIteration: iterationSeconds > 0 ? seconds / iterationSeconds : 0,
      calls: mode.groupSize === 1 ? 0 : calls.length,
      gradExposedSeconds: grad.exposed,
    };
  });
  return {
    nodes: input.topology.nodes,
    gpusPerNode: input.topology.gpusPerNode,
    devices: W,
    computeSeconds: input.computeSeconds,
    gradAllreduceSeconds: gradTotal,
    gradBuckets,
    rows,
  };
}
