/** How a device turns what went wrong into a reply (errors lose their fields across threads). */
import { CollectiveAbortedError, CollectiveTimeoutError } from '../collectives/errors.js';
import type { Phase } from './control.js';
import type { FailureReply } from './protocol.js';

export function failureReply(rank: number, phase: Phase, error: unknown): FailureReply {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof CollectiveTimeoutError) return { ok: false, rank, kind: 'timeout', phase, message, waitingFor: error.waitingFor };
  if (error instanceof CollectiveAbortedError) return { ok: false, rank, kind: 'aborted', phase, message, waitingFor: error.waitingFor };
  return { ok: false, rank, kind: 'crash', phase, message };
}
