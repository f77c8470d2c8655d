/**
 * Turns the replies of one step's threads (undefined where a thread never answered) into the
 * error that names the device at fault, from facts the devices recorded rather than from which
 * reply came first: a crash; then a thread that stopped answering (the device it was running);
 * then a device that ended its step without starting a collective its peers waited in (it has
 * started fewer collectives on the step's outbox than they have); and only then a bare timeout,
 * which means no device failed and the timeout is shorter than a step takes.
 */
import type { Control } from './control.js';
import {
  CollectiveTimeoutError,
  DeviceCrashError,
  type DeviceFailureError,
  DeviceHangError,
  DeviceMissingError,
} from './errors.js';
import { hostedRanks } from './placement.js';
import type { FailureReply, SuccessReply } from './protocol.js';

/** The facts a diagnosis reads besides the replies. */
export interface StepFacts {
  /** The control block: where each device and thread stood. */
  readonly control: Control;
  /** Collectives each rank has started on the step's outbox. */
  readonly epochs?: Int32Array;
  /** The step's timeout, for the messages. */
  readonly timeoutMs: number;
}

function list(ranks: readonly number[]): string {
  return ranks.length === 1 ? `rank ${ranks[0]}` : `ranks ${ranks.join(', ')}`;
}

/**
 * The error that names the device at fault in a step that failed (see the module comment for the
 * order of the checks).
 *
 * @param replies - each thread's reply, undefined where a thread never answered.
 * @param facts - the control block, the collectives each rank started, the timeout.
 * @returns the failure, or undefined when every thread succeeded.
 */
export function diagnose(
  replies: readonly (SuccessReply | FailureReply | undefined)[],
  facts: StepFacts,
): DeviceFailureError | undefined {
  const { control, epochs, timeoutMs } = facts;
  const failures = replies.filter((r): r is FailureReply => r !== undefined && !r.ok);
  const silent = replies.flatMap((r, thread) => (r === undefined ? [thread] : []));
  if (failures.length === 0 && silent.length === 0) return undefined;

  const crash = failures.find((f) => f.kind === 'crash');
  if (crash) {
    return new DeviceCrashError(
      'crash',
      crash.rank,
      crash.phase,
      `device rank ${crash.rank} crashed in phase '${crash.phase}': ${crash.message}`,
    );
  }
  if (silent.length > 0) {
    const hung = silent.map((thread) => control.running(thread) ?? -1).filter((rank) => rank >= 0);
    const rank = hung[0] ?? -1;
    const phase = rank >= 0 ? control.phaseOf(rank) : 'idle';
    const who = hung.length > 0 ? `device ${list(hung)}` : `device thread ${silent.join(', ')}`;
    return new DeviceHangError(
      'hang',
      rank,
      phase,
      `${who} stopped responding in phase '${phase}' (no reply within ${timeoutMs} ms); its thread was terminated`,
    );
  }
  const finished = new Set(failures.flatMap((f) => f.finished));
  for (const r of replies) {
    if (!r?.ok) continue;
    const [first, end] = hostedRanks(control.block.devices, control.block.threads, r.thread);
    for (let rank = first; rank < end; rank++) finished.add(rank);
  }
  const waiting = failures.flatMap((f) => f.waiting);
  const started = (rank: number) => (epochs ? epochs[rank] : 0);
  // A device that ended its step having started fewer collectives than a peer waiting for it skipped one.
  const missing = [
    ...new Set(waiting.filter((w) => finished.has(w.peer) && started(w.peer) < started(w.rank)).map((w) => w.peer)),
  ].sort((a, b) => a - b);
  const first = failures.find((f) => f.kind === 'timeout') ?? failures[0];
  const phase = first.phase;
  if (missing.length > 0) {
    const waiters = [...new Set(waiting.filter((w) => missing.includes(w.peer)).map((w) => w.rank))].sort(
      (a, b) => a - b,
    );
    return new DeviceMissingError(
      'missing',
      missing[0],
      phase,
      `device ${list(missing)} never joined the collective in phase '${phase}'; ${list(waiters)} waited for it until the ${timeoutMs} ms timeout`,
    );
  }
  const example = waiting.find((w) => w.rank === first.rank) ?? waiting[0];
  const detail = example
    ? `rank ${example.rank} waited for rank ${example.peer}, which had not reached it`
    : first.message;
  return new CollectiveTimeoutError(
    'timeout',
    first.rank,
    phase,
    `collective timed out after ${timeoutMs} ms in phase '${phase}' with no device at fault (${detail}): the timeout is shorter than a step takes here; raise timeoutMs (--timeout-ms in the CLI)`,
  );
}
