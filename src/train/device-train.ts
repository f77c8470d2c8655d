/**
 * What one device does in data-parallel training, inside its worker thread: a DDP step (forward
 * and backward on its shard, BN synced as the mode says, gradients averaged over every replica
 * with the simulator's all-reduce, the same SGD update everywhere), and evaluation of its share of
 * a set. Glue only: layers are in src/nn, BN in src/cluster/device-bn.ts, collectives in
 * src/collectives.
 */
import { algorithmByName } from '../collectives/algorithms/index.js';
import { commViews, type CommBuffer } from '../collectives/comm-buffer.js';
import { type Reducer, float64Sum } from '../collectives/reducers.js';
import { SharedMemoryTransport } from '../collectives/transport.js';
import { ABORT_INDEX, markStarted, rankWatcher, setPhase, setTaskState } from '../cluster/control.js';
import type { AllReduceFn } from '../cluster/device-moments.js';
import { failureReply } from '../cluster/failure.js';
import { syncMembers } from '../cluster/modes.js';
import { shardRows } from '../cluster/sharding.js';
import { kernelBackend, useKernels } from '../kernels/backend.js';
import type { BnContextHolder } from '../nn/batch-norm-layer.js';
import { softmaxCrossEntropy } from '../nn/loss.js';
import type { Sequential } from '../nn/sequential.js';
import { sgdStep } from '../nn/sgd.js';
import { type BnStateLayout, bnStateLayout, bnStateOf, buildModel } from './models.js';
import type { EvalTask, ModelSpec, TrainReply, TrainStepTask } from './protocol.js';

interface DeviceModel {
  readonly model: Sequential;
  readonly holder: BnContextHolder;
  readonly grads: Float32Array;
  readonly bn: BnStateLayout;
}

/** Models built by this thread, by spec: layers keep their buffers between tasks. */
const models = new Map<string, DeviceModel>();

function modelFor(spec: ModelSpec): DeviceModel {
  const key = `${spec.name}/${spec.inputShape.join('x')}/${spec.classes}`;
  let entry = models.get(key);
  if (!entry) {
    const holder: BnContextHolder = {};
    const { model, bnChannels } = buildModel(spec, holder);
    entry = { model, holder, grads: new Float32Array(model.paramCount), bn: bnStateLayout(bnChannels) };
    models.set(key, entry);
  }
  return entry;
}

function exampleSize(spec: ModelSpec): number {
  return spec.inputShape.reduce((a, b) => a * b, 1);
}

/** An all-reduce among `members` (global ranks) over one comm buffer, counting traffic. */
function allReduceAmong(
  comm: CommBuffer,
  members: readonly number[],
  rank: number,
  algorithm: TrainStepTask['algorithm'],
  control: Int32Array,
  timeoutMs: number,
  spin: number,
  traffic: { messages: number; bytes: number },
): AllReduceFn {
  const views = commViews(comm);
  const impl = algorithmByName(algorithm);
  const abort = { array: control, index: ABORT_INDEX };
  const watcher = rankWatcher(control, rank);
  return (data: Float64Array, reducer: Reducer) => {
    const transport = new SharedMemoryTransport(views, members, members.indexOf(rank), reducer.bytesPerValue, timeoutMs, abort, spin, watcher);
    impl.run(transport, data, reducer);
    traffic.messages += transport.traffic.messages;
    traffic.bytes += transport.traffic.bytes;
  };
}

