/**
 * Independent 32-bit seeds derived from one user seed, for the data's random streams (the train
 * and test splits of the synthetic set, the shuffle of each epoch). SeededRandom takes a 32-bit
 * seed; mixing the stream number in with a murmur3-style finalizer gives seeds that differ in every
 * bit for nearby inputs, so stream k of seed s is unrelated to stream k+1 or to seed s+1. Each use
 * has its own stream number below, so that the same user seed given to the data and to the
 * shuffle never makes two of them draw the same numbers.
 */

/** Stream numbers of deriveSeed, one per use. */
export const SEED_STREAMS = {
  syntheticTrain: 1,
  syntheticTest: 2,
  /** The epoch shuffles: epoch e uses deriveSeed(deriveSeed(seed, shuffle), e). */
  shuffle: 3,
} as const;

/**
 * The seed of sub-stream `stream` of `seed` (both taken as 32-bit integers).
 *
 * @param seed - the user's seed.
 * @param stream - the stream number (SEED_STREAMS).
 * @returns a 32-bit seed.
 */
export function deriveSeed(seed: number, stream: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul((stream | 0) + 0x632be5ab, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}
