/**
 * What one simulated device does in a step, as a program its thread's scheduler runs beside the
 * programs of the other devices it hosts. Glue only: the maths lives in src/bn and src/collectives.
 * The device reads its shard of the shared batch, talks to its peers through the shared outbox
 * (pausing while it waits), writes its shard of the output and its own block of state, and
 * returns the traffic it sent.
 */
import type { Moments } from '../bn/moments.js';
import { inverseStd } from '../bn/normalize.js';
import { type AllReduceFn, type Network, allReduceAmong } from '../collectives/all-reduce.js';
import { algorithmByName } from '../collectives/algorithms/index.js';
import type { Program, TrafficCount } from '../collectives/endpoint.js';
import { float64Sum } from '../collectives/reducers.js';
import { InternalError, SyncBnError } from '../errors.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import type { Control, Phase } from './control.js';
import {
  type DeviceBnSettings,
  type NormalizedBlock,
  deviceBnBackward,
  deviceBnForward,
  ghostBlocks,
} from '../bn/block-bn.js';
import { syncGroup } from '../bn/modes.js';
import type { DeviceTask, SharedArrayRef } from './protocol.js';
import { RankState, rankStateLayout } from './rank-state.js';
import { shardRows } from '../tensor/sharding.js';

/** The crash a fault injection (`fault: { kind: 'crash', rank }`) asked for, thrown by that device. */
export class InjectedCrashError extends SyncBnError {
  /** Always 'E_INJECTED_CRASH'. */
  override readonly code = 'E_INJECTED_CRASH';
  /** Always 'InjectedCrashError'. */
  override readonly name = 'InjectedCrashError';
}

/** What a device's step program returns. */
export interface DeviceOutcome {
  /** Messages and bytes the device sent in the step. */
  readonly traffic: TrafficCount;
  /** NaN or infinity found in the device's shard (the step still completed). */
  readonly badInput?: string;
  /** For benchmarks: when each repetition ended (ms since the epoch). */
  readonly finishedAt?: number[];
}

interface DeviceContext {
  readonly task: DeviceTask;
  readonly rank: number;
  readonly control: Control;
  readonly network: Network;
  readonly state: RankState;
  readonly layout: ChannelLayout;
  /** Offset of this shard's first element in the batch arrays. */
  readonly offset: number;
  readonly traffic: TrafficCount;
  readonly weight?: Float64Array;
  readonly bias?: Float64Array;
  /** Set when the shard holds NaN or infinity: the step completes, then reports it. */
  badInput?: string;
}

/** This device's rows of a shared batch array. */
function shard(ref: SharedArrayRef | undefined, ctx: DeviceContext): FloatArray {
  if (!ref) throw new InternalError('a batch array this operation needs was not sent');
  const { rows, channels, inner } = ctx.layout;
  const length = rows * channels * inner;
  const start = ref.offset + ctx.offset;
  return ctx.task.settings.dtype === 'float32'
    ? new Float32Array(ref.buffer, start * 4, length)
    : new Float64Array(ref.buffer, start * 8, length);
}

function setup(task: DeviceTask, rank: number, control: Control, network: Network): DeviceContext {
  const { settings, buffers } = task;
  const devices = task.hosting.devices;
  const C = settings.channels;
  const [start, end] = shardRows(settings.rows, devices, rank);
  const params = new Float64Array(buffers.params);
  return {
    task,
    rank,
    control,
    network,
    state: new RankState(new Float64Array(buffers.state), rankStateLayout(C), rank),
    layout: { rows: end - start, channels: C, inner: settings.inner },
    offset: start * C * settings.inner,
    traffic: { messages: 0, bytes: 0 },
    weight: settings.hasWeight ? params.subarray(0, C) : undefined,
    bias: settings.hasBias ? params.subarray(C, 2 * C) : undefined,
  };
}

/** The all-reduce among this device's sync group, or undefined when its mode needs none. */
function allReduceFor(ctx: DeviceContext): AllReduceFn | undefined {
  const { task, rank } = ctx;
  const group = syncGroup(task.settings.mode, rank, task.hosting.devices);
  if (!group) return undefined;
  if (task.fault?.kind === 'skip' && task.fault.rank === rank) {
    return function* neverJoins() {}; // the injected fault: this device skips every collective
  }
  return allReduceAmong(ctx.network, group, rank, algorithmByName(task.settings.algorithm), ctx.traffic);
}

/**
 * Marks the phase the device is in. With `strike`, an injected crash or hang happens here: the
 * forward pass calls it where the device would first talk to its peers (or, with nothing to say,
 * where it starts to normalize). A hang stops the whole thread, as a hung device would stop the
 * process driving it; the control block shows which device it was running.
 */
function enter(ctx: DeviceContext, phase: Phase, strike = false): void {
  ctx.control.setPhase(ctx.rank, phase);
  const fault = ctx.task.fault;
  if (!strike || !fault || fault.rank !== ctx.rank) return;
  if (fault.kind === 'crash') throw new InjectedCrashError(`injected fault: crash on rank ${fault.rank}`);
  if (fault.kind === 'hang') {
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    for (;;) Atomics.wait(sleeper, 0, 0, 50); // until the coordinator terminates this thread
  }
}

function storeMoments(state: RankState, prefix: 'local' | 'used', m: Moments): void {
  state.setScalar(`${prefix}Count`, m.count);
  state.vector(`${prefix}Mean`).set(m.mean);
  state.vector(`${prefix}Var`).set(m.var);
}

