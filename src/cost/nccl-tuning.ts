/**
 * NCCL's three protocols as its own tuning model describes them: the fixed latency of launching a
 * collective, the latency of each hop by kind of link, and the share of a link's bandwidth each
 * protocol delivers. The figures are NCCL 2.30.7's (NVIDIA/nccl, src/graph/tuning.cc, commit
 * 5067397c, 2026-06-11: `baseLatencies`, `hwLatencies` and the "model refinements" of
 * ncclTopoTuneModel). They are read here, not fitted to anything.
 *
 *   LL      8-byte stores of 4 bytes of data and a 4-byte flag: the lowest latency, half the
 *           bandwidth (NCCL: ring busBw x 0.5; tree x 0.92 / 3.8).
 *   LL128   128-byte lines of 120 bytes of data and a flag: near-LL latency on NVLink, 120/128 of
 *           the bandwidth (NCCL: ring x 0.92; tree x 0.92 x 7/9 inside a node, x 0.92 x 120/128
 *           across nodes).
 *   Simple  plain copies fenced by flags per chunk: the full bandwidth (tree x 0.92), the highest
 *           latency per hop.
 *
 * Algorithms come in two families with their own constants: the ring family (NCCL's ring: every
 * algorithm of this simulator that moves data by point-to-point steps) and the tree family
 * (NCCL's double binary tree).
 *
 * Left out of NCCL's model: its per-channel bandwidth caps (llMaxBws, perChMax*Bws), which need
 * the channel count NCCL's topology search would pick; the tree correction factors by size; the
 * ring "plateau" factor; the CPU-dependent network post overhead; NVLink SHARP, CollNet and PAT.
 */

/** NCCL's protocols. */
export type Protocol = 'LL' | 'LL128' | 'Simple';
/** The three protocols, in table order. */
export const PROTOCOLS: readonly Protocol[] = ['LL', 'LL128', 'Simple'];

/** Which of NCCL's constant sets an algorithm uses. */
export type Family = 'ring' | 'tree';

/** NCCL's three kinds of hop. */
export type HopKind = 'nvlink' | 'pcie' | 'net';

const US = 1e-6;

/** Seconds to launch one collective (NCCL `baseLatencies`, microseconds there). */
const BASE: Readonly<Record<Family, Readonly<Record<Protocol, number>>>> = {
  tree: { LL: 6.8 * US, LL128: 14.0 * US, Simple: 8.4 * US },
  ring: { LL: 6.6 * US, LL128: 14.0 * US, Simple: 8.4 * US },
};

/** Seconds per hop (NCCL `hwLatencies`, microseconds there). */
const HOP: Readonly<Record<HopKind, Readonly<Record<Family, Readonly<Record<Protocol, number>>>>>> = {
  nvlink: {
    tree: { LL: 0.6 * US, LL128: 1.25 * US, Simple: 4.0 * US },
    ring: { LL: 0.6 * US, LL128: 1.9 * US, Simple: 3.4 * US },
  },
  pcie: {
    tree: { LL: 1.0 * US, LL128: 1.9 * US, Simple: 4.0 * US },
    ring: { LL: 1.0 * US, LL128: 2.5 * US, Simple: 5.7 * US },
  },
  net: {
    tree: { LL: 5.0 * US, LL128: 8.5 * US, Simple: 14 * US },
    ring: { LL: 2.7 * US, LL128: 4.0 * US, Simple: 14.0 * US },
  },
};

/**
 * Seconds NCCL charges once per collective for the protocol and family.
 * @param family ring or tree constants
 * @param protocol LL, LL128 or Simple
 * @returns the base latency, seconds
 */
export function baseLatency(family: Family, protocol: Protocol): number {
  return BASE[family][protocol];
}

/**
 * Seconds NCCL charges per hop over a link of that kind. With one GPU per node NCCL uses the tree
 * figure for network hops of a ring too ("with ppn=1 latencies are fully exposed"), and so do we.
 * @param kind nvlink, pcie or net
 * @param family ring or tree constants
 * @param protocol LL, LL128 or Simple
 * @param onePerNode whether every node holds one GPU
 * @returns the hop latency, seconds
 */
export function hopLatency(kind: HopKind, family: Family, protocol: Protocol, onePerNode = false): number {
  if (kind === 'net' && onePerNode) return HOP.net.tree[protocol];
  return HOP[kind][family][protocol];
}

/**
 * Share of a link's bandwidth the protocol delivers to the algorithm family (NCCL's refinements).
 * @param family ring or tree constants
 * @param protocol LL, LL128 or Simple
 * @param multiNode whether the collective spans more than one node (tree LL128 differs)
 * @returns a factor in (0, 1]
 */
export function bandwidthShare(family: Family, protocol: Protocol, multiNode: boolean): number {
  if (family === 'ring') return protocol === 'LL' ? 0.5 : protocol === 'LL128' ? 0.92 : 1;
  const tree = 0.92;
  if (protocol === 'LL') return tree / 3.8;
  if (protocol === 'LL128') return tree * (multiNode ? 120 / 128 : 7 / 9);
  return tree;
}

/** Where the figures come from, for reports. */
export const NCCL_SOURCE =
  'NCCL 2.30.7 src/graph/tuning.cc (NVIDIA/nccl commit 5067397c): baseLatencies, hwLatencies and the protocol bandwidth factors';
