/**
 * Runs a coordinator's async calls one at a time, in the order they were made.
 *
 * A Cluster or a Trainer owns shared buffers (the staging copy of the batch, the comm buffers, the
 * devices' state) that only one step may use at a time. Calls that overlap (`Promise.all` of two
 * forwards, a backward issued before its forward settled) would otherwise read each other's data
 * silently; queued, each runs on its own once every earlier call has settled, fulfilled or not.
 */
export class CallQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private waiting = 0;

  /** Calls made and not yet settled (the running one included). */
  get pending(): number {
    return this.waiting;
  }

  /**
   * Runs `job` after every call queued before it has settled; settles as `job` does.
   *
   * @param job - the call, started once every earlier one has settled.
   * @returns `job`'s promise, settled as it settles.
   */
  run<T>(job: () => Promise<T>): Promise<T> {
    this.waiting++;
    const result = this.tail.then(async () => {
      try {
        return await job();
      } finally {
        // Counted down before the caller's await resumes, so that it sees the queue as it is.
        this.waiting--;
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }
}
