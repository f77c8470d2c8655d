/** Errors a collective raises inside a device; the coordinator turns them into a report. */

/** A rank waited longer than the timeout for a message from `waitingFor`. */
export class CollectiveTimeoutError extends Error {
  override readonly name = 'CollectiveTimeoutError';
  constructor(
    readonly rank: number,
    readonly waitingFor: number,
    readonly timeoutMs: number,
  ) {
    super(`rank ${rank} timed out after ${timeoutMs} ms waiting for rank ${waitingFor}`);
  }
}

/** The run was aborted (another rank failed) while this rank waited. */
export class CollectiveAbortedError extends Error {
  override readonly name = 'CollectiveAbortedError';
  constructor(
    readonly rank: number,
    readonly waitingFor: number,
  ) {
    super(`rank ${rank} stopped waiting for rank ${waitingFor}: the run was aborted`);
  }
}

/** A device's program threw: names the device, keeps what it threw. */
export class DeviceProgramError extends Error {
  override readonly name = 'DeviceProgramError';
  constructor(
    readonly rank: number,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}
