/**
 * Link presets of the cost model: the links between GPUs of one node (`intra`) and between nodes
 * (`inter`), each fixed from its source and never fitted to a measurement.
 *
 * Bandwidth is the rate NCCL's own topology model assigns to the link (NVIDIA/nccl
 * src/graph/topo.h and topo.cc, NCCL 2.30.7), each beside the vendor's line rate it comes from:
 *   NVLink   NCCL counts 20 GB/s of effective bandwidth per NVLink 2 or 3 link and 20.6 per
 *            NVLink 4 link, of a 25 GB/s line rate per direction: GPU copies move 128-byte
 *            payloads (S. Jeaugey, NVIDIA/nccl-tests issue #149: "~20GB/s effective bandwidth with
 *            a 128B payload size").
 *   PCIe     width x per-lane rate / 80 in NCCL's units: Gen3 x16 = 12 GB/s (of 15.75 line),
 *            Gen4 x16 = 24 GB/s (of 31.5 line).
 *   network  the port speed the NIC reports, bits / 8 (topo.cc: mbps / 8000 GB/s).
 * Latency per hop is NCCL's for the link's kind and the protocol (nccl-tuning.ts); NCCL's model
 * has no per-NIC latency (graph latencyInter is 0 for InfiniBand), so neither do the presets.
 * The Ethernet presets are RoCE, which NCCL drives through the same verbs transport as
 * InfiniBand; NCCL over TCP sockets is slower than either and is not modelled.
 */
import { InputError } from '../errors.js';
import type { HopKind } from './nccl-tuning.js';

/** Presets of links inside a node. */
export type IntraLinkName = 'pcie3' | 'pcie4' | 'nvlink-v100' | 'nvlink-a100' | 'nvlink-h100';
/** Presets of links between nodes. */
export type InterLinkName = 'ib-edr' | 'ib-hdr' | 'ib-ndr' | 'ethernet-100g' | 'ethernet-25g';
/** Every preset name. */
export type LinkPresetName = IntraLinkName | InterLinkName;

/** The links GPUs of one node talk over. */
export const INTRA_LINK_NAMES: readonly IntraLinkName[] = [
  'pcie3',
  'pcie4',
  'nvlink-v100',
  'nvlink-a100',
  'nvlink-h100',
];
/** The links nodes talk over. */
export const INTER_LINK_NAMES: readonly InterLinkName[] = [
  'ib-edr',
  'ib-hdr',
  'ib-ndr',
  'ethernet-100g',
  'ethernet-25g',
];
/** Every preset. */
export const LINK_NAMES: readonly LinkPresetName[] = [...INTRA_LINK_NAMES, ...INTER_LINK_NAMES];

/** A link of the cost model. */
export interface LinkPreset {
  /** Its name. */
  readonly name: LinkPresetName;
  /** NCCL's kind of hop: which of its latencies applies. */
  readonly kind: HopKind;
  /** Effective bandwidth one GPU (or one network card) sends at, bytes per second. */
  readonly bandwidth: number;
  /** The vendor's line rate per direction, bytes per second (for reference). */
  readonly lineRate: number;
  /** What the link is, in a few words. */
  readonly description: string;
  /** Where the figures come from. */
  readonly source: string;
}

const GB = 1e9;
const NVLINK_SOURCE =
  'NCCL topo.h SMxx_NVLINK_BW (effective GB/s per link); 25 GB/s line rate per link and direction (NVIDIA datasheets); the 128-byte payload explained in NVIDIA/nccl-tests issue #149';
const PCIE_SOURCE =
  'NCCL topo.cc: bw = lanes x per-lane rate / 80 (8 GT/s -> 60, 16 GT/s -> 120); line rate = GT/s x lanes x 128/130 / 8';
const NET_SOURCE = 'NCCL topo.cc: NIC bw = reported port speed in Mb/s / 8000 GB/s';

