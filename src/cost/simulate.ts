/**
 * An iteration's BN collectives executed among W simulated devices on the virtual-clock timeline
 * (src/collectives/timeline.ts): the simulator's own generators move real vectors, every message
 * costs the link between the two devices' places, and each device starts a collective when its
 * own compute before it is done.
 *
 * A device computes, before each call, its share of the iteration's compute (the forward's third
 * spread over the forward calls' layers, the backward's two thirds over the backward's), plus:
 *   --jitter-ms J      a seeded uniform random extra in [0, J] ms before every call (and, in local
 *                      mode, before every layer it would have synchronized at);
 *   --straggler R:MS   MS ms more for device R per iteration, spread evenly over its segments.
 * Each call runs the algorithm and protocol the analytic model picks for its size (iteration.ts),
 * among the device's group. The iteration ends when the last device ends (DDP's gradient
 * all-reduce then synchronizes everyone; it is not executed, its vectors are megabytes).
 *
 * Reported: the simulated seconds, the analytic seconds (compute + BN seconds of iteration.ts)
 * and the wait: simulated - analytic - the mean device's extra compute, the time devices spend
 * waiting for slower peers, which no closed formula gives.
 */
import { checkNumber, checkWhole } from '../args.js';
import type { AllGatherName } from '../collectives/all-gather.js';
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import type { Communicator } from '../collectives/communicator.js';
import type { Program } from '../collectives/endpoint.js';
import { float32Sum } from '../collectives/reducers.js';
import { Timeline } from '../collectives/timeline.js';
import { InputError } from '../errors.js';
import { SeededRandom } from '../tensor/random.js';
import { type BnCall, type BnPattern, bnCalls } from './bn-patterns.js';
import { type CollectivePick, WIRE_BYTES } from './collective-table.js';
import { sampleVector } from './execute.js';
import { FORWARD_SHARE, PickCache, callPicks, parseCostMode } from './iteration.js';
import {
  type ModelMachine,
  allGatherGenerator,
  allGatherTraffic,
  allReduceGenerator,
  allReduceTraffic,
  familyOf,
  ringChannelsFor,
} from './schedule-model.js';
import { type Topology, callCosts, devicesOf } from './topology.js';

/** Most messages one simulation may send: a few seconds of this machine's time. */
export const MAX_SIMULATED_MESSAGES = 20_000_000;
/** Most bytes of vectors the simulated devices may hold at once (all-gathers hold W blocks each). */
export const MAX_SIMULATED_BYTES = 2 ** 30;

/** One slow device. */
export interface Straggler {
  /** Its rank. */
  readonly rank: number;
  /** Extra compute per iteration, seconds. */
  readonly seconds: number;
}

/** What a simulation runs. */
export interface SimulateInput {
  /** The cluster. */
  readonly topology: Topology;
  /** BN channels per layer. */
  readonly channels: readonly number[];
  /** Compute seconds per iteration (no jitter). */
  readonly computeSeconds: number;
  /** The framework's pattern. */
  readonly pattern: BnPattern;
  /** The BN mode, as typed. */
  readonly mode: string;
  /** Seconds per byte reduced. */
  readonly gamma?: number;
  /** Largest random extra compute before each call, seconds (default 0). */
  readonly jitterSeconds?: number;
  /** A slow device (default none). */
  readonly straggler?: Straggler;
  /** Seed of the jitter (default 0). */
  readonly seed?: number;
}

/** What a simulation measured. */
export interface SimulateResult {
  /** When the last device ended its iteration, seconds. */
  readonly seconds: number;
  /** The analytic model's compute + BN seconds for the same iteration without jitter. */
  readonly analyticSeconds: number;
  /** seconds - analyticSeconds - the mean device's extra compute. */
  readonly waitSeconds: number;
  /** The mean device's extra compute (jitter and straggler), seconds. */
  readonly extraComputeSeconds: number;
  /** Messages the devices sent. */
  readonly messages: number;
}

