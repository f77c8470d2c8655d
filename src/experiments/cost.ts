/**
 * `cost`: what sync BN's communication costs per training iteration on W devices, by the
 * alpha-beta-gamma model of src/collectives/cost-model.ts, for the BN layers of a real network.
 * Pure and fast: no threads, returns plain data; src/cli/cost-command.ts prints it.
 *
 * Per training iteration every BN layer all-reduces its partial statistics once in the forward
 * pass (twice with two-pass statistics) and once in the backward pass. Two figures per (W,
 * algorithm):
 *   seconds        one all-reduce per layer and pass, one after another: what sync BN does.
 *   seconds_fused  one fused all-reduce of all layers' forward statistics and one of all their
 *                  backward statistics. No sequential network can do this: each layer's forward
 *                  needs the normalized output of the layer before it, and each layer's backward
 *                  needs the gradient from the layer after it, so its statistics exist only once
 *                  the previous all-reduce is done. The fused figure is a lower bound, showing how
 *                  much of the cost is latency (unlike DDP's gradient all-reduce, which is off the
 *                  critical path and is fused into buckets).
 * Computation and communication are not overlapped, and every pair of devices is joined by the
 * same link (see the assumptions in cost-model.ts).
 */
import type { StatsMethod } from '../bn/batch-moments.js';
import { FLAT_ALGORITHM_NAMES, type FlatAlgorithmName } from '../collectives/cost-model.js';
import { type LinkParameters, costLine, crossoverBytes, fastestBySize, trafficOf } from '../collectives/cost-model.js';
import { DEFAULT_LINK, type LinkPresetName, linkPreset } from '../collectives/link-presets.js';
import { requireInput } from '../errors.js';
import { checkCostOptions } from './option-checks.js';

/** W = 2, 4, 8, ..., 4096. */
export const DEFAULT_COST_DEVICES: readonly number[] = Array.from({ length: 12 }, (_, i) => 2 ** (i + 1));
/** Largest W the model accepts (2^20): far beyond any real job, still exact in doubles for counts. */
export const MAX_COST_DEVICES = 1_048_576;
/** Largest channel count of one layer. */
export const MAX_LAYER_CHANNELS = 1 << 24;

/** The built-in networks of the flat model. */
export type NetworkName = 'resnet50';
/** Every built-in network, as `--network` spells it. */
export const NETWORK_NAMES: readonly NetworkName[] = ['resnet50'];

/**
 * The BatchNorm2d layers of torchvision's ResNet-50 in module order: the stem's BN (64), then per
 * bottleneck block of width w its three BNs (w, w, 4w), and in the first block of each stage the
 * downsample path's BN (4w); stages of w = 64, 128, 256, 512 with 3, 4, 6, 3 blocks. 53 layers,
 * 26,560 channels (53,120 affine parameters).
 */
function resnet50Channels(): number[] {
  const channels = [64];
  const stages: [number, number][] = [
    [64, 3],
    [128, 4],
    [256, 6],
    [512, 3],
  ];
  for (const [w, blocks] of stages) {
    for (let b = 0; b < blocks; b++) {
      channels.push(w, w, 4 * w);
      if (b === 0) channels.push(4 * w);
    }
  }
  return channels;
}

/** The built-in networks: what they are and their BN layers' channels. */
export const NETWORKS: Readonly<
  Record<NetworkName, { readonly description: string; readonly channels: readonly number[] }>
> = {
  resnet50: { description: "torchvision ResNet-50's BatchNorm2d layers", channels: resnet50Channels() },
};

/**
 * The vectors (in values) one BN layer of C channels all-reduces per training iteration, as the
 * simulator packs them (src/bn/packed.ts):
 *   sums, shifted-sums  forward [count, sum x, sum x^2]: 2C+1
 *   welford             forward (n, mean, M2) per channel: 3C
 *   two-pass            forward [count, sum x]: C+1, then [sum (x-mean)^2]: C
 *   backward, always    [count, sum dy, sum dy*xhat]: 2C+1
 * @param channels - C.
 * @param stats - the statistics method.
 * @returns the forward vectors (one per round) and the backward one, in values.
 */
