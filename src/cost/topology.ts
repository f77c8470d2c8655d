/**
 * The cluster a cost is computed for: N nodes of G GPUs (W = N x G, ranks numbered node by node),
 * a link inside nodes and a link between them, and K network cards per node shared by the node's
 * GPUs. A flat network of W devices is the case G = 1 (every device its own node, one card) or
 * N = 1 (one node).
 *
 * A link is a preset (links.ts) or the user's own: `alpha` replaces the per-hop latency of every
 * protocol (seconds), `beta` the seconds per byte (1 / bandwidth). Protocols then scale the
 * bandwidth as NCCL does (nccl-tuning.ts).
 */
import { checkNumber, checkWhole } from '../args.js';
import type { CallCosts } from '../collectives/timeline.js';
import { InputError } from '../errors.js';
import { type LinkPreset, linkPreset } from './links.js';
import { type Family, type HopKind, type Protocol, bandwidthShare, baseLatency, hopLatency } from './nccl-tuning.js';

/** A link as the model uses it. */
export interface Link {
  /** Preset name, or 'custom' when both its figures were given. */
  readonly name: string;
  /** NCCL's kind of hop: which latencies apply. */
  readonly kind: HopKind;
  /** Bytes per second one GPU (or card) sends at, before the protocol's share. */
  readonly bandwidth: number;
  /** Per-hop latency for every protocol, seconds, when the user set one (else NCCL's by kind). */
  readonly latency?: number;
  /** What it is. */
  readonly description: string;
  /** Where its figures come from. */
  readonly source: string;
}

/** Nodes, GPUs, cards and links. */
export interface Topology {
  /** Nodes N. */
  readonly nodes: number;
  /** GPUs per node G (consecutive ranks). */
  readonly gpusPerNode: number;
  /** Network cards per node. */
  readonly nicsPerNode: number;
  /** The link inside a node. */
  readonly intra: Link;
  /** The link between nodes. */
  readonly inter: Link;
}

/**
 * Devices of a topology.
 * @param t - the topology.
 * @returns W = N x G.
 */
export function devicesOf(t: Topology): number {
  return t.nodes * t.gpusPerNode;
}

/** What a link may be given as. */
export interface LinkOptions {
  /** A preset name. */
  readonly preset?: string;
  /** Seconds per hop, replacing NCCL's latency for every protocol. */
  readonly alpha?: number;
  /** Seconds per byte (1 / bandwidth). */
  readonly beta?: number;
}

/**
 * A link from a preset and the user's overrides.
 * @param role 'intra' or 'inter', for messages
 * @param options preset and overrides
 * @param fallback preset when none is given
 * @returns the link
 * @throws InputError on an unknown preset or a negative or non-finite override
 */
export function resolveLink(role: 'intra' | 'inter', options: LinkOptions, fallback: string): Link {
  const preset: LinkPreset = linkPreset(options.preset ?? fallback);
  if (options.alpha !== undefined) checkNumber(`${role}Alpha`, options.alpha, { min: 0 });
  if (options.beta !== undefined) checkNumber(`${role}Beta`, options.beta, { above: 0 });
  const set = [options.alpha !== undefined ? 'alpha' : '', options.beta !== undefined ? 'beta' : ''].filter(Boolean);
  const custom = set.length === 2;
  return {
    name: custom ? 'custom' : preset.name,
    kind: preset.kind,
    bandwidth: options.beta !== undefined ? 1 / options.beta : preset.bandwidth,
    latency: options.alpha,
    description: custom
      ? `${role} link set by the user (NCCL's ${preset.kind} bandwidth shares)`
      : preset.description + (set.length > 0 ? ` (${set.join(' and ')} set by the user)` : ''),
    source: custom
      ? `alpha and beta set by the user`
      : (set.length > 0 ? `${set.join(' and ')} set by the user; otherwise ` : '') + preset.source,
  };
}

/** Largest node count the model accepts. */
export const MAX_NODES = 65_536;
/** Largest GPU (and card) count per node the model accepts. */
export const MAX_GPUS_PER_NODE = 256;

/**
 * A checked topology.
 * @param nodes N >= 1
 * @param gpusPerNode G >= 1
 * @param nicsPerNode K >= 1 (default G: one card per GPU)
 * @param intra link inside a node
 * @param inter link between nodes
 * @returns the topology
 * @throws InputError on counts out of range
 */
export function makeTopology(
  nodes: number,
  gpusPerNode: number,
  nicsPerNode: number | undefined,
  intra: Link,
  inter: Link,
): Topology {
  checkWhole('nodes', nodes, 1, MAX_NODES);
  checkWhole('gpusPerNode', gpusPerNode, 1, MAX_GPUS_PER_NODE);
  const K = nicsPerNode ?? gpusPerNode;
  checkWhole('nicsPerNode', K, 1, MAX_GPUS_PER_NODE);
  return { nodes, gpusPerNode, nicsPerNode: K, intra, inter };
}

/**
 * A flat network of `devices` devices all joined by one link: every device its own node for a
 * network link, one node of `devices` GPUs for a link inside a node.
 * @param devices W
 * @param link the one link
 * @returns the topology
 */
export function flatTopology(devices: number, link: Link): Topology {
  checkWhole('devices', devices, 1, MAX_NODES * MAX_GPUS_PER_NODE);
  if (link.kind === 'net') return { nodes: devices, gpusPerNode: 1, nicsPerNode: 1, intra: link, inter: link };
  if (devices > MAX_GPUS_PER_NODE)
    throw new InputError(
      `a flat ${link.name} link joins at most ${MAX_GPUS_PER_NODE} GPUs of one node, got ${devices} devices`,
    );
  return { nodes: 1, gpusPerNode: devices, nicsPerNode: 1, intra: link, inter: link };
}

/**
 * What each hop and each call cost for one algorithm family and protocol.
 * @param t the topology
 * @param family ring or tree constants
 * @param protocol LL, LL128 or Simple
 * @returns launch latency and the two hop costs
 */
export function callCosts(t: Topology, family: Family, protocol: Protocol): CallCosts {
  const multiNode = t.nodes > 1;
  const onePerNode = t.gpusPerNode === 1;
  const hop = (link: Link) => ({
    latency: link.latency ?? hopLatency(link.kind, family, protocol, onePerNode),
    secondsPerByte: 1 / (link.bandwidth * bandwidthShare(family, protocol, multiNode)),
  });
  return { base: baseLatency(family, protocol), intra: hop(t.intra), inter: hop(t.inter) };
}