/**
 * Notes non-finite values in a shard. They show in its partial statistics (any NaN or infinity
 * makes a sum non-finite), so the element scan runs only when those are already non-finite.
 */
function noteNonFinite(ctx: DeviceContext, data: FloatArray, partial: ArrayLike<number>, name: string): void {
  if (ctx.badInput || Array.prototype.every.call(partial, Number.isFinite)) return;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      ctx.badInput = `${name} contains ${data[i]} at flat index ${ctx.offset + i}`;
      return;
    }
  }
}

/** The settings block-bn needs, from the task's. */
function bnSettings(ctx: DeviceContext): DeviceBnSettings {
  const { mode, stats, accumulator, training, momentum, eps, convention } = ctx.task.settings;
  return { mode, stats, accumulator, training, momentum, eps, convention };
}

function* forward(ctx: DeviceContext): Program<DeviceOutcome> {
  const { state, layout } = ctx;
  const settings = bnSettings(ctx);
  const x = shard(ctx.task.buffers.x, ctx);
  const y = shard(ctx.task.buffers.y, ctx);
  state.setScalar('usedTraining', settings.training ? 1 : 0);
  enter(ctx, 'forward: statistics');
  const shift = state.vector('shift');
  shift.set(state.vector('runningMean'));
  const running = { mean: state.vector('runningMean'), var: state.vector('runningVar') };
  const allReduce = settings.training ? allReduceFor(ctx) : undefined;
  let struck = false;
  const onPhase = (phase: 'all-reduce' | 'normalize') => {
    enter(ctx, phase === 'all-reduce' ? 'forward: all-reduce' : 'forward: normalize', !struck);
    struck = true;
  };
  const result = yield* deviceBnForward(x, layout, y, ctx.weight, ctx.bias, running, shift, settings, allReduce, {
    onPhase,
    localInEval: true,
  });
  const local = result.local!;
  if (layout.rows > 0) noteNonFinite(ctx, x, settings.training ? local.var : local.mean, 'input');
  storeMoments(state, 'local', local);
  storeMoments(state, 'used', result.used);
  state
    .vector('usedInvStd')
    .set(result.blocks[result.blocks.length - 1]?.invStd ?? inverseStd(result.used.var, settings.eps));
  return finish(ctx);
}

function* backward(ctx: DeviceContext): Program<DeviceOutcome> {
  const { state, layout } = ctx;
  const settings = bnSettings(ctx);
  const x = shard(ctx.task.buffers.x, ctx);
  const dy = shard(ctx.task.buffers.dy, ctx);
  const dx = shard(ctx.task.buffers.dx, ctx);
  const training = state.scalar('usedTraining') === 1;
  enter(ctx, 'backward: reductions');
  // The forward ran in another task: its blocks are rebuilt from the state it left.
  const blocks: NormalizedBlock[] =
    training && settings.mode.kind === 'ghost'
      ? ghostBlocks(x, layout, settings.mode.size, settings, state.vector('shift')).map((g) => g.block)
      : [
          {
            start: 0,
            end: layout.rows,
            count: state.scalar('usedCount'),
            mean: state.vector('usedMean'),
            invStd: state.vector('usedInvStd'),
          },
        ];
  const allReduce = training ? allReduceFor(ctx) : undefined;
  const onPhase = () => enter(ctx, 'backward: all-reduce');
  const sums = yield* deviceBnBackward(dy, x, layout, dx, ctx.weight, { blocks, training }, allReduce, onPhase);
  noteNonFinite(ctx, dy, sums.sumDyXhat, 'grad output');
  state.vector('sumDy').set(sums.sumDy);
  state.vector('sumDyXhat').set(sums.sumDyXhat);
  return finish(ctx);
}

/** Runs `reps` all-reduces of `length` values among all devices, noting when each ends. */
function* allreduceBench(ctx: DeviceContext): Program<DeviceOutcome> {
  const { task, rank } = ctx;
  const allReduce = allReduceFor(ctx)!;
  const data = new Float64Array(task.length ?? 1);
  const finishedAt: number[] = [];
  enter(ctx, 'benchmark: all-reduce');
  for (let i = 0; i < (task.reps ?? 1); i++) {
    data.fill(rank + i);
    yield* allReduce(data, float64Sum);
    finishedAt.push(performance.timeOrigin + performance.now());
  }
  return { ...finish(ctx), finishedAt };
}

/** Marks the device idle and says what it sent and found. */
function finish(ctx: DeviceContext): DeviceOutcome {
  ctx.control.setPhase(ctx.rank, 'idle');
  return { traffic: ctx.traffic, badInput: ctx.badInput };
}

/**
 * The step program of device `rank` for a task (the op's own program: no wrapper to resume
 * through).
 *
 * @param task - the step: its op, settings and shared buffers.
 * @param rank - the device.
 * @param control - the control block (phases, abort flag).
 * @param network - the outbox and the thread's router, for the device's collectives.
 * @returns the program, which the thread's scheduler runs beside its other devices' programs.
 */
export function deviceProgram(
  task: DeviceTask,
  rank: number,
  control: Control,
  network: Network,
): Program<DeviceOutcome> {
  const ctx = setup(task, rank, control, network);
  if (task.op === 'forward') return forward(ctx);
  if (task.op === 'backward') return backward(ctx);
  return allreduceBench(ctx);
}
