/**
 * `syncbn-sim cost` on a cluster: the flags of nodes, GPUs, cards and links, and the two reports
 * they feed, `--collective` (one collective, every algorithm and protocol) and `--model` (a whole
 * training iteration per BN mode, optionally executed with `--simulate`). Thin: parses, calls
 * src/cost, prints.
 */
import { InputError } from '../errors.js';
import { BN_PATTERNS, type BnPattern } from '../cost/bn-patterns.js';
import {
  COLLECTIVE_KINDS,
  type CollectiveKind,
  type CollectiveTable,
  collectiveTable,
} from '../cost/collective-table.js';
import { iterationCost } from '../cost/iteration.js';
import { DEFAULT_INTER, DEFAULT_INTRA, INTER_LINK_NAMES, INTRA_LINK_NAMES } from '../cost/links.js';
import {
  GPU_NAMES,
  type GpuName,
  MODELS,
  MODEL_NAMES,
  type ModelName,
  type NetworkFigures,
  computeSeconds,
} from '../cost/networks.js';
import { type Straggler, simulateIteration } from '../cost/simulate.js';
import { MAX_GPUS_PER_NODE, type Topology, flatTopology, makeTopology, resolveLink } from '../cost/topology.js';
import { collectiveJson, iterationDocumentJson } from '../report/json/cost-json.js';
import type { IterationDocument, SimulatedIteration } from '../cost/iteration-document.js';
import type { PlotSpec } from '../report/plot.js';
import { iterationPlot } from '../report/plots/iteration-plot.js';
import { type Cell, formatNumber, formatSeconds, renderTable } from '../report/table.js';
import { iterationTable } from '../report/tables/iteration-table.js';

/** The topology flags, as commander parses them. */
export interface TopologyFlags {
  /** Node counts N (`--nodes`), one report each. */
  nodes?: number[];
  /** GPUs per node G. */
  gpusPerNode?: number;
  /** Network cards per node K. */
  nicsPerNode?: number;
  /** Preset of the link inside a node. */
  intra?: string;
  /** Preset of the link between nodes. */
  inter?: string;
  /** Seconds per hop inside a node, replacing the preset's. */
  intraAlpha?: number;
  /** Seconds per byte inside a node, replacing the preset's. */
  intraBeta?: number;
  /** Seconds per hop between nodes, replacing the preset's. */
  interAlpha?: number;
  /** Seconds per byte between nodes, replacing the preset's. */
  interBeta?: number;
  /** A flat network (`--link` with one `--devices` count). */
  link?: string;
  /** Devices of the flat network of `--link`. */
  devices?: number[];
  /** Seconds per byte reduced. */
  gamma?: number;
}

/** The flags of `--collective` and `--model`. */
export interface ClusterCostFlags extends TopologyFlags {
  /** The collective of `--collective`. */
  collective?: CollectiveKind;
  /** Its size, bytes. */
  bytes?: number;
  /** A built-in network. */
  model?: ModelName;
  /** Channels per BN layer of the user's network. */
  channels?: number[];
  /** Parameters of the user's network. */
  params?: number;
  /** Images per GPU per iteration. */
  perGpuBatch?: number;
  /** GPU preset of measured throughput. */
  gpu?: GpuName;
  /** The user's compute per iteration, milliseconds. */
  stepMs?: number;
  /** The framework's BN traffic. */
  pattern?: BnPattern;
  /** BN modes, as typed. */
  bn?: string[];
  /** Whether to execute the iteration on the timeline. */
  simulate?: boolean;
  /** Largest random extra compute before each call, milliseconds. */
  jitterMs?: number;
  /** One slow device. */
  straggler?: Straggler;
  /** Seed of the jitter. */
  seed?: number;
  /** Print JSON. */
  json?: boolean;
  /** Print CSV (refused: these reports are nested). */
  csv?: boolean;
  /** Where `--plot` draws the figure. */
  plot?: string;
  /** Where `--html` writes its page. */
  html?: string;
}

/** Default nodes of `--model`: 32 nodes of 8 GPUs, the 256 GPUs of the question. */
export const DEFAULT_MODEL_NODES = [32];

/**
 * The topologies the flags describe: one per `--nodes` count (or the one flat network of `--link`).
 * @param f - the flags.
 * @param defaultNodes - nodes when `--nodes` is not given.
 * @returns the topologies, in the order asked.
 * @throws {@link InputError} for contradictory or unusable flags.
 */