/** Every preset, by name. */
export const LINK_PRESETS: Readonly<Record<LinkPresetName, LinkPreset>> = {
  pcie3: {
    name: 'pcie3',
    kind: 'pcie',
    bandwidth: 12 * GB,
    lineRate: 15.75 * GB,
    description: 'PCIe 3.0 x16 between GPUs of a node',
    source: PCIE_SOURCE,
  },
  pcie4: {
    name: 'pcie4',
    kind: 'pcie',
    bandwidth: 24 * GB,
    lineRate: 31.5 * GB,
    description: 'PCIe 4.0 x16 between GPUs of a node',
    source: PCIE_SOURCE,
  },
  'nvlink-v100': {
    name: 'nvlink-v100',
    kind: 'nvlink',
    bandwidth: 6 * 20 * GB,
    lineRate: 6 * 25 * GB,
    description: 'NVLink 2, 6 links per V100 (DGX-1V, DGX-2)',
    source: `V100 SXM2: 6 NVLink 2 links x 20 GB/s effective (SM70_NVLINK_BW); ${NVLINK_SOURCE}`,
  },
  'nvlink-a100': {
    name: 'nvlink-a100',
    kind: 'nvlink',
    bandwidth: 12 * 20 * GB,
    lineRate: 12 * 25 * GB,
    description: 'NVLink 3 through NVSwitch, 12 links per A100 (DGX A100)',
    source: `A100 SXM4: 12 NVLink 3 links x 20 GB/s effective (SM80_NVLINK_BW); ${NVLINK_SOURCE}`,
  },
  'nvlink-h100': {
    name: 'nvlink-h100',
    kind: 'nvlink',
    bandwidth: 18 * 20.6 * GB,
    lineRate: 18 * 25 * GB,
    description: 'NVLink 4 through NVSwitch, 18 links per H100 (DGX H100)',
    source: `H100 SXM5: 18 NVLink 4 links x 20.6 GB/s effective (SM90_NVLINK_BW); ${NVLINK_SOURCE}`,
  },
  'ib-edr': {
    name: 'ib-edr',
    kind: 'net',
    bandwidth: 12.5 * GB,
    lineRate: 12.5 * GB,
    description: 'InfiniBand EDR, 100 Gb/s per card',
    source: `IBTA EDR 4x = 100 Gb/s data rate; ${NET_SOURCE}`,
  },
  'ib-hdr': {
    name: 'ib-hdr',
    kind: 'net',
    bandwidth: 25 * GB,
    lineRate: 25 * GB,
    description: 'InfiniBand HDR, 200 Gb/s per card',
    source: `IBTA HDR 4x = 200 Gb/s data rate; ${NET_SOURCE}`,
  },
  'ib-ndr': {
    name: 'ib-ndr',
    kind: 'net',
    bandwidth: 50 * GB,
    lineRate: 50 * GB,
    description: 'InfiniBand NDR, 400 Gb/s per card',
    source: `IBTA NDR 4x = 400 Gb/s data rate; ${NET_SOURCE}`,
  },
  'ethernet-100g': {
    name: 'ethernet-100g',
    kind: 'net',
    bandwidth: 12.5 * GB,
    lineRate: 12.5 * GB,
    description: '100 Gb Ethernet with RoCE, per card',
    source: `IEEE 802.3 100GBASE: 100 Gb/s; RoCE through NCCL's verbs transport; ${NET_SOURCE}`,
  },
  'ethernet-25g': {
    name: 'ethernet-25g',
    kind: 'net',
    bandwidth: 3.125 * GB,
    lineRate: 3.125 * GB,
    description: '25 Gb Ethernet with RoCE, per card',
    source: `IEEE 802.3 25GBASE: 25 Gb/s; RoCE through NCCL's verbs transport; ${NET_SOURCE}`,
  },
};

/** Names of the flat model of earlier versions, still accepted by `--link`. */
const ALIASES: Readonly<Record<string, LinkPresetName>> = {
  nvlink: 'nvlink-a100',
  pcie: 'pcie4',
  infiniband: 'ib-hdr',
  ethernet: 'ethernet-100g',
};

/** Default link inside a node: a DGX A100-class cluster. */
export const DEFAULT_INTRA: IntraLinkName = 'nvlink-a100';
/** Default link between nodes: HDR InfiniBand, one card per GPU in DGX A100. */
export const DEFAULT_INTER: InterLinkName = 'ib-hdr';

/**
 * The preset of that name (or of an earlier version's name: nvlink, pcie, infiniband, ethernet).
 * @param name a preset name
 * @returns the preset
 * @throws InputError naming the known presets when there is none of that name
 */
export function linkPreset(name: string): LinkPreset {
  const resolved = (LINK_NAMES as readonly string[]).includes(name) ? (name as LinkPresetName) : ALIASES[name];
  if (resolved === undefined) throw new InputError(`unknown link '${name}' (${LINK_NAMES.join(', ')})`);
  return LINK_PRESETS[resolved];
}
