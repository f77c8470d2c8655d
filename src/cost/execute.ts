/**
 * Executes one collective among W simulated devices on the virtual-clock timeline: the
 * simulator's own generators, real data, the machine's links and cards. What the cost model
 * predicts for a collective, this runs.
 */
import type { AlgorithmName } from '../collectives/algorithms/index.js';
import type { AllGatherName } from '../collectives/all-gather.js';
import type { Communicator } from '../collectives/communicator.js';
import type { Program, TrafficCount } from '../collectives/endpoint.js';
import { type Reducer, float32Sum, float64Sum } from '../collectives/reducers.js';
import { type CallCosts, Timeline } from '../collectives/timeline.js';
import { type ModelMachine, allGatherGenerator, allReduceGenerator } from './schedule-model.js';

/** What an executed collective took. */
export interface Executed {
  /** When the last device ended, seconds from a common start. */
  readonly seconds: number;
  /** When each device ended. */
  readonly ends: Float64Array;
  /** Messages and bytes sent, counted as the threaded cluster counts them. */
  readonly traffic: TrafficCount;
  /** Every device's vector after the call (all-reduce: the sums; all-gather: all blocks). */
  readonly outputs: Float64Array[];
}

/**
 * A device's input for tests and runs: small whole numbers, so sums are exact in any order.
 * @param rank - the device.
 * @param values - length.
 * @returns the vector.
 */
export function sampleVector(rank: number, values: number): Float64Array {
  return Float64Array.from({ length: values }, (_, i) => ((rank * 31 + i * 7) % 97) - 40);
}

/**
 * One all-reduce of `values` values among `devices` devices (one communicator of all of them).
 * @param algorithm the algorithm
 * @param machine node size, cards, reduction cost
 * @param costs launch and hop costs
 * @param devices W
 * @param values values per device
 * @param bytesPerValue 4 (float32 sums) or 8 (float64)
 * @param starts when each device reaches the call (default all at 0)
 * @returns times, traffic and results
 */
export function executeAllReduce(
  algorithm: AlgorithmName,
  machine: ModelMachine,
  costs: CallCosts,
  devices: number,
  values: number,
  bytesPerValue: 4 | 8 = 4,
  starts?: ArrayLike<number>,
): Executed {
  const comm: Communicator = { first: 0, size: devices };
  const generator = allReduceGenerator(algorithm, machine, comm);
  const reducer: Reducer = bytesPerValue === 4 ? float32Sum : float64Sum;
  const timeline = new Timeline({
    devices,
    nodeSize: machine.nodeSize,
    nicsPerNode: machine.nics,
    gamma: machine.gamma,
  });
  const outputs = Array.from({ length: devices }, (_, r) => sampleVector(r, values));
  for (let r = 0; r < devices; r++) {
    timeline.start(r, timeline.allReduce(r, comm, generator, outputs[r], reducer, costs), starts?.[r] ?? 0);
  }
  const ends = timeline.run();
  return { seconds: ends.reduce((a, b) => Math.max(a, b), 0), ends, traffic: { ...timeline.traffic }, outputs };
}

/**
 * One all-gather of `blockValues` values per device among `devices` devices.
 * @param algorithm ring or direct
 * @param machine node size, cards
 * @param costs launch and hop costs
 * @param devices W
 * @param blockValues values each device contributes
 * @param bytesPerValue bytes per value on the wire
 * @returns times, traffic and every device's gathered blocks
 */
export function executeAllGather(
  algorithm: AllGatherName,
  machine: ModelMachine,
  costs: CallCosts,
  devices: number,
  blockValues: number,
  bytesPerValue: 4 | 8 = 4,
): Executed {
  const comm: Communicator = { first: 0, size: devices };
  const generator = allGatherGenerator(algorithm, machine, comm);
  const timeline = new Timeline({
    devices,
    nodeSize: machine.nodeSize,
    nicsPerNode: machine.nics,
    gamma: machine.gamma,
  });
  const outputs = Array.from({ length: devices }, (_, r) => {
    const blocks = new Float64Array(devices * blockValues).fill(Number.NaN);
    blocks.set(sampleVector(r, blockValues), r * blockValues);
    return blocks;
  });
  for (let r = 0; r < devices; r++) {
    const program: Program = timeline.allGather(r, comm, generator, outputs[r], blockValues, bytesPerValue, costs);
    timeline.start(r, program);
  }
  const ends = timeline.run();
  return { seconds: ends.reduce((a, b) => Math.max(a, b), 0), ends, traffic: { ...timeline.traffic }, outputs };
}
