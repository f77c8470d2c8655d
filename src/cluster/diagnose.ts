/**
 * Names the device at fault in a failed step, from the replies (undefined where a device never
 * answered) and the facts every rank recorded in the control block. Which reply came first plays
 * no part: under load a healthy rank's own timeout can come after the coordinator's deadline.
 *
 * Evidence, strongest first:
 * - a crash names itself;
 * - a rank that finished its step having joined fewer collectives than another rank joined
 *   skipped one (every rank runs the same collectives, so a healthy one that finished joined all);
 * - a rank that never answered, even after the abort and a grace period, and was not waiting for
 *   any peer is stuck outside any collective: hung (or, not started at all, never picked its task
 *   up). When ranks waited for peers, the ranks their chains of waits end at are named first.
 * With none of these, ranks gave up on peers that were only slower than the timeout.
 */
import type { Phase, RankFacts } from './control.js';
import {
  CollectiveTimeout,
  DeviceCrashError,
  type DeviceFailureError,
  DeviceHangError,
  DeviceMissingError,
} from './errors.js';
import type { BaseReply } from './protocol.js';

function list(ranks: readonly number[]): string {
  return ranks.length === 1 ? `rank ${ranks[0]}` : `ranks ${ranks.join(', ')}`;
}

/** The rank a chain of waits starting at `rank` ends at (a rank of the cycle, if it loops). */
function endOfWaits(facts: readonly RankFacts[], rank: number): number {
  const seen = new Set<number>();
  let at = rank;
  while (!seen.has(at)) {
    seen.add(at);
    const next = facts[at].waitingFor;
    if (next === undefined) return at;
    at = next;
  }
  return at;
}

/** The error naming the device at fault, or undefined when the step succeeded (bad input counts as success). */
export function diagnose(replies: readonly (BaseReply | undefined)[], facts: readonly RankFacts[], timeoutMs: number): DeviceFailureError | undefined {
  // A device that reported bad input still completed its step.
  const failed = replies.some((r) => r === undefined || (!r.ok && r.kind !== 'bad-input'));
  if (!failed) return undefined;

  const crash = replies.find((r): r is Extract<BaseReply, { ok: false }> => r !== undefined && !r.ok && r.kind === 'crash');
  if (crash) {
    return new DeviceCrashError('crash', crash.rank, crash.phase, `device rank ${crash.rank} crashed in phase '${crash.phase}': ${crash.message}`);
  }

  const silent = (rank: number) => replies[rank] === undefined;
  const finished = (rank: number) => facts[rank].task === 'finished';
  const waiters = facts.filter((f) => f.waitingFor !== undefined);

  const mostJoined = Math.max(...facts.map((f) => f.joined));
  const missing = facts.filter((f) => finished(f.rank) && f.joined < mostJoined).map((f) => f.rank);
  if (missing.length > 0) {
    const waitedBy = waiters.filter((w) => missing.includes(w.waitingFor!)).map((w) => w.rank);
    const blocked = waitedBy.length > 0 ? waitedBy : waiters.map((w) => w.rank);
    const phase = (blocked.length > 0 ? facts[blocked[0]] : facts.find((f) => f.joined === mostJoined)!).phase;
    const who = waitedBy.length > 0 ? `${list(waitedBy)} waited for it` : `its peers waited in it`;
    return new DeviceMissingError('missing', missing[0], phase, `device ${list(missing)} never joined the collective in phase '${phase}'; ${who} until the ${timeoutMs} ms timeout`);
  }

  const stuck = (rank: number) => silent(rank) && !finished(rank) && facts[rank].waitingFor === undefined;
  const ends = new Set(waiters.map((w) => endOfWaits(facts, w.rank)).filter(stuck));
  const hung = ends.size > 0 ? [...ends] : facts.map((f) => f.rank).filter(stuck);
  if (hung.length > 0) {
    hung.sort((a, b) => a - b);
    const phase = facts[hung[0]].phase;
    if (hung.every((r) => facts[r].task === 'not started')) {
      return new DeviceHangError('hang', hung[0], phase, `device ${list(hung)} never started its task (its thread did not pick it up); the pool was terminated`);
    }
    return new DeviceHangError('hang', hung[0], phase, `device ${list(hung)} stopped responding in phase '${phase}' (no reply within ${timeoutMs} ms); its thread was terminated`);
  }

  const first = waiters[0] ?? facts[0];
  const phase: Phase = first.phase;
  const waits = waiters.map((w) => `rank ${w.rank} waited for rank ${w.waitingFor}`).join('; ');
  return new CollectiveTimeout(
    'timeout',
    first.rank,
    phase,
    `collective timed out after ${timeoutMs} ms in phase '${phase}' with no device at fault${waits ? ` (${waits})` : ''}: the timeout is shorter than a step takes here; raise timeoutMs (--timeout-ms in the CLI)`,
  );
}
