/**
 * One collective on a topology, every algorithm with every NCCL protocol: predicted time,
 * algorithm bandwidth and bus bandwidth as nccl-tests defines them (its doc/PERFORMANCE.md):
 *   algbw = bytes / time, where bytes is the size of the collective's result on one rank
 *           (all-reduce: the vector; all-gather: all ranks' blocks together);
 *   busbw = algbw x 2(n-1)/n for all-reduce and algbw x (n-1)/n for all-gather: the rate each
 *           rank's busiest link must carry, comparable with the link's own bandwidth whatever n.
 * And the pick `auto` makes: the fastest row, as NCCL's tuner picks the algorithm and protocol
 * with the lowest predicted time for each message. Pure: no threads, no I/O.
 */
import { checkChoice, checkNumber, checkWhole } from '../args.js';
import { ALGORITHM_NAMES, type AlgorithmName } from '../collectives/algorithms/index.js';
import { ALL_GATHER_NAMES, type AllGatherName } from '../collectives/all-gather.js';
import { InputError } from '../errors.js';
import { PROTOCOLS, type Protocol } from './nccl-tuning.js';
import { type ModelMachine, familyOf, predictAllGather, predictAllReduce } from './schedule-model.js';
import { type Topology, callCosts, devicesOf } from './topology.js';

/** The collectives the table covers. */
export type CollectiveKind = 'all-reduce' | 'all-gather';
/** Every collective kind, as `--collective` spells it. */
export const COLLECTIVE_KINDS: readonly CollectiveKind[] = ['all-reduce', 'all-gather'];

/** Bytes of one value on the wire: float32, what nccl-tests' default data type carries. */
export const WIRE_BYTES = 4;

/** One algorithm and protocol. */
export interface CollectiveRow {
  /** The algorithm (an all-reduce or an all-gather name). */
  readonly algorithm: AlgorithmName | AllGatherName;
  /** NCCL's protocol whose latencies and bandwidth share apply. */
  readonly protocol: Protocol;
  /** Predicted seconds. */
  readonly seconds: number;
  /** Algorithm bandwidth, bytes per second. */
  readonly algbw: number;
  /** Bus bandwidth, bytes per second. */
  readonly busbw: number;
}

/** The fastest row: what `auto` runs. */
export interface CollectivePick {
  /** The algorithm. */
  readonly algorithm: AlgorithmName | AllGatherName;
  /** The protocol. */
  readonly protocol: Protocol;
  /** Predicted seconds. */
  readonly seconds: number;
}

/** The whole table. */
export interface CollectiveTable {
  /** all-reduce or all-gather. */
  readonly kind: CollectiveKind;
  /** Bytes of the result on one rank (rounded down to whole float32 values, and for all-gather to a whole block per rank, as nccl-tests does). */
  readonly bytes: number;
  /** Ranks. */
  readonly ranks: number;
  /** Every algorithm with every protocol, in table order. */
  readonly rows: readonly CollectiveRow[];
  /** The fastest. */
  readonly best: CollectivePick;
}

/**
 * nccl-tests' bus bandwidth factor.
 * @param kind - the collective.
 * @param ranks - n, >= 1.
 * @returns 2(n-1)/n for all-reduce, (n-1)/n for all-gather (0 for one rank).
 */
export function busFactor(kind: CollectiveKind, ranks: number): number {
  checkWhole('ranks', ranks, 1);
  return kind === 'all-reduce' ? (2 * (ranks - 1)) / ranks : (ranks - 1) / ranks;
}

/** The algorithms a collective of that kind may run. */
function algorithmsOf(kind: CollectiveKind): readonly (AlgorithmName | AllGatherName)[] {
  return kind === 'all-reduce' ? ALGORITHM_NAMES : ALL_GATHER_NAMES;
}

/**
 * Predicted seconds of one collective with one algorithm and protocol.
 * @param topology - the cluster.
 * @param gamma - seconds per byte reduced.
 * @param kind - the collective.
 * @param algorithm - an algorithm of that kind.
 * @param protocol - LL, LL128 or Simple.
 * @param first - first global rank of the communicator.
 * @param size - ranks in the communicator.
 * @param values - all-reduce: values in the vector; all-gather: values per rank's block.
 * @returns seconds.
 */