export function bnAllReduceValues(channels: number, stats: StatsMethod): { forward: number[]; backward: number[] } {
  const C = channels;
  const backward = [2 * C + 1];
  switch (stats) {
    case 'sums':
    case 'shifted-sums':
      return { forward: [2 * C + 1], backward };
    case 'welford':
      return { forward: [3 * C], backward };
    case 'two-pass':
      return { forward: [C + 1, C], backward };
  }
}

const COST_STATS: readonly StatsMethod[] = ['sums', 'welford', 'two-pass', 'shifted-sums'];

/** What `costModel` projects. */
export interface CostOptions {
  /** Device counts W; default 2, 4, ..., 4096. */
  readonly devices?: readonly number[];
  /** Link preset; default 'infiniband' (see DEFAULT_LINK). */
  readonly link?: LinkPresetName;
  /** Override the preset's alpha (s), beta (s/byte) or gamma (s/byte). */
  readonly alpha?: number;
  /** Override of the preset's beta, seconds per byte. */
  readonly beta?: number;
  /** Override of the preset's gamma, seconds per byte. */
  readonly gamma?: number;
  /** A built-in network (default 'resnet50'); exclusive with `channels`. */
  readonly network?: NetworkName;
  /** Channels of each BN layer of any other network, in order. */
  readonly channels?: readonly number[];
  /** How partial statistics are sent; default 'sums'. */
  readonly stats?: StatsMethod;
  /** Bytes of one value on the wire; default 4 (float32, what GPUs send). */
  readonly bytesPerValue?: 4 | 8;
  /** Default all five. */
  readonly algorithms?: readonly FlatAlgorithmName[];
}

/** One algorithm at one W. */
export interface CostRow {
  /** W. */
  readonly devices: number;
  /** The algorithm. */
  readonly algorithm: FlatAlgorithmName;
  /** Seconds of sync-BN communication per training iteration, one all-reduce per layer and pass. */
  readonly seconds: number;
  /** Seconds with one fused all-reduce per pass (and per round): a lower bound, see above. */
  readonly seconds_fused: number;
  /** Share of `seconds` that is message latency (alpha terms). */
  readonly latency_fraction: number;
  /** Messages and bytes all devices send per iteration, per-layer all-reduces (as the simulator counts). */
  readonly messages: number;
  /** Bytes all devices send per iteration. */
  readonly bytes: number;
  /** Messages with fused all-reduces (the bytes are the same: every algorithm's are linear in the size). */
  readonly messages_fused: number;
  /** All-reduces per iteration, per layer and pass. */
  readonly all_reduces: number;
  /** BN layers. */
  readonly layers: number;
  /** Values each device contributes per iteration, forward and backward. */
  readonly values_per_iteration: number;
}

/** The message size at which one algorithm overtakes another, at one W. */
export interface CostCrossover {
  /** W. */
  readonly devices: number;
  /** Faster for smaller messages. */
  readonly faster_below: FlatAlgorithmName;
  /** Faster for larger messages. */
  readonly faster_above: FlatAlgorithmName;
  /** Where they cross, bytes. */
  readonly bytes: number;
  /** The same in values. */
  readonly values: number;
  /** How many of the network's per-layer all-reduces per iteration are larger (context). */
  readonly network_all_reduces_above: number;
}

/** The fastest algorithm at every message size, at one W. */
export interface CostFastestBySize {
  /** W. */
  readonly devices: number;
  /** Stretches of sizes with their fastest algorithms (to_bytes null: to every larger size). */
  readonly segments: readonly {
    /** The fastest over the stretch (several when they tie). */
    readonly algorithms: readonly FlatAlgorithmName[];
    /** Where the stretch starts, in bytes. */
    readonly from_bytes: number;
    /** Where it ends, in bytes; null: it goes on to every larger size. */
    readonly to_bytes: number | null;
  }[];
}

