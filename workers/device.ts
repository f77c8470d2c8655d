/**
 * Worker entry: one device thread, hosting a run of simulated devices. piscina calls the default
 * export with a task; what the devices do lives in src/cluster/device-step.ts (batch-norm steps)
 * and src/train/device-train.ts (data-parallel training). The training code (layers, kernels) is
 * loaded on the first training task only: most clusters never train, and every thread a cluster
 * starts would otherwise parse it (about half of a thread's start-up work).
 */
import { runDeviceTask } from '../src/cluster/device-step.js';
import type { DeviceReply, DeviceTask, PingTask } from '../src/cluster/protocol.js';
import type { EvalTask, TrainReply, TrainStepTask } from '../src/train/protocol.js';

/**
 * What a device thread does with a task: piscina calls it with each task the coordinator sends this
 * thread.
 *
 * @param task - a batch-norm step, a ping, or a training step or evaluation, for every device this
 *   thread hosts.
 * @returns the thread's reply: counts per device, or where the failure was (never a thrown error,
 *   which would lose its fields on the way).
 */
export default function runTask(
  task: DeviceTask | PingTask | TrainStepTask | EvalTask,
): DeviceReply | { ok: true; pong: true } | Promise<TrainReply> {
  if (task.op === 'train-step' || task.op === 'train-eval')
    return import('../src/train/device-train.js').then((m) => m.runTrainTask(task));
  return runDeviceTask(task);
}