export function collectiveSeconds(
  topology: Topology,
  gamma: number,
  kind: CollectiveKind,
  algorithm: AlgorithmName | AllGatherName,
  protocol: Protocol,
  first: number,
  size: number,
  values: number,
): number {
  const machine: ModelMachine = { nodeSize: topology.gpusPerNode, nics: topology.nicsPerNode, gamma };
  const comm = { first, size };
  if (kind === 'all-reduce') {
    const a = algorithm as AlgorithmName;
    return predictAllReduce(a, machine, callCosts(topology, familyOf(a), protocol), comm, {
      values,
      width: 1,
      bytesPerValue: WIRE_BYTES,
    });
  }
  return predictAllGather(
    algorithm as AllGatherName,
    machine,
    callCosts(topology, 'ring', protocol),
    comm,
    values,
    WIRE_BYTES,
  );
}

/**
 * The fastest algorithm and protocol for one collective: what `auto` picks.
 * @param topology - the cluster.
 * @param gamma - seconds per byte reduced.
 * @param kind - the collective.
 * @param first - first global rank of the communicator.
 * @param size - ranks in the communicator.
 * @param values - all-reduce: values in the vector; all-gather: values per block.
 * @param algorithms - candidates (default every algorithm of the kind).
 * @returns the pick (seconds 0 for one rank).
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 */
export function pickFastest(
  topology: Topology,
  gamma: number,
  kind: CollectiveKind,
  first: number,
  size: number,
  values: number,
  algorithms = algorithmsOf(kind),
): CollectivePick {
  checkNumber('gamma', gamma, { min: 0 });
  checkChoice('kind', kind, COLLECTIVE_KINDS);
  checkWhole('first', first);
  checkWhole('size', size, 1);
  checkWhole('values', values, 1);
  let best: CollectivePick | undefined;
  for (const algorithm of algorithms) {
    for (const protocol of PROTOCOLS) {
      const seconds = collectiveSeconds(topology, gamma, kind, algorithm, protocol, first, size, values);
      if (best === undefined || seconds < best.seconds) best = { algorithm, protocol, seconds };
    }
  }
  return best as CollectivePick;
}

/**
 * The table of one collective over every rank of a topology.
 * @param topology - the cluster.
 * @param kind - all-reduce or all-gather.
 * @param bytes - the result's size on one rank, as nccl-tests' size column.
 * @param gamma - seconds per byte reduced (default 0: NCCL reduces inside its copy kernels, and its model has no separate term).
 * @returns rows for every algorithm and protocol, and the fastest.
 * @throws {@link syncbn-sim!InputError} when the topology has one rank, the size holds less than one float32 value per rank, or an argument is unusable.
 */
export function collectiveTable(topology: Topology, kind: CollectiveKind, bytes: number, gamma = 0): CollectiveTable {
  checkChoice('kind', kind, COLLECTIVE_KINDS);
  checkWhole('bytes', bytes, 1);
  checkNumber('gamma', gamma, { min: 0 });
  const ranks = devicesOf(topology);
  if (ranks < 2) throw new InputError(`a collective needs at least 2 ranks, the topology has ${ranks}`);
  const unit = kind === 'all-reduce' ? WIRE_BYTES : WIRE_BYTES * ranks;
  const values = Math.floor(bytes / unit);
  if (values < 1)
    throw new InputError(
      `--bytes ${bytes} is less than one float32 value${kind === 'all-gather' ? ` per rank (${unit} bytes for ${ranks} ranks)` : ` (${WIRE_BYTES} bytes)`}`,
    );
  const used = values * unit;
  const factor = busFactor(kind, ranks);
  const rows: CollectiveRow[] = [];
  for (const algorithm of algorithmsOf(kind)) {
    for (const protocol of PROTOCOLS) {
      const seconds = collectiveSeconds(topology, gamma, kind, algorithm, protocol, 0, ranks, values);
      const algbw = seconds > 0 ? used / seconds : Number.POSITIVE_INFINITY;
      rows.push({ algorithm, protocol, seconds, algbw, busbw: algbw * factor });
    }
  }
  const fastest = rows.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  return {
    kind,
    bytes: used,
    ranks,
    rows,
    best: { algorithm: fastest.algorithm, protocol: fastest.protocol, seconds: fastest.seconds },
  };
}