/** The fastest algorithm for the network's whole iteration, at one W. */
export interface CostFastest {
  /** W. */
  readonly devices: number;
  /** The fastest with one all-reduce per layer (several when they tie). */
  readonly algorithms: readonly FlatAlgorithmName[];
  /** Their seconds per iteration. */
  readonly seconds: number;
  /** The fastest with fused all-reduces (several when they tie). */
  readonly algorithms_fused: readonly FlatAlgorithmName[];
  /** Their seconds per iteration. */
  readonly seconds_fused: number;
}

/** What the flat model projects (its JSON as printed: snake_case, as it was before the report convention). */
export interface CostReport {
  /** One row per W and algorithm. */
  readonly rows: CostRow[];
  /** Message sizes where one algorithm overtakes another. */
  readonly crossovers: CostCrossover[];
  /** The fastest algorithm at every size, per W. */
  readonly fastest_by_size: CostFastestBySize[];
  /** The fastest for the network's iteration, per W. */
  readonly fastest: CostFastest[];
  /** The link and where its figures come from. */
  readonly link: {
    /** The preset, or 'custom' when every parameter was given. */
    readonly name: LinkPresetName | 'custom';
    /** Seconds of latency per message. */
    readonly alpha: number;
    /** Seconds per byte sent. */
    readonly beta: number;
    /** Seconds per byte reduced. */
    readonly gamma: number;
    /** Parameters set by the caller instead of taken from the preset. */
    readonly overridden: readonly ('alpha' | 'beta' | 'gamma')[];
    /** What the link is. */
    readonly description: string;
    /** Where its figures come from. */
    readonly source: string;
  };
  /** The network's BN layers and what they all-reduce. */
  readonly network: {
    /** The preset, or 'custom' for --channels. */
    readonly name: NetworkName | 'custom';
    /** What the network is. */
    readonly description: string;
    /** BN layers. */
    readonly layers: number;
    /** Channels summed over the BN layers. */
    readonly channels_total: number;
    /** Channels of each BN layer, in order. */
    readonly channels: readonly number[];
    /** Per-layer all-reduces in one iteration (forward and backward). */
    readonly all_reduces_per_iteration: number;
    /** Values those all-reduces carry in one iteration. */
    readonly values_per_iteration: number;
    /** Sizes of the per-layer all-reduces of one iteration, each with how often it occurs. */
    readonly message_sizes: readonly {
      /** Bytes of one all-reduce. */
      readonly bytes: number;
      /** How many of that size. */
      readonly count: number;
    }[];
    /** Sizes of the fused all-reduces of one iteration (forward round(s), then backward). */
    readonly fused_message_bytes: readonly number[];
  };
  /** The settings used. */
  readonly settings: {
    /** The statistics method, which sets the values per layer. */
    readonly stats: StatsMethod;
    /** 4 (float32) or 8 (float64). */
    readonly bytes_per_value: number;
    /** The algorithms compared. */
    readonly algorithms: readonly FlatAlgorithmName[];
    /** The device counts. */
    readonly devices: readonly number[];
  };
  /** The model's assumptions, in a sentence. */
  readonly model: string;
}

const MODEL =
  'alpha-beta-gamma model of Thakur, Rabenseifner and Gropp (2005), critical path, flat full-duplex network without contention, ' +
  'no overlap of computation and communication; "fused" is a lower bound no sequential network reaches';

function resolveLink(options: CostOptions): CostReport['link'] {
  const preset = linkPreset(options.link ?? DEFAULT_LINK);
  const overridden = (['alpha', 'beta', 'gamma'] as const).filter((k) => options[k] !== undefined);
  const link: LinkParameters = {
    alpha: options.alpha ?? preset.alpha,
    beta: options.beta ?? preset.beta,
    gamma: options.gamma ?? preset.gamma,
  };
  for (const key of ['alpha', 'beta', 'gamma'] as const) {
    const v = link[key];
    requireInput(
      Number.isFinite(v) && v >= 0,
      () => `${key} must be a finite number >= 0 (seconds${key === 'alpha' ? '' : ' per byte'}), got ${v}`,
    );
  }
  const custom = overridden.length === 3;
  return {
    name: custom ? 'custom' : preset.name,
    ...link,
    overridden,
    description: custom
      ? 'custom link'
      : preset.description + (overridden.length > 0 ? ` (${overridden.join(', ')} set by the user)` : ''),
    source: custom
      ? 'alpha, beta and gamma set by the user'
      : (overridden.length > 0 ? `${overridden.join(', ')} set by the user; otherwise ` : '') + preset.source,
  };
}

