/**
 * W device threads and the one operation every job needs from them: run one task on every
 * device at once, and either return all replies or name the device that failed.
 *
 * Devices wait for each other inside collectives, so all W tasks must run concurrently: the
 * piscina pool has exactly W threads and never more than W tasks in flight. Every wait inside a
 * device has its own timeout and polls the shared abort flag. The step ends in one of three ways:
 * every device answers; one reports a failure (a crash, or a timeout waiting for a peer); or the
 * coordinator's deadline passes, a margin after the devices' own timeout would have. In the last
 * two the coordinator raises the abort flag and gives the rest a grace period to answer, then
 * names the device at fault from the facts each rank recorded in the control block (see
 * diagnose.ts) and terminates every thread, a hung one included.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { allocateControl, clearAbort, factsOf, progressOf, raiseAbort, resetFacts } from './control.js';
import { diagnose } from './diagnose.js';
import { setLongTimeout } from './long-timeout.js';
import { ClusterClosedError, type DeviceFailureError } from './errors.js';
import type { BaseReply } from './protocol.js';

/**
 * How much longer than the devices' own timeout the coordinator waits before it steps in: the
 * devices' deadlines start when they reach a collective, a little after the step was sent out.
 */
const DEADLINE_MARGIN_MS = 500;
/** Time the devices get, once the abort flag is up, to answer before the silent ones count as hung. */
const ABORT_GRACE_MS = 500;
/**
 * How long threads may take to pick their task up (starting a thread under load can take seconds;
 * that time counts against no timeout).
 */
const STARTUP_LIMIT_MS = 60_000;
/** How often the coordinator looks at the progress counter while a step runs. */
const PROGRESS_TICK_MS = 100;
/** Flag checks before a device sleeps, when each device can have its own core. */
const SPIN_WHEN_CORES_SUFFICE = 20_000;

/** Where the compiled worker entry lives, from this file in src/ (vitest) or dist/src/ (built). */
function workerFile(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.split(/[\\/]/).includes('dist') ? resolve(here, '..', '..', '..') : resolve(here, '..', '..');
  const file = join(root, 'dist', 'workers', 'device.js');
  if (!existsSync(file)) throw new Error(`device worker not built (${file} missing): run npm run build`);
  return file;
}

/** How a wait for a step ended: every task settled, a failure woke the coordinator, or time ran out. */
type Woken = 'settled' | 'woken' | 'timer';

/**
 * Resolves when `work` settles, after `ms`, or when the function handed to `onWake` is called,
 * whichever comes first; the timer never outlives it (a live timer would hold the process open).
 */
