/**
 * What one simulated device does in a step, run inside its worker thread. Glue only: the maths
 * lives in src/bn and src/collectives. The device reads its shard of the shared batch, talks to
 * its peers through the shared-memory collective, writes its shard of the output and its own
 * block of state, and replies with the traffic it sent.
 */
import type { Moments } from '../bn/moments.js';
import { inverseStd } from '../bn/normalize.js';
import { algorithmByName } from '../collectives/algorithms/index.js';
import { commViews } from '../collectives/comm-buffer.js';
import { float64Sum } from '../collectives/reducers.js';
import { SharedMemoryTransport, type TrafficCount } from '../collectives/transport.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { ABORT_INDEX, type Phase, markStarted, phaseOf, rankWatcher, setPhase, setTaskState } from './control.js';
import { type DeviceBnSettings, type NormalizedBlock, deviceBnBackward, deviceBnForward, ghostBlocks } from './device-bn.js';
import type { AllReduceFn } from './device-moments.js';
import { failureReply } from './failure.js';
import { syncMembers } from './modes.js';
import type { DeviceReply, DeviceTask, PingTask, SharedArrayRef } from './protocol.js';
import { RankState, rankStateLayout } from './rank-state.js';
import { shardRows } from './sharding.js';

/** Thrown by an injected crash. */
class InjectedCrash extends Error {}

interface DeviceContext {
  readonly task: DeviceTask;
  readonly control: Int32Array;
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
  if (!ref) throw new Error('a batch array this operation needs was not sent');
  const { rows, channels, inner } = ctx.layout;
  const length = rows * channels * inner;
  const start = ref.offset + ctx.offset;
  return ctx.task.settings.dtype === 'float32' ? new Float32Array(ref.buffer, start * 4, length) : new Float64Array(ref.buffer, start * 8, length);
}

function setup(task: DeviceTask): DeviceContext {
  const { settings, buffers, rank, devices } = task;
  const C = settings.channels;
  const [start, end] = shardRows(settings.rows, devices, rank);
  const params = new Float64Array(buffers.params);
  return {
    task,
    control: new Int32Array(buffers.control),
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
  const { task } = ctx;
  const members = syncMembers(task.settings.mode, task.rank, task.devices);
  if (!members) return undefined;
  const algorithm = algorithmByName(task.settings.algorithm);
  const comm = commViews(task.buffers.comm);
  const abort = { array: ctx.control, index: ABORT_INDEX };
  const watcher = rankWatcher(ctx.control, task.rank);
  return (data, reducer) => {
    if (task.fault?.kind === 'skip' && task.fault.rank === task.rank) return; // never joins
    const transport = new SharedMemoryTransport(comm, members, members.indexOf(task.rank), reducer.bytesPerValue, task.settings.timeoutMs, abort, task.spin, watcher);
    algorithm.run(transport, data, reducer);
    ctx.traffic.messages += transport.traffic.messages;
    ctx.traffic.bytes += transport.traffic.bytes;
  };
}

/**
 * Marks the phase the device is in. With `strike`, an injected crash or hang happens here: the
 * forward pass calls it where the device would first talk to its peers (or, with nothing to say,
 * where it starts to normalize).
 */
function enter(ctx: DeviceContext, phase: Phase, strike = false): void {
  setPhase(ctx.control, ctx.task.rank, phase);
  const fault = ctx.task.fault;
  if (!strike || !fault || fault.rank !== ctx.task.rank) return;
  if (fault.kind === 'crash') throw new InjectedCrash(`injected fault: crash on rank ${fault.rank}`);
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
function checkFinite(ctx: DeviceContext, data: FloatArray, partial: ArrayLike<number>, name: string): void {
  if (ctx.badInput || Array.prototype.every.call(partial, Number.isFinite)) return;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      ctx.badInput = `${name} contains ${data[i]} at flat index ${ctx.offset + i}`;
      return;
    }
  }
}

/** The settings device-bn needs, from the task's. */
function bnSettings(ctx: DeviceContext): DeviceBnSettings {
  const { mode, stats, accumulator, training, momentum, eps, convention } = ctx.task.settings;
  return { mode, stats, accumulator, training, momentum, eps, convention };
}

function forward(ctx: DeviceContext): void {
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
  const result = deviceBnForward(x, layout, y, ctx.weight, ctx.bias, running, shift, settings, allReduce, { onPhase, localInEval: true });
  const local = result.local!;
  if (layout.rows > 0) checkFinite(ctx, x, settings.training ? local.var : local.mean, 'input');
  storeMoments(state, 'local', local);
  storeMoments(state, 'used', result.used);
  state.vector('usedInvStd').set(result.blocks[result.blocks.length - 1]?.invStd ?? inverseStd(result.used.var, settings.eps));
}

function backward(ctx: DeviceContext): void {
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
      : [{ start: 0, end: layout.rows, count: state.scalar('usedCount'), mean: state.vector('usedMean'), invStd: state.vector('usedInvStd') }];
  const allReduce = training ? allReduceFor(ctx) : undefined;
  const onPhase = () => enter(ctx, 'backward: all-reduce');
  const sums = deviceBnBackward(dy, x, layout, dx, ctx.weight, { blocks, training }, allReduce, onPhase);
  checkFinite(ctx, dy, sums.sumDyXhat, 'grad output');
  state.vector('sumDy').set(sums.sumDy);
  state.vector('sumDyXhat').set(sums.sumDyXhat);
}

/** Times `reps` all-reduces of `length` values among all devices, in microseconds each. */
function allreduceBench(ctx: DeviceContext): number[] {
  const { task } = ctx;
  const allReduce = allReduceFor(ctx)!;
  const timings: number[] = [];
  const data = new Float64Array(task.length ?? 1);
  enter(ctx, 'benchmark: all-reduce');
  for (let i = 0; i < (task.reps ?? 1); i++) {
    data.fill(task.rank + i);
    const t0 = performance.now();
    allReduce(data, float64Sum);
    timings.push((performance.now() - t0) * 1000);
  }
  return timings;
}

/**
 * Runs one task and describes any failure as data (errors lose their fields across threads). The
 * task's state goes to the control block too, where the coordinator's diagnosis reads it.
 */
export function runDeviceTask(task: DeviceTask | PingTask): DeviceReply {
  if (task.op === 'ping') return { ok: true, rank: -1, messages: 0, bytes: 0 };
  const control = new Int32Array(task.buffers.control);
  markStarted(control, task.rank, task.devices);
  try {
    const ctx = setup(task);
    let timingsUs: number[] | undefined;
    if (task.op === 'forward') forward(ctx);
    else if (task.op === 'backward') backward(ctx);
    else timingsUs = allreduceBench(ctx);
    setPhase(control, task.rank, 'idle');
    setTaskState(control, task.rank, 'finished');
    if (ctx.badInput) return { ok: false, rank: task.rank, kind: 'bad-input', phase: 'idle', message: ctx.badInput };
    return { ok: true, rank: task.rank, messages: ctx.traffic.messages, bytes: ctx.traffic.bytes, timingsUs };
  } catch (error) {
    setTaskState(control, task.rank, 'failed');
    return failureReply(task.rank, phaseOf(control, task.rank), error);
  }
}