function resolveChannels(options: CostOptions): {
  name: NetworkName | 'custom';
  description: string;
  channels: number[];
} {
  requireInput(
    !(options.network !== undefined && options.channels !== undefined),
    'give either a network or a list of channels, not both',
  );
  if (options.channels !== undefined) {
    const channels = [...options.channels];
    requireInput(channels.length > 0, 'channels: empty list');
    for (const c of channels) {
      requireInput(
        Number.isSafeInteger(c) && c >= 1 && c <= MAX_LAYER_CHANNELS,
        () => `channels must be whole numbers from 1 to ${MAX_LAYER_CHANNELS}, got ${c}`,
      );
    }
    return { name: 'custom', description: `${channels.length} BN layers given by the user`, channels };
  }
  const name = options.network ?? 'resnet50';
  requireInput(NETWORK_NAMES.includes(name), () => `unknown network '${name}' (${NETWORK_NAMES.join(', ')})`);
  return { name, description: NETWORKS[name].description, channels: [...NETWORKS[name].channels] };
}

/** Most device counts one model run projects (each gets a row per algorithm and a crossover search). */
export const MAX_COST_DEVICE_COUNTS = 1024;

function resolveDevices(devices: readonly number[] | undefined): number[] {
  const list = devices ?? DEFAULT_COST_DEVICES;
  requireInput(list.length > 0, 'devices: empty list');
  requireInput(
    list.length <= MAX_COST_DEVICE_COUNTS,
    () => `devices: ${list.length} device counts; the limit is ${MAX_COST_DEVICE_COUNTS}`,
  );
  for (const W of list) {
    requireInput(
      Number.isSafeInteger(W) && W >= 1 && W <= MAX_COST_DEVICES,
      () => `devices must be whole numbers from 1 to ${MAX_COST_DEVICES}, got ${W}`,
    );
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

function resolveAlgorithms(algorithms: readonly FlatAlgorithmName[] | undefined): FlatAlgorithmName[] {
  const list = algorithms ?? FLAT_ALGORITHM_NAMES;
  requireInput(list.length > 0, 'algorithms: empty list');
  for (const a of list)
    requireInput(
      FLAT_ALGORITHM_NAMES.includes(a),
      () => `unknown algorithm '${a}' (${FLAT_ALGORITHM_NAMES.join(', ')})`,
    );
  // Keep the canonical order, without repeats.
  return FLAT_ALGORITHM_NAMES.filter((a) => list.includes(a));
}

/** Equal up to rounding: the same formula reached by different sums. */
function tied(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b));
}

/**
 * Projects sync-BN communication per training iteration for every W and algorithm.
 * @param options - devices, link, network, statistics, algorithms.
 * @returns rows, crossovers, fastest algorithms, and what the projection assumed.
 * @throws {@link syncbn-sim!InputError} when an option is unusable.
 */
