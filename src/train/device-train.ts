/**
 * What the devices of one thread do in data-parallel training: each runs a DDP step as a program
 * (forward and backward on its shard, BN synced as the mode says, gradients averaged over every
 * replica with the simulator's all-reduce, the same SGD update everywhere), pausing wherever it
 * waits for a peer, so that one thread runs many replicas; or evaluates its share of a set.
 * Glue only: layers are in src/nn, BN in src/bn/block-bn.ts, collectives in src/collectives.
 */
import { allReduceAmong } from '../collectives/all-reduce.js';
import { algorithmByName } from '../collectives/algorithms/index.js';
import { type Program, type TrafficCount, runWithoutPeers } from '../collectives/endpoint.js';
import { type OutboxBuffer, type OutboxViews, outboxViews } from '../collectives/outbox.js';
import { float64Sum } from '../collectives/reducers.js';
import type { Control } from '../cluster/control.js';
import { hostDevices } from '../cluster/device-host.js';
import { syncGroup } from '../bn/modes.js';
import { everyone } from '../collectives/communicator.js';
import { shardRows } from '../tensor/sharding.js';
import type { WakeRouter } from '../collectives/outbox-endpoint.js';
import { kernelBackend, useKernels } from '../kernels/backend.js';
import type { RenormContextHolder } from '../nn/batch-renorm-layer.js';
import { softmaxCrossEntropy } from '../nn/loss.js';
import type { Sequential } from '../nn/sequential.js';
import { sgdStep } from '../nn/sgd.js';
import { type ModelNorm, modelNormName } from './model-norm.js';
import { type BnStateLayout, bnStateLayout, bnStateOf, buildModel } from './models.js';
import type { EvalTask, ModelSpec, TrainReply, TrainStepTask } from './protocol.js';

interface DeviceModel {
  readonly model: Sequential;
  readonly holder: RenormContextHolder;
  readonly grads: Float32Array;
  /** The gradients widened to float64 for the all-reduce (kept: a step must not allocate them). */
  readonly sum: Float64Array;
  readonly bn: BnStateLayout;
  /** The parameter buffer the layers are bound to, so that a step binds them only when it changes. */
  boundTo?: SharedArrayBuffer;
}

/**
 * Models built by this thread, by spec and rank: layers keep their buffers between tasks, and
 * each device has its own, since a device paused mid-forward keeps its activations.
 */
const models = new Map<string, DeviceModel>();

function modelFor(spec: ModelSpec, norm: ModelNorm | undefined, rank: number): DeviceModel {
  const key = `${spec.name}/${spec.inputShape.join('x')}/${spec.classes}/${norm === undefined ? 'batch' : modelNormName(norm)}/${rank}`;
  let entry = models.get(key);
  if (!entry) {
    const holder: RenormContextHolder = {};
    const { model, bnChannels } = buildModel(spec, holder, norm);
    entry = {
      model,
      holder,
      grads: new Float32Array(model.paramCount),
      sum: new Float64Array(model.paramCount),
      bn: bnStateLayout(bnChannels),
    };
    models.set(key, entry);
  }
  return entry;
}

/** Views of each outbox, made once per thread rather than once per device and step. */
const outboxViewsOf = new WeakMap<OutboxBuffer, OutboxViews>();

function viewsOf(outbox: OutboxBuffer): OutboxViews {
  let views = outboxViewsOf.get(outbox);
  if (!views) {
    views = outboxViews(outbox);
    outboxViewsOf.set(outbox, views);
  }
  return views;
}

function exampleSize(spec: ModelSpec): number {
  return spec.inputShape.reduce((a, b) => a * b, 1);
}

function* trainStep(
  task: TrainStepTask,
  rank: number,
  control: Control,
  router: WakeRouter,
  traffic: TrafficCount,
): Program<number[]> {
  const { buffers, model: spec } = task;
  const devices = task.hosting.devices;
  const device = modelFor(spec, task.norm, rank);
  const { model, holder, grads, sum, bn } = device;
  const P = model.paramCount;
  const params = new Float32Array(buffers.params, rank * P * 4, P);
  const momentum = new Float32Array(buffers.momentum, rank * P * 4, P);
  const state = new Float64Array(buffers.bnState, rank * bn.stride * 8, bn.stride);
  if (device.boundTo !== buffers.params) {
    model.bindTo(params, grads);
    device.boundTo = buffers.params;
  }
  grads.fill(0);
  const [start, end] = shardRows(task.batch, devices, rank);
  const b = end - start;
  const size = exampleSize(spec);
  const x = new Float32Array(buffers.images, start * size * 4, b * size);
  const labels = new Int32Array(buffers.labels, start * 4, b);
  const group = syncGroup(task.mode, rank, devices);
  const bnNetwork = { outbox: viewsOf(buffers.bnOutbox), router };
  holder.current = {
    settings: {
      mode: task.mode,
      stats: task.stats,
      accumulator: 'float64',
      training: true,
      momentum: task.bnMomentum,
      eps: task.eps,
      convention: 'pytorch',
    },
    allReduce: group ? allReduceAmong(bnNetwork, group, rank, algorithmByName(task.algorithm), traffic) : undefined,
    running: (index) => bnStateOf(state, bn, index),
  };
  holder.limits = task.renormLimits;
  control.setPhase(rank, 'train: forward');
  const logits = yield* model.forwardProgram(x, b, true);
  const { loss, correct, grad } = softmaxCrossEntropy(logits, labels, b, spec.classes);
  control.setPhase(rank, 'train: backward');
  yield* model.backwardProgram(grad);
  if (devices > 1) {
    // DDP: every replica ends with the mean of all replicas' gradients (identical bits everywhere).
    control.setPhase(rank, 'train: gradient all-reduce');
    for (let i = 0; i < P; i++) sum[i] = grads[i];
    const gradNetwork = { outbox: viewsOf(buffers.gradOutbox), router };
    yield* allReduceAmong(
      gradNetwork,
      everyone(devices),
      rank,
      algorithmByName(task.gradAlgorithm),
      traffic,
    )(sum, float64Sum);
    for (let i = 0; i < P; i++) grads[i] = sum[i] / devices;
  }
  control.setPhase(rank, 'train: update');
  sgdStep(params, grads, momentum, task.optimizer, task.firstStep);
  control.setPhase(rank, 'idle');
  return [loss * b, correct, b];
}

