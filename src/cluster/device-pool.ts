/**
 * W device threads and the one operation every job needs from them: run one task on every
 * device at once, and either return all replies or name the device that failed.
 *
 * Devices wait for each other inside collectives, so all W tasks must run concurrently: the
 * piscina pool has exactly W threads and never more than W tasks in flight. Every wait inside a
 * device has a deadline and polls the shared abort flag; when one device fails the pool raises
 * the flag, gives the rest a moment to notice, names the device at fault and terminates every
 * thread (a hung one included).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { allocateControl, clearAbort, raiseAbort } from './control.js';
import { diagnose } from './diagnose.js';
import { ClusterClosedError, type DeviceFailureError } from './errors.js';
import type { BaseReply } from './protocol.js';

/** Time the other devices get to notice an abort before the silent ones are declared hung. */
const ABORT_GRACE_MS = 1000;
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

/**
 * Resolves when `work` settles, after `ms`, or when the function handed to `onInterrupt` is
 * called, whichever comes first; the timer never outlives it (a live timer would hold the
 * process open).
 */
function settleWithin(work: Promise<unknown>, ms: number, onInterrupt?: (wake: () => void) => void): Promise<void> {
  return new Promise((resolvePromise) => {
    const done = () => {
      clearTimeout(timer);
      resolvePromise();
    };
    const timer = setTimeout(done, ms);
    work.then(done, done);
    onInterrupt?.(done);
  });
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
      idleTimeout: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: 1,
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
    const replies: (R | undefined)[] = new Array(this.devices).fill(undefined);
    let failed = false;
    let interrupt = () => {};
    const onFailure = () => {
      failed = true;
      raiseAbort(control);
      interrupt();
    };
    const tasks = Array.from({ length: this.devices }, (_, rank) =>
      pool.run(taskFor(rank)).then(
        (reply: R) => {
          replies[rank] = reply;
          // Bad input is found by a device that still completes its step: nobody is stuck.
          if (!reply.ok && reply.kind !== 'bad-input') onFailure();
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          replies[rank] = { ok: false, rank, kind: 'crash', phase: 'idle', message } as R;
          onFailure();
        },
      ),
    );
    const all = Promise.all(tasks);
    // Every device answers, or the deadline passes, or one fails and the rest get a grace period.
    await settleWithin(all, this.timeoutMs + ABORT_GRACE_MS, (wake) => (interrupt = wake));
    if (failed && replies.includes(undefined)) {
      raiseAbort(control);
      await settleWithin(all, ABORT_GRACE_MS);
    }
    const error = diagnose(replies, control, this.timeoutMs);
    if (error) {
      await this.abandon(error);
      throw error;
    }
    return replies as R[];
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
