/**
 * What a device thread does with a task: builds one program per device it hosts, runs them all
 * on one scheduler (pausing each at its waits, resuming whichever can go on), and turns the
 * outcome into a reply. A failure becomes data: the kind, the device at its root, its phase, and
 * where every hosted device stood, since errors lose their fields across threads.
 */
import type { WakeRouter } from '../collectives/outbox-endpoint.js';
import { Doorbells } from '../collectives/doorbells.js';
import type { Program } from '../collectives/endpoint.js';
import { DeviceProgramError, PeerWaitAbortedError, PeerWaitTimeoutError } from '../collectives/errors.js';
import { Scheduler } from '../collectives/scheduler.js';
import { ABORT_INDEX, Control } from './control.js';
import { threadOfRanks } from './placement.js';
import type { FailureReply, Hosting, ThreadLinks } from './protocol.js';

/** The thread of every rank, by (devices, threads): the same for every task of a cluster. */
const placements = new Map<string, Int32Array>();

function placementOf(hosting: Hosting): Int32Array {
  const key = `${hosting.devices}/${hosting.threads}`;
  let owner = placements.get(key);
  if (!owner) {
    owner = threadOfRanks(hosting.devices, hosting.threads);
    placements.set(key, owner);
  }
  return owner;
}

/** Builds device `rank`'s program, given the control block and the thread's router. */
export type ProgramBuilder<T> = (rank: number, control: Control, router: WakeRouter) => Program<T>;

/**
 * Runs the programs of every device `hosting` names to their end. Returns their results in rank
 * order, or the failure (after raising the abort flag, so that other threads stop waiting).
 *
 * @param hosting - the run of devices this thread hosts.
 * @param links - the control block, the doorbells and the spin count, shared by every thread.
 * @param timeoutMs - how long a device may wait for a peer.
 * @param build - builds each device's program.
 * @returns every result in rank order, or a failure reply: the kind, the device at its root, its
 *   phase and where every hosted device stood.
 */
export function hostDevices<T>(
  hosting: Hosting,
  links: ThreadLinks,
  timeoutMs: number,
  build: ProgramBuilder<T>,
): { ok: true; results: T[] } | FailureReply {
  const control = new Control(links.control);
  const { thread, first, end } = hosting;
  const scheduler = new Scheduler({
    thread,
    threadOfRank: placementOf(hosting),
    doorbells: new Doorbells(links.doorbells),
    abort: { array: control.array, index: ABORT_INDEX },
    timeoutMs,
    spins: links.spins,
    hooks: {
      running: (rank) => control.setRunning(thread, rank),
      alive: () => control.beat(thread),
    },
    timing: () => control.allStarted(),
  });
  control.markStarted();
  control.beat(thread);
  const ranks = Array.from({ length: end - first }, (_, i) => first + i);
  try {
    const programs = ranks.map((rank) => build(rank, control, scheduler));
    const results = scheduler.run(ranks, programs);
    control.setRunning(thread, undefined);
    return { ok: true, results };
  } catch (error) {
    control.raiseAbort();
    const { finished, waiting } = scheduler.snapshot();
    const messages = waiting.filter((w) => w.wait.kind === 'message').map((w) => ({ rank: w.rank, peer: w.wait.peer }));
    const base = { ok: false as const, thread, finished, waiting: messages };
    if (error instanceof DeviceProgramError) {
      const cause = error.cause instanceof Error ? error.cause.message : String(error.cause);
      return { ...base, kind: 'crash', rank: error.rank, phase: control.phaseOf(error.rank), message: cause };
    }
    if (error instanceof PeerWaitTimeoutError || error instanceof PeerWaitAbortedError) {
      const kind = error instanceof PeerWaitTimeoutError ? 'timeout' : 'aborted';
      return { ...base, kind, rank: error.rank, phase: control.phaseOf(error.rank), message: error.message };
    }
    const message = error instanceof Error ? error.message : String(error);
    return { ...base, kind: 'crash', rank: control.running(thread) ?? first, phase: 'idle', message };
  }
}