function evaluate(task: EvalTask, rank: number): number[] {
  const { buffers, model: spec } = task;
  const devices = task.hosting.devices;
  const device = modelFor(spec, task.norm, rank);
  const { model, holder, grads, bn } = device;
  const P = model.paramCount;
  model.bindTo(new Float32Array(buffers.params, task.paramsRank * P * 4, P), grads);
  device.boundTo = undefined; // bound to another replica's parameters now: the next step rebinds
  const size = exampleSize(spec);
  const chunks = Math.ceil(task.count / task.chunk);
  // Whole chunks per device, so that batch statistics always come from `chunk` examples.
  const [first, last] = shardRows(chunks, devices, rank);
  const source = Math.max(task.statsRank, 0);
  const stats = new Float64Array(
    task.statsRank >= 0 ? buffers.bnState : buffers.collected,
    source * bn.stride * 8,
    bn.stride,
  );
  // Eval never changes the replicas' statistics: batch-statistics passes update a scratch copy.
  const scratch = Float64Array.from(stats);
  const sums = new Float64Array(buffers.collected, rank * bn.stride * 8, bn.stride);
  const training = task.how !== 'running';
  // Batch Renorm normalizes with batch statistics alone when evaluated that way (r = 1, d = 0).
  holder.limits = training ? { rMax: 1, dMax: 0 } : undefined;
  holder.current = {
    settings: {
      mode: { kind: 'local' },
      stats: task.stats,
      accumulator: 'float64',
      training,
      momentum: 0,
      eps: task.eps,
      convention: 'pytorch',
    },
    running: (index) => bnStateOf(training ? scratch : stats, bn, index),
    record:
      task.how === 'collect'
        ? (index, used) => {
            const target = bnStateOf(sums, bn, index);
            const n = used.count;
            for (let c = 0; c < used.mean.length; c++) {
              target.mean[c] += used.mean[c];
              target.var[c] += n > 1 ? (used.var[c] * n) / (n - 1) : used.var[c];
            }
          }
        : undefined,
  };
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  let chunksUsed = 0;
  for (let k = first; k < last; k++) {
    const start = k * task.chunk;
    const count = Math.min(task.chunk, task.count - start);
    if (task.how !== 'running' && count < 2) continue; // no batch statistics from one example
    const x = new Float32Array(buffers.images, start * size * 4, count * size);
    const labels = new Int32Array(buffers.labels, start * 4, count);
    const logits = runWithoutPeers(model.forwardProgram(x, count, training), 'evaluation');
    const r = softmaxCrossEntropy(logits, labels, count, spec.classes);
    lossSum += r.loss * count;
    correct += r.correct;
    seen += count;
    chunksUsed++;
  }
  return [lossSum, correct, seen, chunksUsed];
}

/**
 * Runs one training task on this thread's devices, on the kernels it names; failures become data,
 * as for BN steps.
 *
 * @param task - a training step or an evaluation for every device this thread hosts.
 * @returns each device's figures and traffic, or the failure reply.
 */
export function runTrainTask(task: TrainStepTask | EvalTask): TrainReply {
  useKernels(task.kernels);
  const traffic = new Map<number, TrafficCount>();
  const outcome = hostDevices<number[]>(task.hosting, task.links, task.timeoutMs, (rank, control, router) => {
    const count = { messages: 0, bytes: 0 };
    traffic.set(rank, count);
    if (task.op === 'train-step') return trainStep(task, rank, control, router, count);
    // biome-ignore lint/correctness/useYield: every device program is a generator; evaluation never waits for a peer
    return (function* (): Program<number[]> {
      control.setPhase(rank, 'evaluate');
      const values = evaluate(task, rank);
      control.setPhase(rank, 'idle');
      return values;
    })();
  });
  if (!outcome.ok) return outcome;
  const counts = [...traffic.values()];
  return {
    ok: true,
    thread: task.hosting.thread,
    messages: counts.map((c) => c.messages),
    bytes: counts.map((c) => c.bytes),
    values: outcome.results,
    kernels: kernelBackend(),
  };
}
