/**
 * What one simulated device does in a step, run inside its worker thread. Glue only: the maths
 * lives in src/bn and src/collectives. The device reads its shard of the shared batch, talks to
 * its peers through the shared-memory collective, writes its shard of the output and its own
 * block of state, and replies with the traffic it sent.
 */
import { gradInputEval, gradInputTrain, gradSums } from '../bn/backward.js';
import { inverseStd, normalize } from '../bn/normalize.js';
import { updateRunningStats } from '../bn/running-stats.js';
import type { Moments } from '../bn/moments.js';
import { algorithmByName } from '../collectives/algorithms/index.js';
import { commViews } from '../collectives/comm-buffer.js';
import { CollectiveAbortedError, CollectiveTimeoutError } from '../collectives/errors.js';
import { float64Sum } from '../collectives/reducers.js';
import { SharedMemoryTransport, type TrafficCount } from '../collectives/transport.js';
import type { ChannelLayout, FloatArray } from '../tensor/tensor.js';
import { ABORT_INDEX, type Phase, phaseOf, setPhase } from './control.js';
import { type AllReduceFn, deviceMoments } from './device-moments.js';
import { syncMembers } from './modes.js';
import type { DeviceReply, DeviceTask, PingTask, SharedArrayRef } from './protocol.js';
import { RankState, rankStateLayout } from './rank-state.js';
import { ghostChunks, shardRows } from './sharding.js';

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