function trainStep(task: TrainStepTask, traffic: { messages: number; bytes: number }): number[] {
  const { rank, devices, buffers, model: spec } = task;
  const { model, holder, grads, bn } = modelFor(spec);
  const P = model.paramCount;
  const params = new Float32Array(buffers.params, rank * P * 4, P);
  const momentum = new Float32Array(buffers.momentum, rank * P * 4, P);
  const state = new Float64Array(buffers.bnState, rank * bn.stride * 8, bn.stride);
  model.bindTo(params, grads);
  grads.fill(0);
  const [start, end] = shardRows(task.batch, devices, rank);
  const b = end - start;
  const size = exampleSize(spec);
  const x = new Float32Array(buffers.images, start * size * 4, b * size);
  const labels = new Int32Array(buffers.labels, start * 4, b);
  const control = new Int32Array(buffers.control);
  const members = syncMembers(task.mode, rank, devices);
  holder.current = {
    settings: { mode: task.mode, stats: task.stats, accumulator: 'float64', training: true, momentum: task.bnMomentum, eps: task.eps, convention: 'pytorch' },
    allReduce: members ? allReduceAmong(buffers.bnComm, members, rank, task.algorithm, control, task.timeoutMs, task.spin, traffic) : undefined,
    running: (index) => bnStateOf(state, bn, index),
  };
  const logits = model.forward(x, b, true);
  const { loss, correct, grad } = softmaxCrossEntropy(logits, labels, b, spec.classes);
  model.backward(grad);
  if (devices > 1) {
    // DDP: every replica ends with the mean of all replicas' gradients (identical bits everywhere).
    const everyone = Array.from({ length: devices }, (_, r) => r);
    const sum = Float64Array.from(grads);
    allReduceAmong(buffers.gradComm, everyone, rank, task.gradAlgorithm, control, task.timeoutMs, task.spin, traffic)(sum, float64Sum);
    for (let i = 0; i < P; i++) grads[i] = sum[i] / devices;
  }
  sgdStep(params, grads, momentum, task.optimizer, task.firstStep);
  return [loss * b, correct, b];
}

function evaluate(task: EvalTask): number[] {
  const { rank, devices, buffers, model: spec } = task;
  const { model, holder, grads, bn } = modelFor(spec);
  const P = model.paramCount;
  model.bindTo(new Float32Array(buffers.params, task.paramsRank * P * 4, P), grads);
  const size = exampleSize(spec);
  const chunks = Math.ceil(task.count / task.chunk);
  // Whole chunks per device, so that batch statistics always come from `chunk` examples.
  const [first, last] = shardRows(chunks, devices, rank);
  const source = task.statsRank >= 0 ? task.statsRank : 0;
  const stats = new Float64Array(task.statsRank >= 0 ? buffers.bnState : buffers.collected, source * bn.stride * 8, bn.stride);
  // Eval never changes the replicas' statistics: batch-statistics passes update a scratch copy.
  const scratch = Float64Array.from(stats);
  const sums = new Float64Array(buffers.collected, rank * bn.stride * 8, bn.stride);
  const training = task.how !== 'running';
  holder.current = {
    settings: { mode: { kind: 'local' }, stats: task.stats, accumulator: 'float64', training, momentum: 0, eps: task.eps, convention: 'pytorch' },
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
    const logits = model.forward(x, count, training);
    const r = softmaxCrossEntropy(logits, labels, count, spec.classes);
    lossSum += r.loss * count;
    correct += r.correct;
    seen += count;
    chunksUsed++;
  }
  return [lossSum, correct, seen, chunksUsed];
}

/** Runs one training task on the kernels it names; failures become data, and task state goes to the control block, as in src/cluster/device-step.ts. */
export function runTrainTask(task: TrainStepTask | EvalTask): TrainReply {
  const traffic = { messages: 0, bytes: 0 };
  const control = new Int32Array(task.buffers.control);
  const phase = task.op === 'train-step' ? 'train: step' : 'train: evaluation';
  markStarted(control, task.rank, task.devices);
  setPhase(control, task.rank, phase);
  try {
    useKernels(task.kernels);
    const values = task.op === 'train-step' ? trainStep(task, traffic) : evaluate(task);
    setPhase(control, task.rank, 'idle');
    setTaskState(control, task.rank, 'finished');
    return { ok: true, rank: task.rank, messages: traffic.messages, bytes: traffic.bytes, values, kernels: kernelBackend() };
  } catch (error) {
    setTaskState(control, task.rank, 'failed');
    return failureReply(task.rank, phase, error);
  }
}
