/**
 * Timers of any length. Node's setTimeout holds at most 2^31 - 1 ms (about 24.8 days): a longer
 * delay fires after 1 ms instead, with a TimeoutOverflowWarning. A user's timeout may be longer
 * (a huge value is a fair way to say "wait as long as it takes"), so long delays are waited in
 * slices below that limit.
 */

/** The longest delay a single Node timer holds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `fn` once `ms` milliseconds have passed, whatever their number; returns a canceller. */
export function setLongTimeout(fn: () => void, ms: number): () => void {
  let left = Math.max(0, ms);
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    const slice = Math.min(left, MAX_TIMER_MS);
    left -= slice;
    timer = setTimeout(left > 0 ? arm : fn, slice);
  };
  arm();
  return () => clearTimeout(timer);
}
