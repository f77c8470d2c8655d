/**
 * The device threads, and the one operation every job needs from them: run one task on every
 * thread at once (each hosting its run of devices), and either return all replies or name the
 * device that failed.
 *
 * Devices wait for each other inside collectives, so every thread's task must run at the same
 * time: the piscina pool has exactly T threads and never more than T tasks in flight. Every wait
 * inside a thread has a deadline and polls the shared abort flag. When a thread fails, or the
 * coordinator's own deadline passes, the pool raises the flag, gives the threads a grace period to
 * say where their devices stood, names the device at fault (see diagnose.ts) and terminates every
 * thread, a hung one included.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { allocateDoorbells } from '../collectives/doorbells.js';
import { NotBuiltError } from '../errors.js';
import { Control, allocateControl } from './control.js';
import { diagnose } from './diagnose.js';
import { ClusterClosedError, type DeviceFailureError } from './errors.js';
import { hostedRanks } from './placement.js';
import type { FailureReply, Hosting, SuccessReply, ThreadLinks } from './protocol.js';

/** Time the threads get to answer after an abort before the silent ones are declared hung. */
const ABORT_GRACE_MS = 1000;
/**
 * How long a thread may take to pick its task up before it counts as silent: starting threads
 * under load can take seconds, which counts against no timeout.
 */
const STARTUP_LIMIT_MS = 60_000;
/** Bell reads before a thread sleeps, when each thread can have its own core. */
const SPINS_WHEN_CORES_SUFFICE = 20_000;

/** Where the compiled worker entry lives, from this file in src/ (vitest) or dist/src/ (built). */
function workerFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return builtWorkerFile(
    here.split(/[\\/]/).includes('dist') ? resolve(here, '..', '..', '..') : resolve(here, '..', '..'),
  );
}

/**
 * The compiled worker entry of the package checked out at `root`.
 *
 * @param root - the package's root folder (the one holding dist/).
 * @returns the path of dist/workers/device.js.
 * @throws {@link NotBuiltError} when the file is missing (`npm run build` makes it).
 */
export function builtWorkerFile(root: string): string {
  const file = join(root, 'dist', 'workers', 'device.js');
  if (!existsSync(file)) throw new NotBuiltError(`device worker not built (${file} missing): run npm run build`);
  return file;
}

/**
 * Options for the device threads. Node 20 loads the worker entry (an ES module) through piscina's
 * require() first; a thread terminated while require() is instantiating an ES module aborts the
 * whole process (a native assertion). Refusing require() of ES modules in the threads makes
 * piscina import() the entry instead, which a termination interrupts cleanly. Needed when a pool
 * is torn down after a fault while some threads are still starting, as happens under load.
 */
function threadExecArgv(): string[] {
  const flag = '--no-experimental-require-module';
  return process.allowedNodeEnvironmentFlags.has(flag) ? [...process.execArgv, flag] : process.execArgv;
}

/** How often the coordinator looks at the threads' heartbeats while a step runs. */
const WATCH_EVERY_MS = 50;

/** Resolves when `work` settles or after `ms`; the timer never outlives it (it would hold the process open). */
function settleWithin(work: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolvePromise) => {
    const done = () => {
      clearTimeout(timer);
      resolvePromise();
    };
    const timer = setTimeout(done, ms);
    work.then(done, done);
  });
}

/**
 * Resolves when `work` settles, when `stop()` is called, or when some thread of `unfinished` has
 * shown no heartbeat for `silenceMs`. A thread is silent only if it neither runs a device nor
 * wakes from a wait: a long but healthy step never trips it, a hung thread always does.
 */
function watchHeartbeats(
  work: Promise<unknown>,
  control: Control,
  unfinished: () => number[],
  silenceMs: number,
  onStop: (stop: () => void) => void,
): Promise<void> {
  return new Promise((resolvePromise) => {
    const seen = new Map<number, { beat: number; since: number }>();
    const sent = Date.now();
    const done = () => {
      clearInterval(timer);
      resolvePromise();
    };
    const timer = setInterval(() => {
      const now = Date.now();
      for (const thread of unfinished()) {
        const beat = control.heartbeat(thread);
        const last = seen.get(thread);
        if (beat === 0) {
          if (now - sent >= STARTUP_LIMIT_MS) return done(); // never picked its task up
        } else if (!last || last.beat !== beat) seen.set(thread, { beat, since: now });
        else if (now - last.since >= silenceMs) return done();
      }
    }, WATCH_EVERY_MS);
    work.then(done, done);
    onStop(done);
  });
}

/**
 * The T device threads of a cluster or a trainer (a piscina pool of exactly T threads), and the one
 * operation every job needs from them: run one task on every thread at once.
 */
export class DevicePool {
  /** The abort flag and what every device and thread is doing (see control.ts). */
  readonly control: Control;
  /** What every task passes its thread: the control block, the doorbells and the spin count. */
  readonly links: ThreadLinks;
  private pool?: Piscina;
  private closedBecause = 'the cluster was closed';

