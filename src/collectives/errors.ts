/**
 * Errors a collective raises inside a device thread. They never reach the caller as they are: the
 * thread turns them into a failure reply (data), and the coordinator raises the matching
 * `DeviceFailureError` (src/cluster/errors.ts).
 */
import { SyncBnError } from '../errors.js';

/** A device waited longer than the timeout for a message from `waitingFor`. */
export class PeerWaitTimeoutError extends SyncBnError {
  /** Always 'E_PEER_WAIT_TIMEOUT'. */
  override readonly code = 'E_PEER_WAIT_TIMEOUT';
  /** Always 'PeerWaitTimeoutError'. */
  override readonly name = 'PeerWaitTimeoutError';

  /**
   * @param rank - the device that waited.
   * @param waitingFor - the rank it waited for (-1 when it waited for something else than a message).
   * @param timeoutMs - how long it waited.
   */
  constructor(
    /** The device that waited. */
    readonly rank: number,
    /** The rank it waited for (-1 when it waited for something else than a message). */
    readonly waitingFor: number,
    /** How long it waited, in milliseconds. */
    readonly timeoutMs: number,
  ) {
    super(`rank ${rank} timed out after ${timeoutMs} ms waiting for rank ${waitingFor}`);
  }
}

/** The run was aborted (another device failed) while this device waited. */
export class PeerWaitAbortedError extends SyncBnError {
  /** Always 'E_PEER_WAIT_ABORTED'. */
  override readonly code = 'E_PEER_WAIT_ABORTED';
  /** Always 'PeerWaitAbortedError'. */
  override readonly name = 'PeerWaitAbortedError';

  /**
   * @param rank - the device that stopped waiting.
   * @param waitingFor - the rank it waited for.
   */
  constructor(
    /** The device that stopped waiting. */
    readonly rank: number,
    /** The rank it waited for. */
    readonly waitingFor: number,
  ) {
    super(`rank ${rank} stopped waiting for rank ${waitingFor}: the run was aborted`);
  }
}

/** A device's program threw: names the device and keeps what it threw as `cause`. */
export class DeviceProgramError extends SyncBnError {
  /** Always 'E_DEVICE_PROGRAM'. */
  override readonly code = 'E_DEVICE_PROGRAM';
  /** Always 'DeviceProgramError'. */
  override readonly name = 'DeviceProgramError';

  /**
   * @param rank - the device whose program threw.
   * @param cause - what it threw; its message becomes this error's message.
   */
  constructor(
    /** The device whose program threw. */
    readonly rank: number,
    /** What the program threw. */
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}
