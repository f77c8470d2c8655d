/**
 * Link presets for the alpha-beta-gamma cost model (src/collectives/cost-model.ts).
 *
 * These are nominal or typically published figures, not measurements on this machine (which has
 * no GPU): bandwidths are the vendors' nominal per-direction rates (PCIe: the usual effective
 * rate), latencies are orders of magnitude that microbenchmarks commonly report for a small
 * message between two GPUs. Real systems differ, and a real job crosses several kinds of link
 * (NVLink inside a node, InfiniBand between nodes); the model uses one flat link for every pair.
 * Pass --alpha, --beta and --gamma to model your own hardware.
 *
 * gamma, the same in every preset: reducing BN statistics on a GPU is memory-bound. Merging two
 * vectors reads two operands and writes one, 3 bytes of memory traffic per byte reduced; at the
 * A100 40 GB's 1.555 TB/s of HBM2 that is 3 / 1.555e12 ~ 1.9e-12 s/byte, rounded to 2e-12. (For
 * vectors of a few kB the kernel launch, a few microseconds, dominates; it belongs to alpha.)
 */
import { InputError } from '../errors.js';
import type { LinkParameters } from './cost-model.js';

/** The name of a link preset. */
export type LinkPresetName = 'nvlink' | 'pcie' | 'infiniband' | 'ethernet' | 'ethernet-10g';

/** A preset link: the model's alpha, beta and gamma, and where they come from. */
export interface LinkPreset extends LinkParameters {
  /** Its name. */
  readonly name: LinkPresetName;
  /** What the link is, in a few words. */
  readonly description: string;
  /** Where alpha, beta and gamma come from. */
  readonly source: string;
}

/** Reduction on the GPU, memory-bound: see the module comment. */
const GPU_GAMMA = 2e-12;
const GAMMA_SOURCE =
  'gamma: GPU reduction is memory-bound, 3 bytes of HBM traffic per byte reduced at ~1.5 TB/s (A100) ~ 2e-12 s/B';

/** Every preset, by name (see the module comment for the figures). */
export const LINK_PRESETS: Readonly<Record<LinkPresetName, LinkPreset>> = {
  nvlink: {
    name: 'nvlink',
    description: 'NVLink 3 between A100 GPUs in one node',
    alpha: 2.5e-6,
    beta: 1 / 300e9,
    gamma: GPU_GAMMA,
    source:
      'beta: NVIDIA A100 datasheet, 12 NVLink 3 links, 600 GB/s per GPU both directions = 300 GB/s each way (nominal); ' +
      'alpha: ~2.5 us per step, typical of published small-message figures (CUDA p2pBandwidthLatencyTest ~3 us P2P write ' +
      'on DGX A100; an 8-byte NCCL ring all-reduce over 8 GPUs, 14 steps, in ~34 us, NVIDIA/nccl-tests issue #123); ' +
      GAMMA_SOURCE,
  },
  pcie: {
    name: 'pcie',
    description: 'PCIe 4.0 x16 between GPUs through the host',
    alpha: 5e-6,
    beta: 1 / 25e9,
    gamma: GPU_GAMMA,
    source:
      'beta: PCIe 4.0 x16, 16 GT/s x 16 lanes with 128b/130b coding = 31.5 GB/s each way nominal, ~25 GB/s effective ' +
      'after packet overhead (typical); alpha: ~5 us, a typical GPU-to-GPU small-message latency through a PCIe switch or ' +
      'host bridge (order of magnitude, not measured here); ' +
      GAMMA_SOURCE,
  },
  infiniband: {
    name: 'infiniband',
    description: 'InfiniBand HDR between nodes, GPUDirect RDMA',
    alpha: 5e-6,
    beta: 1 / 25e9,
    gamma: GPU_GAMMA,
    source:
      'beta: InfiniBand HDR, 200 Gb/s = 25 GB/s each way (nominal); alpha: ~5 us per step between GPUs in different ' +
      "nodes, the latency per network hop that NCCL's own tuning model assumes for its tree with the LL protocol " +
      '(src/graph/tuning.cc, quoted in NVIDIA/nccl issue #1334); host-to-host ' +
      'MPI ping-pong (OSU osu_latency) is ~1 us, GPU buffers and the collective library add the rest; ' +
      GAMMA_SOURCE,
  },
  ethernet: {
    name: 'ethernet',
    description: '100 Gigabit Ethernet with TCP',
    alpha: 25e-6,
    beta: 1 / 12.5e9,
    gamma: GPU_GAMMA,
    source:
      'beta: 100GbE, 100 Gb/s = 12.5 GB/s each way (nominal; TCP reaches less); alpha: ~25 us, a typical one-way ' +
      'small-message latency through the kernel TCP stack (netperf TCP_RR round trips of tens of microseconds; order of ' +
      'magnitude, not measured here); ' +
      GAMMA_SOURCE,
  },
  'ethernet-10g': {
    name: 'ethernet-10g',
    description: '10 Gigabit Ethernet with TCP',
    alpha: 50e-6,
    beta: 1 / 1.25e9,
    gamma: GPU_GAMMA,
    source:
      'beta: 10GbE, 10 Gb/s = 1.25 GB/s each way (nominal); alpha: ~50 us, a typical one-way small-message TCP latency ' +
      'on commodity 10GbE with kernel networking (order of magnitude, not measured here); ' +
      GAMMA_SOURCE,
  },
};

/** Every preset name, in the order the CLI lists them. */
export const LINK_NAMES: readonly LinkPresetName[] = ['nvlink', 'pcie', 'infiniband', 'ethernet', 'ethernet-10g'];

/**
 * The default link: InfiniBand. From about 16 devices on, a real job spans several nodes, and a
 * flat model of W devices is bounded by the links between nodes, which in GPU clusters are
 * InfiniBand (NVLink joins only the GPUs of one node or one NVSwitch domain).
 */
export const DEFAULT_LINK: LinkPresetName = 'infiniband';

/**
 * The preset of that name.
 *
 * @param name - one of LINK_NAMES.
 * @returns the preset.
 * @throws {@link InputError} for an unknown name.
 */
export function linkPreset(name: string): LinkPreset {
  if (!(LINK_NAMES as readonly string[]).includes(name))
    throw new InputError(`unknown link '${name}' (${LINK_NAMES.join(', ')})`);
  return LINK_PRESETS[name as LinkPresetName];
}