/**
 * Messages all devices send for an iteration's BN calls (as the simulator counts them: a post
 * read by k peers is k messages), and the most bytes of vectors they hold at once.
 * @param machine - node size and cards.
 * @param calls - the iteration's calls.
 * @param picks - the algorithm of each call.
 * @param devices - W.
 * @param groupSize - ranks per communicator (K divides W).
 * @returns messages and peak bytes.
 */
export function bnTraffic(
  machine: ModelMachine,
  calls: readonly BnCall[],
  picks: readonly CollectivePick[],
  devices: number,
  groupSize: number,
): { messages: number; peakBytes: number } {
  let messages = 0;
  let peakBytes = 0;
  if (groupSize === 1) return { messages, peakBytes };
  const comm = { first: 0, size: groupSize };
  const channels = ringChannelsFor(machine, comm);
  calls.forEach((c, i) => {
    const algorithm = picks[i].algorithm;
    const t =
      c.kind === 'all-reduce'
        ? allReduceTraffic(algorithm as AlgorithmName, groupSize, c.values, WIRE_BYTES, {
            channels,
            nodeSize: machine.nodeSize,
          })
        : allGatherTraffic(
            algorithm as AllGatherName,
            groupSize,
            c.values,
            WIRE_BYTES,
            algorithm === 'ring' ? channels : 1,
          );
    messages += t.messages * (devices / groupSize);
    peakBytes = Math.max(peakBytes, devices * (c.kind === 'all-gather' ? groupSize * c.values : c.values) * 8);
  });
  return { messages, peakBytes };
}

/** Compute before each call (or layer, in local mode): the forward's and backward's shares. */
function baseSegments(calls: readonly BnCall[], computeSeconds: number): number[] {
  const forwardLayers = new Set(calls.filter((c) => c.pass === 'forward').map((c) => c.layer)).size;
  const backwardLayers = new Set(calls.filter((c) => c.pass === 'backward').map((c) => c.layer)).size;
  const seen = new Set<string>();
  return calls.map((c) => {
    const key = `${c.pass}:${c.layer}`;
    if (seen.has(key)) return 0;
    seen.add(key);
    return c.pass === 'forward'
      ? (computeSeconds * FORWARD_SHARE) / forwardLayers
      : (computeSeconds * (1 - FORWARD_SHARE)) / backwardLayers;
  });
}

/**
 * Runs one iteration's BN collectives among every device of the topology.
 * @param input - topology, network, compute, pattern, mode, jitter and straggler.
 * @returns simulated, analytic and waiting seconds.
 * @throws {@link syncbn-sim!InputError} when the run would exceed MAX_SIMULATED_MESSAGES or MAX_SIMULATED_BYTES, or an argument is unusable.
 */