  /**
   * Starts the threads (in the background; see `ready`).
   *
   * @param devices - W: the simulated devices.
   * @param threads - T: the threads hosting them, each a run of consecutive ranks.
   * @param timeoutMs - how long a device may wait for a peer, and a thread may stay silent.
   * @throws {@link NotBuiltError} when the compiled device worker is missing.
   */
  constructor(
    /** W: the simulated devices. */
    readonly devices: number,
    /** T: the threads hosting them. */
    readonly threads: number,
    /** How long a device may wait for a peer, and a thread may stay silent, in ms. */
    readonly timeoutMs: number,
  ) {
    this.control = new Control(allocateControl({ devices, threads }));
    // Spinning pays only when every thread can have a core; otherwise it steals the core a peer needs.
    const spins = threads <= availableParallelism() ? SPINS_WHEN_CORES_SUFFICE : 0;
    this.links = { control: this.control.block, doorbells: allocateDoorbells(threads), spins };
    this.pool = new Piscina({
      filename: workerFile(),
      minThreads: threads,
      maxThreads: threads,
      // Infinity, not a huge number: piscina arms a timer with it, and Node's timers overflow at 2^31 - 1 ms.
      idleTimeout: Infinity,
      concurrentTasksPerWorker: 1,
      execArgv: threadExecArgv(),
    });
  }

  /**
   * True once the threads were stopped (by close, or after a device failure).
   *
   * @returns whether the pool is closed.
   */
  get closed(): boolean {
    return this.pool === undefined;
  }

  /**
   * The devices thread `thread` hosts.
   *
   * @param thread - the thread.
   * @returns its first rank, one past its last, and the geometry.
   */
  hosting(thread: number): Hosting {
    const [first, end] = hostedRanks(this.devices, this.threads, thread);
    return { thread, threads: this.threads, devices: this.devices, first, end };
  }

  /**
   * Waits until every thread is up and answering (a no-op task each).
   *
   * @throws {@link ClusterClosedError} when the pool is closed.
   */
  async ready(): Promise<void> {
    const pool = this.live();
    await Promise.all(Array.from({ length: this.threads }, () => pool.run({ op: 'ping' })));
  }

  /**
   * Runs `taskFor(hosting)` on every thread at once. Returns every reply, or throws the failure
   * naming the device at fault, after terminating the pool. `epochs` (read after the step) are the
   * collectives each rank started on the step's outbox, which tell a skipped collective from a
   * slow one.
   *
   * @param taskFor - builds each thread's task from the devices it hosts.
   * @param epochs - reads, after the step, how many collectives each rank started on the step's
   *   outbox.
   * @returns every thread's reply, in thread order.
   * @throws {@link ClusterClosedError} when the pool is closed.
   * @throws {@link DeviceFailureError} naming the device at fault (the pool is then closed).
   */
  async runOnAll<R extends SuccessReply>(
    taskFor: (hosting: Hosting) => object,
    epochs?: () => Int32Array,
  ): Promise<R[]> {
    const pool = this.live();
    const control = this.control;
    control.reset();
    const replies: (R | FailureReply | undefined)[] = new Array(this.threads).fill(undefined);
    let failed = false;
    let interrupt = () => {};
    const onFailure = () => {
      failed = true;
      control.raiseAbort();
      interrupt();
    };
    const tasks = Array.from({ length: this.threads }, (_, thread) =>
      pool.run(taskFor(this.hosting(thread))).then(
        (reply: R | FailureReply) => {
          replies[thread] = reply;
          if (!reply.ok) onFailure();
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          const rank = control.running(thread) ?? this.hosting(thread).first;
          replies[thread] = {
            ok: false,
            thread,
            kind: 'crash',
            rank,
            phase: control.phaseOf(rank),
            message,
            finished: [],
            waiting: [],
          };
          onFailure();
        },
      ),
    );
    const all = Promise.all(tasks);
    const unfinished = () => replies.flatMap((r, thread) => (r === undefined ? [thread] : []));
    // Every thread answers, or one fails, or one goes silent: then the rest get a grace period.
    await watchHeartbeats(all, control, unfinished, this.timeoutMs, (stop) => (interrupt = stop));
    if (replies.includes(undefined)) {
      failed = true;
      control.raiseAbort();
      await settleWithin(all, ABORT_GRACE_MS);
    }
    if (!failed) return replies as R[];
    const error = diagnose(replies, { control, epochs: epochs?.(), timeoutMs: this.timeoutMs });
    if (!error) return replies as R[];
    await this.abandon(error);
    throw error;
  }

  /** Stops every device thread. Safe to call more than once. */
  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    if (pool) await pool.destroy();
  }

  private live(): Piscina {
    if (!this.pool) throw new ClusterClosedError(`cluster is closed: ${this.closedBecause}`);
    return this.pool;
  }

  private async abandon(error: DeviceFailureError): Promise<void> {
    this.closedBecause = `a device failed (${error.message})`;
    await this.close();
  }
}
