/**
 * Published NCCL measurements the cost model is held to, each with its source, and the model's
 * prediction for the same cluster and size. The presets were fixed from their sources first
 * (links.ts, nccl-tuning.ts); nothing here feeds back into them: the misses are reported as they
 * come out (docs/cost-validation.md, test/cost-validation.test.ts).
 *
 * The prediction is the fastest of NCCL's own algorithms (ring and double binary tree) over the
 * three protocols: what NCCL's tuner would run, since the measurements are of NCCL.
 */
import { type CollectiveKind, WIRE_BYTES, busFactor, pickFastest } from './collective-table.js';
import type { Protocol } from './nccl-tuning.js';
import { makeTopology, resolveLink } from './topology.js';

/** One published measurement. */
export interface Measurement {
  /** Short name of the case. */
  readonly name: string;
  /** The collective measured. */
  readonly kind: CollectiveKind;
  /** Nodes, GPUs per node and network cards per node. */
  readonly nodes: number;
  /** GPUs per node. */
  readonly gpusPerNode: number;
  /** Network cards per node (undefined: one per GPU). */
  readonly nicsPerNode?: number;
  /** Intra-node link preset. */
  readonly intra: string;
  /** Inter-node link preset. */
  readonly inter: string;
  /** nccl-tests' size column, bytes. */
  readonly bytes: number;
  /** What was measured: the time of one call (small messages) or the bus bandwidth (large ones). */
  readonly metric: 'seconds' | 'busbw';
  /** The measured value: seconds, or bytes per second. */
  readonly measured: number;
  /** Where it was published. */
  readonly source: string;
}

/**
 * The measurements: small-message latency inside a node and across nodes, and large-message bus
 * bandwidth on 8 GPUs of a node (A100, H100) and across nodes with fewer cards than GPUs.
 */
export const MEASUREMENTS: readonly Measurement[] = [
  {
    name: '2 A100 (NVLink), 32 B',
    kind: 'all-reduce',
    nodes: 1,
    gpusPerNode: 2,
    intra: 'nvlink-a100',
    inter: 'ib-hdr',
    bytes: 32,
    metric: 'seconds',
    measured: 10.14e-6,
    source: 'NVIDIA/nccl issue #583: all_reduce_perf on 2 A100-SXM4-40GB of one node, 32 B out-of-place 10.14 us',
  },
  {
    name: '2 nodes x 1 A100 (HDR), 8 B',
    kind: 'all-reduce',
    nodes: 2,
    gpusPerNode: 1,
    intra: 'nvlink-a100',
    inter: 'ib-hdr',
    bytes: 8,
    metric: 'seconds',
    measured: 19.9e-6,
    source:
      'NVIDIA/nccl-tests issue #150: all_reduce_perf, one A100 80GB in each of 2 nodes on InfiniBand HDR, 8 B out-of-place 19.90 us',
  },
  {
    name: '8 A100 (NVLink), 8 GiB',
    kind: 'all-reduce',
    nodes: 1,
    gpusPerNode: 8,
    intra: 'nvlink-a100',
    inter: 'ib-hdr',
    bytes: 8 * 2 ** 30,
    metric: 'busbw',
    measured: 230e9,
    source:
      'NVIDIA/nccl-tests issue #149, the NCCL maintainer: 8 A100 reach ~230 GB/s bus bandwidth at 8 GB (240 effective, less other GPU bottlenecks)',
  },
  {
    name: '8 H100 (NVLink), ring, 2-4 GiB',
    kind: 'all-reduce',
    nodes: 1,
    gpusPerNode: 8,
    intra: 'nvlink-h100',
    inter: 'ib-ndr',
    bytes: 4 * 2 ** 30,
    metric: 'busbw',
    measured: 367.5e9,
    source:
      'NVIDIA/nccl issue #1455: NCCL_ALGO=RING on 8 H100 SXM, busbw 365-370 GB/s (midpoint); the maintainer in NVIDIA/nccl-tests issue #212: ~370 GB/s effective',
  },
  {
    name: '3 nodes x 8 A100, 4 HDR cards each, 128 MiB',
    kind: 'all-reduce',
    nodes: 3,
    gpusPerNode: 8,
    nicsPerNode: 4,
    intra: 'nvlink-a100',
    inter: 'ib-hdr',
    bytes: 128 * 2 ** 20,
    metric: 'busbw',
    measured: 96e9,
    source:
      'NVIDIA/nccl-tests issue #119: 24 A100-SXM4-40GB in 3 nodes with 4 HDR cards each, all_reduce_perf peak busbw ~96 GB/s at 128 MB',
  },
];

/** A measurement beside the model's prediction. */
export interface ValidationRow {
  /** The measurement. */
  readonly measurement: Measurement;
  /** The model's value of the same metric. */
  readonly predicted: number;
  /** predicted / measured - 1. */
  readonly error: number;
  /** NCCL's algorithm the model picks. */
  readonly algorithm: string;
  /** The protocol it picks. */
  readonly protocol: Protocol;
}

/** NCCL's own algorithms for each collective. */
const NCCL_ALGORITHMS = { 'all-reduce': ['ring', 'double-binary-tree'], 'all-gather': ['ring'] } as const;

/**
 * The model's prediction for one measurement.
 * @param m - the measurement.
 * @returns the prediction and its relative error.
 */
export function validate(m: Measurement): ValidationRow {
  const topology = makeTopology(
    m.nodes,
    m.gpusPerNode,
    m.nicsPerNode,
    resolveLink('intra', {}, m.intra),
    resolveLink('inter', {}, m.inter),
  );
  const ranks = m.nodes * m.gpusPerNode;
  const values = m.kind === 'all-reduce' ? Math.floor(m.bytes / WIRE_BYTES) : Math.floor(m.bytes / WIRE_BYTES / ranks);
  const pick = pickFastest(topology, 0, m.kind, 0, ranks, values, NCCL_ALGORITHMS[m.kind]);
  const predicted = m.metric === 'seconds' ? pick.seconds : (m.bytes / pick.seconds) * busFactor(m.kind, ranks);
  return {
    measurement: m,
    predicted,
    error: predicted / m.measured - 1,
    algorithm: pick.algorithm,
    protocol: pick.protocol,
  };
}

/**
 * Every measurement beside its prediction.
 * @returns one row per measurement, in MEASUREMENTS order.
 */
export function validationTable(): ValidationRow[] {
  return MEASUREMENTS.map(validate);
}