export function simulateIteration(input: SimulateInput): SimulateResult {
  const { topology } = input;
  const W = devicesOf(topology);
  const gamma = checkNumber('gamma', input.gamma ?? 0, { min: 0 });
  const jitter = checkNumber('jitterSeconds', input.jitterSeconds ?? 0, { min: 0 });
  checkNumber('computeSeconds', input.computeSeconds, { min: 0 });
  const seed = input.seed ?? 0;
  if (input.straggler) {
    checkWhole('straggler.rank', input.straggler.rank, 0);
    if (input.straggler.rank >= W)
      throw new InputError(`--straggler: rank ${input.straggler.rank} is not among the ${W} devices`);
    checkNumber('straggler.seconds', input.straggler.seconds, { min: 0 });
  }
  const mode = parseCostMode(input.mode, W);
  const calls = bnCalls(input.channels, input.pattern);
  const cache = new PickCache(topology, gamma);
  const picks = callPicks(calls, mode, cache);
  const K = mode.groupSize;
  const machine: ModelMachine = { nodeSize: topology.gpusPerNode, nics: topology.nicsPerNode, gamma };

  // Refuse runs that would not finish or not fit, before anything is allocated.
  if (K > 1) {
    const { messages, peakBytes } = bnTraffic(machine, calls, picks, W, K);
    if (messages > MAX_SIMULATED_MESSAGES)
      throw new InputError(
        `--simulate: ${input.mode} with pattern ${input.pattern} on ${W} devices sends ${messages.toExponential(2)} messages, more than the ${MAX_SIMULATED_MESSAGES.toExponential(0)} a simulation may send`,
      );
    if (peakBytes > MAX_SIMULATED_BYTES)
      throw new InputError(
        `--simulate: ${input.mode} with pattern ${input.pattern} on ${W} devices holds ${(peakBytes / 2 ** 20).toFixed(0)} MiB of vectors at once, more than ${MAX_SIMULATED_BYTES / 2 ** 20} MiB`,
      );
  }

  const base = baseSegments(calls, input.computeSeconds);
  const segments = base.filter((s) => s > 0).length;
  const random = new SeededRandom(seed);
  // extra[r * calls + i]: device r's extra compute before call i (drawn in rank order: reproducible).
  const extra = new Float64Array(W * calls.length);
  let extraTotal = 0;
  for (let r = 0; r < W; r++) {
    for (let i = 0; i < calls.length; i++) {
      if (base[i] === 0) continue;
      let e = jitter > 0 ? jitter * random.uniform() : 0;
      if (input.straggler && input.straggler.rank === r) e += input.straggler.seconds / segments;
      extra[r * calls.length + i] = e;
      extraTotal += e;
    }
  }

  const timeline = new Timeline({ devices: W, nodeSize: machine.nodeSize, nicsPerNode: machine.nics, gamma });
  const generators = new Map<string, ReturnType<typeof allReduceGenerator> | ReturnType<typeof allGatherGenerator>>();
  const generatorFor = (i: number, comm: Communicator) => {
    const key = `${i}:${comm.first}`;
    let g = generators.get(key);
    if (!g) {
      const p = picks[i];
      g =
        calls[i].kind === 'all-reduce'
          ? allReduceGenerator(p.algorithm as AlgorithmName, machine, comm)
          : allGatherGenerator(p.algorithm as AllGatherName, machine, comm);
      generators.set(key, g);
    }
    return g;
  };
  const costsOf = picks.map((p, i) =>
    callCosts(topology, calls[i].kind === 'all-reduce' ? familyOf(p.algorithm as AlgorithmName) : 'ring', p.protocol),
  );

  function* device(r: number): Program {
    const comm: Communicator = { first: Math.floor(r / K) * K, size: K };
    for (let i = 0; i < calls.length; i++) {
      timeline.compute(base[i] + extra[r * calls.length + i]);
      if (K === 1) continue;
      const c = calls[i];
      if (c.kind === 'all-reduce') {
        yield* timeline.allReduce(
          r,
          comm,
          generatorFor(i, comm) as ReturnType<typeof allReduceGenerator>,
          sampleVector(r, c.values),
          float32Sum,
          costsOf[i],
        );
      } else {
        const blocks = new Float64Array(K * c.values);
        blocks.set(sampleVector(r, c.values), (r - comm.first) * c.values);
        yield* timeline.allGather(
          r,
          comm,
          generatorFor(i, comm) as ReturnType<typeof allGatherGenerator>,
          blocks,
          c.values,
          WIRE_BYTES,
          costsOf[i],
        );
      }
    }
  }
  for (let r = 0; r < W; r++) timeline.start(r, device(r));
  const ends = timeline.run();
  const seconds = ends.reduce((a, b) => Math.max(a, b), 0);
  const analyticSeconds = input.computeSeconds + picks.reduce((s, p) => s + p.seconds, 0);
  const extraComputeSeconds = extraTotal / W;
  return {
    seconds,
    analyticSeconds,
    waitSeconds: seconds - analyticSeconds - extraComputeSeconds,
    extraComputeSeconds,
    messages: timeline.traffic.messages,
  };
}