function settleWithin(work: Promise<unknown>, ms: number, onWake?: (wake: () => void) => void): Promise<Woken> {
  return new Promise((resolvePromise) => {
    const end = (how: Woken) => () => {
      cancel();
      resolvePromise(how);
    };
    const cancel = setLongTimeout(end('timer'), ms);
    work.then(end('settled'), end('settled'));
    onWake?.(end('woken'));
  });
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

/**
 * How long a device spins before it sleeps on a flag. When every member of a communicator can
 * have a core, a message comes within microseconds and a sleep would cost more; when they
 * outnumber the cores, spinning only steals the core the sender needs.
 */
export function spinFor(communicatorSize: number): number {
  return communicatorSize <= availableParallelism() ? SPIN_WHEN_CORES_SUFFICE : 0;
}

export class DevicePool {
  /** The abort flag and per-rank phases (see control.ts), shared with every task. */
  readonly control: SharedArrayBuffer;
  private pool?: Piscina;
  private closedBecause = 'the cluster was closed';
  /** One step at a time shares the control block; the coordinators queue their calls to ensure it. */
  private running = false;

  constructor(
    readonly devices: number,
    readonly timeoutMs: number,
  ) {
    this.control = allocateControl(devices);
    this.pool = new Piscina({
      filename: workerFile(),
      minThreads: devices,
      maxThreads: devices,
      idleTimeout: Infinity, // threads live as long as the pool (Infinity: piscina sets no timer)
      concurrentTasksPerWorker: 1,
      execArgv: threadExecArgv(),
    });
  }

  get closed(): boolean {
    return this.pool === undefined;
  }

  /** Waits until every thread is up and answering (a no-op task each). */
  async ready(): Promise<void> {
    const pool = this.live();
    await Promise.all(Array.from({ length: this.devices }, () => pool.run({ op: 'ping' })));
  }

  /**
   * Runs `taskFor(rank)` on every device at once. Returns every reply (bad-input replies
   * included: those devices completed their step), or throws the failure naming the device at
   * fault, after terminating the pool.
   */
  async runOnAll<R extends BaseReply>(taskFor: (rank: number) => object): Promise<R[]> {
    const pool = this.live();
    if (this.running) throw new Error('internal error: two steps overlapped on one device pool');
    this.running = true;
    try {
      return await this.runOnAllNow<R>(pool, taskFor);
    } finally {
      this.running = false;
    }
  }

  private async runOnAllNow<R extends BaseReply>(pool: Piscina, taskFor: (rank: number) => object): Promise<R[]> {
    const control = new Int32Array(this.control);
    clearAbort(control);
    resetFacts(control, this.devices);
    const replies: (R | undefined)[] = new Array(this.devices).fill(undefined);
    let failed = false;
    let wake = () => {};
    const onFailure = () => {
      failed = true;
      wake();
    };
    const tasks = Array.from({ length: this.devices }, (_, rank) =>
      pool.run(taskFor(rank)).then(
        (reply: R) => {
          replies[rank] = reply;
          // Bad input is found by a device that still completes its step: nobody is stuck.
          if (!reply.ok && reply.kind !== 'bad-input') onFailure();
        },
        (error: unknown) => {
          // The thread died (or was terminated): a crash, wherever it was.
          const message = error instanceof Error ? error.message : String(error);
          replies[rank] = { ok: false, rank, kind: 'crash', phase: factsOf(control, rank).phase, message } as R;
          onFailure();
        },
      ),
    );
    const all = Promise.all(tasks);
    await this.watch(all, control, () => failed, (w) => (wake = w));
    if (replies.includes(undefined)) {
      raiseAbort(control);
      await settleWithin(all, ABORT_GRACE_MS);
    }
    const facts = Array.from({ length: this.devices }, (_, rank) => factsOf(control, rank));
    const error = diagnose(replies, facts, this.timeoutMs);
    if (error) {
      await this.abandon(error);
      throw error;
    }
    return replies as R[];
  }

  /**
   * Waits until every device answered or one reported a failure. The coordinator steps in on its
   * own only when no rank has done anything (started, joined a collective, begun or ended a wait,
   * changed phase, finished) for the devices' timeout plus a margin: a device waiting for a peer
   * times out by itself before that, and says for whom it waited. Threads still starting up do
   * not count against the timeout.
   */
  private async watch(all: Promise<unknown>, control: Int32Array, failed: () => boolean, onWake: (wake: () => void) => void): Promise<void> {
    const sent = Date.now();
    const patience = this.timeoutMs + DEADLINE_MARGIN_MS;
    let seen = progressOf(control);
    let lastChange = sent;
    while (!failed()) {
      const wait = Math.max(0, Math.min(PROGRESS_TICK_MS, lastChange + patience - Date.now()));
      if ((await settleWithin(all, wait, onWake)) !== 'timer') return;
      const now = Date.now();
      const starting = now - sent < STARTUP_LIMIT_MS && Array.from({ length: this.devices }, (_, r) => factsOf(control, r)).some((f) => f.task === 'not started');
      if (progressOf(control) !== seen || starting) {
        seen = progressOf(control);
        lastChange = now;
      } else if (now - lastChange >= patience) {
        return;
      }
    }
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
