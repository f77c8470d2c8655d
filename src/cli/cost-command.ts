/**
 * `syncbn-sim cost`: the alpha-beta-gamma model of sync BN's communication per training iteration
 * (src/experiments/cost.ts) for W devices, every all-reduce algorithm, a link preset or your own
 * alpha, beta and gamma, and the BN layers of ResNet-50 or any list of channels.
 */
import { type Command, Option } from 'commander';
import { STATS_METHODS, type StatsMethod } from '../bn/batch-moments.js';
import { FLAT_ALGORITHM_NAMES, type FlatAlgorithmName } from '../collectives/cost-model.js';
import { DEFAULT_LINK, LINK_NAMES, type LinkPresetName, linkPreset } from '../collectives/link-presets.js';
import { InputError } from '../errors.js';
import { DEFAULT_INTER, DEFAULT_INTRA } from '../cost/links.js';
import { MAX_NODES } from '../cost/topology.js';
import {
  DEFAULT_COST_DEVICES,
  MAX_COST_DEVICES,
  MAX_LAYER_CHANNELS,
  NETWORK_NAMES,
  type NetworkName,
  costModel,
} from '../experiments/cost.js';
import { costPlot } from '../report/plots/cost-plot.js';
import { GPU_NAMES, MODEL_NAMES } from '../cost/networks.js';
import { BN_PATTERNS } from '../cost/bn-patterns.js';
import { COLLECTIVE_KINDS } from '../cost/collective-table.js';
import { LINK_NAMES as CLUSTER_LINK_NAMES } from '../cost/links.js';
import {
  CLUSTER_ONLY_FLAGS,
  type ClusterCostFlags,
  FLAT_ONLY_FLAGS,
  runCollective,
  runIteration,
} from './cost-topology.js';
import { costTables } from '../report/tables/cost-table.js';
import {
  listOf,
  nonNegativeNumber,
  oneOf,
  parseSeed,
  parseStraggler,
  positiveNumber,
  wholeNumberFrom,
} from './parse.js';
import { type ReportFlags, addReportOptions, checkReportFlags, emitReport, writePlotOutputs } from './report-output.js';

interface CostFlags extends ReportFlags, Omit<ClusterCostFlags, 'devices' | 'link' | 'gamma' | 'channels'> {
  devices: number[];
  link: string;
  alpha?: number;
  beta?: number;
  gamma?: number;
  network?: NetworkName;
  channels?: number[];
  stats: StatsMethod;
  bytesPerValue: 4 | 8;
  algorithms: FlatAlgorithmName[];
}

/** Comma-separated whole numbers from `min` to `max`; every refusal names the flag. */
function wholeNumberList(flag: string, min: number, max: number) {
  return (value: string): number[] => {
    if (value.trim() === '') throw new InputError(`${flag}: empty list`);
    return value.split(',').map((part) => {
      const p = part.trim();
      if (p === '') throw new InputError(`${flag}: empty item in '${value}'`);
      if (!/^\d+$/.test(p)) throw new InputError(`${flag}: '${p}' is not a whole number`);
      const n = Number(p);
      if (!Number.isSafeInteger(n) || n < min || n > max)
        throw new InputError(`${flag}: ${p} is out of range (${min} to ${max})`);
      return n;
    });
  };
}

function nonNegativeSeconds(flag: string, unit: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0)
      throw new InputError(`${flag} must be a number >= 0 (${unit}), got '${value}'`);
    return n;
  };
}

function oneOfFlag<T extends string>(flag: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value))
      throw new InputError(`${flag}: unknown value '${value}' (${choices.join(', ')})`);
    return value as T;
  };
}

function parseLink(value: string): LinkPresetName {
  try {
    return linkPreset(value).name;
  } catch (error) {
    throw error instanceof InputError ? new InputError(`--link: ${error.message}`) : error;
  }
}

function parseAlgorithms(value: string): FlatAlgorithmName[] {
  if (value.trim() === '') throw new InputError('--algorithms: empty list');
  const parse = oneOfFlag('--algorithms', FLAT_ALGORITHM_NAMES);
  return value.split(',').map((a) => parse(a.trim()));
}

function parseBytesPerValue(value: string): 4 | 8 {
  if (value !== '4' && value !== '8')
    throw new InputError(`--bytes-per-value must be 4 (float32) or 8 (float64), got '${value}'`);
  return Number(value) as 4 | 8;
}