export function topologiesOf(f: TopologyFlags, defaultNodes: readonly number[]): Topology[] {
  if (f.link !== undefined) {
    for (const [flag, v] of [
      ['--nodes', f.nodes],
      ['--gpus-per-node', f.gpusPerNode],
      ['--nics-per-node', f.nicsPerNode],
      ['--intra', f.intra],
      ['--inter', f.inter],
    ] as const) {
      if (v !== undefined)
        throw new InputError(`--link (a flat network of --devices devices) and ${flag} exclude each other: give one`);
    }
    if (f.devices === undefined || f.devices.length !== 1)
      throw new InputError('--link with --collective or --model needs one --devices count');
    const link = resolveLink(
      'intra',
      { preset: f.link, alpha: f.intraAlpha ?? f.interAlpha, beta: f.intraBeta ?? f.interBeta },
      f.link,
    );
    return [flatTopology(f.devices[0], link)];
  }
  if (f.devices !== undefined)
    throw new InputError(
      '--devices counts a flat network: with --collective or --model give --nodes and --gpus-per-node (or --link)',
    );
  const intra = resolveLink('intra', { preset: f.intra, alpha: f.intraAlpha, beta: f.intraBeta }, DEFAULT_INTRA);
  const inter = resolveLink('inter', { preset: f.inter, alpha: f.interAlpha, beta: f.interBeta }, DEFAULT_INTER);
  if (intra.kind === 'net')
    throw new InputError(
      `--intra ${f.intra}: a network link (${INTER_LINK_NAMES.join(', ')}) joins nodes; GPUs of a node use ${INTRA_LINK_NAMES.join(', ')}`,
    );
  if (inter.kind !== 'net')
    throw new InputError(
      `--inter ${f.inter}: ${inter.name} joins GPUs of one node; nodes use ${INTER_LINK_NAMES.join(', ')}`,
    );
  const G = f.gpusPerNode ?? 8;
  // Name the flag, not the library argument, when a count is out of the model's range.
  if (G > MAX_GPUS_PER_NODE) throw new InputError(`--gpus-per-node must be at most ${MAX_GPUS_PER_NODE}, got ${G}`);
  if (f.nicsPerNode !== undefined && f.nicsPerNode > MAX_GPUS_PER_NODE)
    throw new InputError(`--nics-per-node must be at most ${MAX_GPUS_PER_NODE}, got ${f.nicsPerNode}`);
  return (f.nodes ?? defaultNodes).map((N) => makeTopology(N, G, f.nicsPerNode, intra, inter));
}

/** Bytes per second in GB/s. */
const gbps = (b: number) => (Number.isFinite(b) ? formatNumber(b / 1e9, 4) : 'inf');

/** What the topology is, in one line. */
function describe(t: Topology): string {
  const links =
    t.nodes > 1
      ? `${t.intra.name} inside nodes, ${t.inter.name} between them, ${t.nicsPerNode} card${t.nicsPerNode > 1 ? 's' : ''} per node`
      : `${t.intra.name}`;
  return `${t.nodes} node${t.nodes > 1 ? 's' : ''} x ${t.gpusPerNode} GPU${t.gpusPerNode > 1 ? 's' : ''} (W = ${t.nodes * t.gpusPerNode}), ${links}`;
}

/**
 * The collective table as terminal text.
 * @param t - the table.
 * @param topology - its cluster.
 * @returns the text.
 */
export function collectiveText(t: CollectiveTable, topology: Topology): string {
  const rows: Cell[][] = t.rows.map((r) => [
    r.algorithm,
    r.protocol,
    formatSeconds(r.seconds),
    gbps(r.algbw),
    gbps(r.busbw),
    r.algorithm === t.best.algorithm && r.protocol === t.best.protocol ? '<- auto' : '',
  ]);
  return [
    `${t.kind} of ${t.bytes} bytes (float32) on ${describe(topology)}.`,
    "Latencies and protocol shares from NCCL's tuning model (src/graph/tuning.cc); busbw as nccl-tests defines it.",
    '',
    renderTable(['algorithm', 'protocol', 'time', 'algbw GB/s', 'busbw GB/s', ''], rows),
    '',
    `auto: ${t.best.algorithm} with ${t.best.protocol}, ${formatSeconds(t.best.seconds)}.`,
  ].join('\n');
}

/**
 * Runs `cost --collective`.
 * @param f - the flags.
 * @returns the text or JSON to print.
 * @throws {@link InputError} for bad flags.
 */