/** Rows [start, end) of a block as its own layout and view. */
function rowsOf(data: FloatArray, layout: ChannelLayout, start: number, end: number): [FloatArray, ChannelLayout] {
  const rowSize = layout.channels * layout.inner;
  return [data.subarray(start * rowSize, end * rowSize), { ...layout, rows: end - start }];
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
  return (data, reducer) => {
    if (task.fault?.kind === 'skip' && task.fault.rank === task.rank) return; // never joins
    const transport = new SharedMemoryTransport(comm, members, members.indexOf(task.rank), reducer.bytesPerValue, task.settings.timeoutMs, abort, task.spin);
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

/** Running statistics after one batch statistic (a no-op for an empty or eval batch, or bad input). */
function updateRunning(ctx: DeviceContext, m: Moments): void {
  const s = ctx.task.settings;
  if (!s.training || m.count === 0 || ctx.badInput) return;
  const running = { mean: ctx.state.vector('runningMean'), var: ctx.state.vector('runningVar') };
  const next = updateRunningStats(running, m, s.momentum, s.convention);
  running.mean.set(next.mean);
  running.var.set(next.var);
}

function forward(ctx: DeviceContext): void {
  const s = ctx.task.settings;
  const { state, layout } = ctx;
  const x = shard(ctx.task.buffers.x, ctx);
  const y = shard(ctx.task.buffers.y, ctx);
  state.setScalar('usedTraining', s.training ? 1 : 0);
  enter(ctx, 'forward: statistics');
  const shift = state.vector('shift');
  shift.set(state.vector('runningMean'));

  if (!s.training) {
    const running: Moments = { count: layout.rows * layout.inner, mean: Float64Array.from(shift), var: Float64Array.from(state.vector('runningVar')) };
    const local = deviceMoments(x, layout, s.stats, s.accumulator, shift, undefined).local;
    checkFinite(ctx, x, local.mean, 'input');
    storeMoments(state, 'local', local);
    storeMoments(state, 'used', running);
    state.vector('usedInvStd').set(inverseStd(running.var, s.eps));
    enter(ctx, 'forward: normalize', true);
    normalize(x, layout, running.mean, state.vector('usedInvStd'), ctx.weight, ctx.bias, y);
    return;
  }

  if (s.mode.kind === 'ghost') {
    const local = deviceMoments(x, layout, s.stats, s.accumulator, shift, undefined).local;
    checkFinite(ctx, x, local.var, 'input');
    storeMoments(state, 'local', local);
    enter(ctx, 'forward: normalize', true);
    for (const [start, end] of ghostChunks(layout.rows, s.mode.size)) {
      const [xc, lc] = rowsOf(x, layout, start, end);
      const [yc] = rowsOf(y, layout, start, end);
      const m = deviceMoments(xc, lc, s.stats, s.accumulator, shift, undefined).used;
      normalize(xc, lc, m.mean, inverseStd(m.var, s.eps), ctx.weight, ctx.bias, yc);
      updateRunning(ctx, m);
      storeMoments(state, 'used', m); // the last chunk's, for reports
    }
    return;
  }

  const allReduce = allReduceFor(ctx);
  enter(ctx, allReduce ? 'forward: all-reduce' : 'forward: normalize', true);
  const { local, used } = deviceMoments(x, layout, s.stats, s.accumulator, shift, allReduce);
  if (layout.rows > 0) checkFinite(ctx, x, local.var, 'input');
  storeMoments(state, 'local', local);
  storeMoments(state, 'used', used);
  const invStd = inverseStd(used.var, s.eps);
  state.vector('usedInvStd').set(invStd);
  enter(ctx, 'forward: normalize');
  if (layout.rows > 0) normalize(x, layout, used.mean, invStd, ctx.weight, ctx.bias, y);
  updateRunning(ctx, used);
}

function backward(ctx: DeviceContext): void {
  const s = ctx.task.settings;
  const { state, layout } = ctx;
  const x = shard(ctx.task.buffers.x, ctx);
  const dy = shard(ctx.task.buffers.dy, ctx);
  const dx = shard(ctx.task.buffers.dx, ctx);
  const training = state.scalar('usedTraining') === 1;
  enter(ctx, 'backward: reductions');

  if (training && s.mode.kind === 'ghost') {
    // Each chunk is its own batch norm; its statistics are recomputed exactly as forward did.
    const sumDy = state.vector('sumDy').fill(0);
    const sumDyXhat = state.vector('sumDyXhat').fill(0);
    const shift = state.vector('shift');
    for (const [start, end] of ghostChunks(layout.rows, s.mode.size)) {
      const [xc, lc] = rowsOf(x, layout, start, end);
      const [dyc] = rowsOf(dy, layout, start, end);
      const [dxc] = rowsOf(dx, layout, start, end);
      const m = deviceMoments(xc, lc, s.stats, s.accumulator, shift, undefined).used;
      const invStd = inverseStd(m.var, s.eps);
      const sums = gradSums(dyc, xc, lc, m.mean, invStd);
      checkFinite(ctx, dyc, sums.sumDyXhat, 'grad output');
      gradInputTrain(dyc, xc, lc, m.mean, invStd, ctx.weight, sums, m.count, dxc);
      for (let c = 0; c < layout.channels; c++) {
        sumDy[c] += sums.sumDy[c];
        sumDyXhat[c] += sums.sumDyXhat[c];
      }
    }
    return;
  }

  const mean = state.vector('usedMean');
  const invStd = state.vector('usedInvStd');
  const local = gradSums(dy, x, layout, mean, invStd);
  checkFinite(ctx, dy, local.sumDyXhat, 'grad output');
  state.vector('sumDy').set(local.sumDy);
  state.vector('sumDyXhat').set(local.sumDyXhat);
  if (!training) {
    enter(ctx, 'backward: grad input');
    gradInputEval(dy, layout, invStd, ctx.weight, dx);
    return;
  }
  const allReduce = allReduceFor(ctx);
  enter(ctx, 'backward: all-reduce');
  let sums = local;
  let count = layout.rows * layout.inner;
  if (allReduce) {
    const C = layout.channels;
    const v = new Float64Array(1 + 2 * C);
    v[0] = count;
    v.set(local.sumDy, 1);
    v.set(local.sumDyXhat, 1 + C);
    allReduce(v, float64Sum);
    count = v[0];
    sums = { sumDy: v.slice(1, 1 + C), sumDyXhat: v.slice(1 + C) };
  }
  enter(ctx, 'backward: grad input');
  if (layout.rows > 0) gradInputTrain(dy, x, layout, mean, invStd, ctx.weight, sums, count, dx);
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

/** Runs one task and describes any failure as data (errors lose their fields across threads). */
export function runDeviceTask(task: DeviceTask | PingTask): DeviceReply {
  if (task.op === 'ping') return { ok: true, rank: -1, messages: 0, bytes: 0 };
  let ctx: DeviceContext | undefined;
  try {
    ctx = setup(task);
    let timingsUs: number[] | undefined;
    if (task.op === 'forward') forward(ctx);
    else if (task.op === 'backward') backward(ctx);
    else timingsUs = allreduceBench(ctx);
    setPhase(ctx.control, task.rank, 'idle');
    if (ctx.badInput) return { ok: false, rank: task.rank, kind: 'bad-input', phase: 'idle', message: ctx.badInput };
    return { ok: true, rank: task.rank, messages: ctx.traffic.messages, bytes: ctx.traffic.bytes, timingsUs };
  } catch (error) {
    const phase = ctx ? phaseOf(ctx.control, task.rank) : 'idle';
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof CollectiveTimeoutError) {
      return { ok: false, rank: task.rank, kind: 'timeout', phase, message, waitingFor: error.waitingFor };
    }
    if (error instanceof CollectiveAbortedError) {
      return { ok: false, rank: task.rank, kind: 'aborted', phase, message, waitingFor: error.waitingFor };
    }
    return { ok: false, rank: task.rank, kind: 'crash', phase, message };
  }
}
