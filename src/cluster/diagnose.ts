/**
 * Turns the replies of one step (undefined where a device never answered) into the error that
 * names the device at fault: a crash first, then a device that stopped answering, then one that
 * finished while its peers waited for it, and only then a bare timeout.
 */
import { type Phase, phaseOf } from './control.js';
import {
  CollectiveTimeout,
  DeviceCrashError,
  type DeviceFailureError,
  DeviceHangError,
  DeviceMissingError,
} from './errors.js';
import type { BaseReply } from './protocol.js';

function list(ranks: number[]): string {
  return ranks.length === 1 ? `rank ${ranks[0]}` : `ranks ${ranks.join(', ')}`;
}

export function diagnose(
  replies: readonly (BaseReply | undefined)[],
  control: Int32Array,
  timeoutMs: number,
): DeviceFailureError | undefined {
  // A device that reported bad input still completed its step.
  const failures = replies.filter((r): r is Extract<BaseReply, { ok: false }> => r !== undefined && !r.ok && r.kind !== 'bad-input');
  const silent = replies.flatMap((r, rank) => (r === undefined ? [rank] : []));
  if (failures.length === 0 && silent.length === 0) return undefined;

  const crash = failures.find((f) => f.kind === 'crash');
  if (crash) {
    return new DeviceCrashError('crash', crash.rank, crash.phase, `device rank ${crash.rank} crashed in phase '${crash.phase}': ${crash.message}`);
  }
  if (silent.length > 0) {
    const phase: Phase = phaseOf(control, silent[0]);
    return new DeviceHangError('hang', silent[0], phase, `device ${list(silent)} stopped responding in phase '${phase}' (no reply within ${timeoutMs} ms); its thread was terminated`);
  }
  const timeouts = failures.filter((f) => f.kind === 'timeout');
  const waiting = failures.filter((f) => f.waitingFor !== undefined);
  const finished = replies.flatMap((r, rank) => (r && (r.ok || r.kind === 'bad-input') ? [rank] : []));
  const phase = timeouts[0]?.phase ?? failures[0].phase;
  // A device that finished while a peer still waited for it skipped a collective.
  const missing = finished.filter((rank) => waiting.some((w) => w.waitingFor === rank));
  if (missing.length > 0) {
    const waiters = waiting.filter((w) => missing.includes(w.waitingFor!)).map((w) => w.rank);
    return new DeviceMissingError('missing', missing[0], phase, `device ${list(missing)} never joined the collective in phase '${phase}'; ${list(waiters)} waited for it until the ${timeoutMs} ms timeout`);
  }
  const first = timeouts[0] ?? failures[0];
  return new CollectiveTimeout('timeout', first.rank, phase, `collective timed out in phase '${phase}': ${timeouts.map((t) => `rank ${t.rank} waited for rank ${t.waitingFor}`).join('; ') || first.message}`);
}
