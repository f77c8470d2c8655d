/**
 * Worker entry: one simulated device per thread. piscina calls the default export with a task;
 * what a device does lives in src/cluster/device-step.ts (batch-norm steps) and
 * src/train/device-train.ts (data-parallel training).
 */
import { runDeviceTask } from '../src/cluster/device-step.js';
import type { DeviceReply, DeviceTask, PingTask } from '../src/cluster/protocol.js';
import { runTrainTask } from '../src/train/device-train.js';
import type { EvalTask, TrainReply, TrainStepTask } from '../src/train/protocol.js';

export default function runTask(task: DeviceTask | PingTask | TrainStepTask | EvalTask): DeviceReply | TrainReply | { ok: true; pong: true } {
  return task.op === 'train-step' || task.op === 'train-eval' ? runTrainTask(task) : runDeviceTask(task);
}