export function costModel(options: CostOptions = {}): CostReport {
  checkCostOptions(options);
  const devices = resolveDevices(options.devices);
  const algorithms = resolveAlgorithms(options.algorithms);
  const link = resolveLink(options);
  const net = resolveChannels(options);
  const stats = options.stats ?? 'sums';
  requireInput(COST_STATS.includes(stats), () => `unknown statistics method '${stats}' (${COST_STATS.join(', ')})`);
  const bpv = options.bytesPerValue ?? 4;
  requireInput(bpv === 4 || bpv === 8, () => `bytes per value must be 4 or 8, got ${bpv}`);

  // The all-reduces of one iteration, in values: per layer and pass, and fused per pass and round.
  const perLayer: number[] = [];
  const forwardRounds: number[] = [];
  const backwardRounds: number[] = [];
  for (const C of net.channels) {
    const v = bnAllReduceValues(C, stats);
    for (const [round, n] of v.forward.entries()) forwardRounds[round] = (forwardRounds[round] ?? 0) + n;
    for (const [round, n] of v.backward.entries()) backwardRounds[round] = (backwardRounds[round] ?? 0) + n;
    perLayer.push(...v.forward, ...v.backward);
  }
  const fused = [...forwardRounds, ...backwardRounds];
  const valuesPerIteration = perLayer.reduce((a, b) => a + b, 0);
  const perLayerBytes = perLayer.map((n) => n * bpv);
  const totalBytes = valuesPerIteration * bpv;

  const rows: CostRow[] = [];
  const crossovers: CostCrossover[] = [];
  const fastestBySizeList: CostFastestBySize[] = [];
  const fastest: CostFastest[] = [];
  for (const W of devices) {
    const atW: CostRow[] = [];
    for (const algorithm of algorithms) {
      const line = costLine(algorithm, W, link);
      const latency = perLayer.length * line.latency;
      const seconds = latency + line.perByte * totalBytes;
      const secondsFused = fused.length * line.latency + line.perByte * totalBytes;
      let messages = 0;
      let bytes = 0;
      for (const n of perLayer) {
        const t = trafficOf(algorithm, W, n, bpv);
        messages += t.messages;
        bytes += t.bytes;
      }
      let messagesFused = 0;
      for (const n of fused) messagesFused += trafficOf(algorithm, W, n, bpv).messages;
      const row: CostRow = {
        devices: W,
        algorithm,
        seconds,
        seconds_fused: secondsFused,
        latency_fraction: seconds > 0 ? latency / seconds : 0,
        messages,
        bytes,
        messages_fused: messagesFused,
        all_reduces: perLayer.length,
        layers: net.channels.length,
        values_per_iteration: valuesPerIteration,
      };
      atW.push(row);
      rows.push(row);
    }
    const seconds = Math.min(...atW.map((r) => r.seconds));
    const secondsFused = Math.min(...atW.map((r) => r.seconds_fused));
    fastest.push({
      devices: W,
      algorithms: atW.filter((r) => tied(r.seconds, seconds)).map((r) => r.algorithm),
      seconds,
      algorithms_fused: atW.filter((r) => tied(r.seconds_fused, secondsFused)).map((r) => r.algorithm),
      seconds_fused: secondsFused,
    });

    for (let i = 0; i < algorithms.length; i++) {
      for (let j = i + 1; j < algorithms.length; j++) {
        const [a, b] = [algorithms[i], algorithms[j]];
        const ab = crossoverBytes(a, b, W, link);
        const ba = ab === undefined ? crossoverBytes(b, a, W, link) : undefined;
        const at = ab ?? ba;
        if (at === undefined) continue;
        crossovers.push({
          devices: W,
          faster_below: ab !== undefined ? a : b,
          faster_above: ab !== undefined ? b : a,
          bytes: at,
          values: at / bpv,
          network_all_reduces_above: perLayerBytes.filter((n) => n > at).length,
        });
      }
    }
    fastestBySizeList.push({
      devices: W,
      segments: fastestBySize(algorithms, W, link).map((s) => ({
        algorithms: s.algorithms,
        from_bytes: s.fromBytes,
        to_bytes: s.toBytes ?? null,
      })),
    });
  }

  const sizes = new Map<number, number>();
  for (const n of perLayerBytes) sizes.set(n, (sizes.get(n) ?? 0) + 1);
  return {
    rows,
    crossovers,
    fastest_by_size: fastestBySizeList,
    fastest,
    link,
    network: {
      name: net.name,
      description: net.description,
      layers: net.channels.length,
      channels_total: net.channels.reduce((a, b) => a + b, 0),
      channels: net.channels,
      all_reduces_per_iteration: perLayer.length,
      values_per_iteration: valuesPerIteration,
      message_sizes: [...sizes].sort((a, b) => a[0] - b[0]).map(([bytes, count]) => ({ bytes, count })),
      fused_message_bytes: fused.map((n) => n * bpv),
    },
    settings: { stats, bytes_per_value: bpv, algorithms, devices },
    model: MODEL,
  };
}