/**
 * Adds `syncbn-sim cost`: the flat model by default, `--collective` and `--model` on a cluster.
 * @param program - the CLI program.
 */
export function addCostCommand(program: Command): void {
  const command = program
    .command('cost')
    .description(
      'what sync BN costs: a flat alpha-beta-gamma model per W (default), one collective on a cluster (--collective), or a whole training iteration per BN mode (--model)',
    )
    .addOption(
      new Option('--devices <list>', `device counts W, comma-separated (1 to ${MAX_COST_DEVICES})`)
        .argParser(wholeNumberList('--devices', 1, MAX_COST_DEVICES))
        .default([...DEFAULT_COST_DEVICES], '2,4,8,...,4096'),
    )
    .option(
      '--link <name>',
      `link preset of the flat model: ${LINK_NAMES.join(', ')}; with --collective or --model, a flat network of one --devices count over ${CLUSTER_LINK_NAMES.join(', ')}`,
      DEFAULT_LINK,
    )
    .option(
      '--alpha <seconds>',
      "latency per message, overrides the preset's",
      nonNegativeSeconds('--alpha', 'seconds'),
    )
    .option(
      '--beta <seconds-per-byte>',
      "transfer time per byte (1/bandwidth), overrides the preset's",
      nonNegativeSeconds('--beta', 'seconds per byte'),
    )
    .option(
      '--gamma <seconds-per-byte>',
      "reduction time per byte, overrides the preset's",
      nonNegativeSeconds('--gamma', 'seconds per byte'),
    )
    .option(
      '--network <name>',
      `built-in network whose BN layers are modelled: ${NETWORK_NAMES.join(', ')} (default: resnet50)`,
      oneOfFlag('--network', NETWORK_NAMES),
    )
    .option(
      '--channels <list>',
      'channels of each BN layer of your own network, comma-separated (instead of --network)',
      wholeNumberList('--channels', 1, MAX_LAYER_CHANNELS),
    )
    .option(
      '--stats <method>',
      `statistics sent: ${STATS_METHODS.join(', ')}`,
      oneOfFlag('--stats', STATS_METHODS),
      'sums',
    )
    .option(
      '--bytes-per-value <n>',
      'bytes of one value on the wire: 4 (float32, what GPUs send) or 8',
      parseBytesPerValue,
      4,
    )
    .addOption(
      new Option('--algorithms <list>', `all-reduce algorithms, comma-separated: ${FLAT_ALGORITHM_NAMES.join(', ')}`)
        .argParser(parseAlgorithms)
        .default([...FLAT_ALGORITHM_NAMES], 'all five'),
    )
    .option(
      '--collective <kind>',
      `one collective on a cluster, every algorithm and NCCL protocol: ${COLLECTIVE_KINDS.join(', ')}`,
      oneOf('--collective', COLLECTIVE_KINDS),
    )
    .option(
      '--bytes <n>',
      'size of the collective, as nccl-tests counts it (float32 values)',
      wholeNumberFrom('--bytes', 1),
    )
    .option(
      '--model <name>',
      `a whole training iteration of a network: ${MODEL_NAMES.join(', ')}`,
      oneOf('--model', MODEL_NAMES),
    )
    .option('--params <n>', 'parameters of your own network (with --channels)', wholeNumberFrom('--params', 0))
    .option('--per-gpu-batch <b>', 'images per GPU per iteration', wholeNumberFrom('--per-gpu-batch', 1))
    .option(
      '--gpu <name>',
      `measured training throughput: ${GPU_NAMES.join(', ')} (default a100)`,
      oneOf('--gpu', GPU_NAMES),
    )
    .option(
      '--step-ms <ms>',
      'your measured compute per iteration, milliseconds (instead of --gpu)',
      positiveNumber('--step-ms'),
    )
    .option(
      '--pattern <name>',
      `the BN collectives of: ${BN_PATTERNS.join(', ')} (default pytorch)`,
      oneOf('--pattern', BN_PATTERNS),
    )
    .option(
      '--bn <list>',
      'BN modes: sync, group:K, local (default sync,group:G,local)',
      listOf('--bn', (m) => m),
    )
    .option(
      '--nodes <list>',
      'nodes N, comma-separated (W = N x G; default 1 for --collective, 32 for --model)',
      wholeNumberList('--nodes', 1, MAX_NODES),
    )
    .option('--gpus-per-node <G>', 'GPUs per node (default 8)', wholeNumberFrom('--gpus-per-node', 1))
    .option(
      '--nics-per-node <K>',
      'network cards per node, shared by its GPUs (default one per GPU)',
      wholeNumberFrom('--nics-per-node', 1),
    )
    .option('--intra <name>', `link between GPUs of a node (default ${DEFAULT_INTRA})`)
    .option('--inter <name>', `link between nodes (default ${DEFAULT_INTER})`)
    .option(
      '--intra-alpha <seconds>',
      "latency per hop inside a node, replacing NCCL's for every protocol",
      nonNegativeNumber('--intra-alpha'),
    )
    .option(
      '--intra-beta <seconds-per-byte>',
      'seconds per byte inside a node (1/bandwidth)',
      positiveNumber('--intra-beta'),
    )
    .option(
      '--inter-alpha <seconds>',
      "latency per hop between nodes, replacing NCCL's for every protocol",
      nonNegativeNumber('--inter-alpha'),
    )
    .option(
      '--inter-beta <seconds-per-byte>',
      'seconds per byte between nodes (1/bandwidth)',
      positiveNumber('--inter-beta'),
    )
    .option('--simulate', 'also execute the BN collectives among the W simulated devices on a virtual clock')
    .option(
      '--jitter-ms <ms>',
      'with --simulate: each device computes up to this much longer (seeded uniform) before every BN call',
      nonNegativeNumber('--jitter-ms'),
    )
    .option('--straggler <rank:ms>', 'with --simulate: one device this much slower per iteration', parseStraggler)
    .option('--seed <n>', 'with --simulate: seed of the jitter (default 0)', parseSeed);
  addReportOptions(command).action(async (flags: CostFlags) => {
    const typed = (name: string) => command.getOptionValueSource(name) === 'cli';
    const cluster =
      flags.collective !== undefined || flags.model !== undefined || typed('perGpuBatch') || typed('params');
    const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (cluster) {
      const stray = FLAT_ONLY_FLAGS.find(typed);
      if (stray)
        throw new InputError(
          `${flag(stray)} belongs to the flat model; with --collective or --model give the cluster's flags (see syncbn-sim cost --help)`,
        );
      if (flags.collective !== undefined && flags.model !== undefined)
        throw new InputError('--collective and --model exclude each other: give one');
      const own: ClusterCostFlags = {
        ...flags,
        link: typed('link') ? flags.link : undefined,
        devices: typed('devices') ? flags.devices : undefined,
        gamma: typed('gamma') ? flags.gamma : undefined,
        channels: flags.channels,
      };
      if (flags.collective !== undefined) {
        for (const name of [
          'model',
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
          'channels',
        ])
          if (typed(name))
            throw new InputError(
              `${flag(name)} belongs to --model; --collective takes --bytes and the cluster's flags`,
            );
        process.stdout.write(`${runCollective(own)}\n`);
      } else {
        if (typed('bytes')) throw new InputError('--bytes belongs to --collective');
        checkReportFlags(flags);
        const { text, table, plot } = runIteration(own);
        const written = await writePlotOutputs(flags, table, plot);
        process.stdout.write(`${text}\n${flags.json ? '' : written.map((line) => `${line}\n`).join('')}`);
      }
      return;
    }
    const stray = CLUSTER_ONLY_FLAGS.find(typed);
    if (stray)
      throw new InputError(
        `${flag(stray)} needs --collective or --model (a cluster); the flat model takes --devices and --link`,
      );
    flags.link = parseLink(flags.link);
    checkReportFlags(flags);
    if (flags.network !== undefined && flags.channels !== undefined)
      throw new InputError('--network and --channels exclude each other: give one');
    const report = costModel({
      devices: flags.devices,
      link: flags.link as LinkPresetName,
      alpha: flags.alpha,
      beta: flags.beta,
      gamma: flags.gamma,
      network: flags.network,
      channels: flags.channels,
      stats: flags.stats,
      bytesPerValue: flags.bytesPerValue,
      algorithms: flags.algorithms,
    });
    await emitReport(
      flags,
      report,
      () => costTables(report),
      () => costPlot(report),
    );
  });
}