export function runCollective(f: ClusterCostFlags): string {
  if (f.bytes === undefined) throw new InputError('--collective needs --bytes');
  if (f.csv || f.plot || f.html) throw new InputError('--collective prints a table or --json');
  const [topology, ...more] = topologiesOf(f, [1]);
  if (more.length > 0) throw new InputError('--collective takes one --nodes count');
  const table = collectiveTable(topology, f.collective ?? 'all-reduce', f.bytes, f.gamma ?? 0);
  return f.json ? JSON.stringify(collectiveJson(table), null, 2) : collectiveText(table, topology);
}

/** The network of `--model` or `--channels`/`--params`. */
function networkOf(f: ClusterCostFlags): NetworkFigures {
  if (f.model !== undefined && (f.channels !== undefined || f.params !== undefined))
    throw new InputError('--model and --channels/--params exclude each other: give one');
  if (f.model !== undefined) return MODELS[f.model];
  if (f.channels === undefined || f.params === undefined)
    throw new InputError('an iteration needs --model, or --channels and --params for your own network');
  return { name: 'custom', channels: f.channels, params: f.params, source: '--channels and --params' };
}

/**
 * Runs `cost --model` (or `--channels` and `--params`).
 * @param f - the flags.
 * @returns the text or JSON to print, the table (for `--html`) and the figure `--plot` draws.
 * @throws {@link InputError} for bad flags or a simulation too large.
 */
export function runIteration(f: ClusterCostFlags): { text: string; table: () => string; plot: () => PlotSpec } {
  if (f.csv) throw new InputError('--model prints a table or --json (and --plot)');
  if (f.perGpuBatch === undefined) throw new InputError('an iteration needs --per-gpu-batch');
  if (!f.simulate && (f.jitterMs !== undefined || f.straggler !== undefined || f.seed !== undefined))
    throw new InputError('--jitter-ms, --straggler and --seed need --simulate');
  const network = networkOf(f);
  const compute = computeSeconds(network, f.perGpuBatch, f.gpu, f.stepMs);
  const pattern = f.pattern ?? 'pytorch';
  const simulation = f.simulate
    ? { jitterMs: f.jitterMs ?? 0, straggler: f.straggler ?? null, seed: f.seed ?? 0 }
    : undefined;
  const iterations: SimulatedIteration[] = topologiesOf(f, DEFAULT_MODEL_NODES).map((topology) => {
    const modes = f.bn ?? ['sync', `group:${topology.gpusPerNode}`, 'local'];
    const report = iterationCost({
      topology,
      network,
      computeSeconds: compute.seconds,
      pattern,
      modes,
      gamma: f.gamma ?? 0,
    });
    if (!simulation) return report;
    const simulated = (mode: string) =>
      simulateIteration({
        topology,
        channels: network.channels,
        computeSeconds: compute.seconds,
        pattern,
        mode,
        gamma: f.gamma ?? 0,
        jitterSeconds: simulation.jitterMs / 1000,
        straggler: simulation.straggler ?? undefined,
        seed: simulation.seed,
      });
    return { ...report, rows: report.rows.map((row) => ({ ...row, simulated: simulated(row.bn) })) };
  });
  const document: IterationDocument = {
    ...(iterations.length === 1 ? { iteration: iterations[0] } : { sweep: iterations }),
    network: { name: network.name, layers: network.channels.length, params: network.params, source: network.source },
    compute: { seconds: compute.seconds, source: compute.source },
    pattern,
    perGpuBatch: f.perGpuBatch,
    ...(simulation ? { simulation } : {}),
  };
  const table = () => iterationTable(document);
  const plot = () => iterationPlot(document);
  if (!f.json) return { text: table(), table, plot };
  return { text: JSON.stringify(iterationDocumentJson(document), null, 2), table, plot };
}

/** Flags that belong to the cluster reports only. */
export const CLUSTER_ONLY_FLAGS = [
  'nodes',
  'gpusPerNode',
  'nicsPerNode',
  'intra',
  'inter',
  'intraAlpha',
  'intraBeta',
  'interAlpha',
  'interBeta',
  'bytes',
  'params',
  'perGpuBatch',
  'gpu',
  'stepMs',
  'pattern',
  'bn',
  'simulate',
  'jitterMs',
  'straggler',
  'seed',
] as const;
/** Flags of the flat sweep only. */
export const FLAT_ONLY_FLAGS = ['alpha', 'beta', 'network', 'stats', 'bytesPerValue', 'algorithms'] as const;

export { BN_PATTERNS, COLLECTIVE_KINDS, GPU_NAMES, MODEL_NAMES };
