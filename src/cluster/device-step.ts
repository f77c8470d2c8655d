/**
 * A batch-norm task on a device thread: every device the thread hosts runs its step program (see
 * device-programs.ts) on the thread's scheduler, and the thread replies with each device's
 * traffic, or with the failure.
 */
import { outboxViews } from '../collectives/outbox.js';
import { type DeviceOutcome, deviceProgram } from './device-programs.js';
import { hostDevices } from './device-host.js';
import type { DeviceReply, DeviceTask, PingTask } from './protocol.js';

/**
 * Runs one task on this thread's devices.
 *
 * @param task - a BN step (forward, backward or all-reduce benchmark) or a ping.
 * @returns each device's traffic (and what it found), or the failure reply.
 */
export function runDeviceTask(task: DeviceTask | PingTask): DeviceReply | { ok: true; pong: true } {
  if (task.op === 'ping') return { ok: true, pong: true };
  const outbox = outboxViews(task.buffers.outbox);
  const outcome = hostDevices<DeviceOutcome>(
    task.hosting,
    task.links,
    task.settings.timeoutMs,
    (rank, control, router) => deviceProgram(task, rank, control, { outbox, router }),
  );
  if (!outcome.ok) return outcome;
  const { results } = outcome;
  const finishedAt = task.op === 'allreduce-bench' ? lastOfEach(results.map((r) => r.finishedAt ?? [])) : undefined;
  return {
    ok: true,
    thread: task.hosting.thread,
    messages: results.map((r) => r.traffic.messages),
    bytes: results.map((r) => r.traffic.bytes),
    badInput: results.find((r) => r.badInput !== undefined)?.badInput,
    finishedAt,
  };
}

/** For each repetition, the latest time any device of the thread finished it. */
function lastOfEach(times: readonly number[][]): number[] {
  const reps = Math.max(0, ...times.map((t) => t.length));
  return Array.from({ length: reps }, (_, i) => Math.max(...times.map((t) => t[i] ?? 0)));
}
