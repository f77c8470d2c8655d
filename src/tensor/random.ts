/**
 * Seeded random numbers for synthetic data: pure-rand's xoroshiro128+ for uniforms, and the
 * Box-Muller transform for normals. The same seed gives the same numbers on every machine.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { checkInteger } from '../args.js';

const WARM_UP_DRAWS = 20;

/** Uniform and normal draws from a seed (an integer; only its low 32 bits matter). */
export class SeededRandom {
  private readonly rng;
  private spare: number | undefined;

  /**
   * A generator seeded with `seed`.
   *
   * @param seed - an integer; only its low 32 bits matter.
   * @throws {@link syncbn-sim!InputError} when an argument is unusable (the message names it).
   */
  constructor(seed: number) {
    checkInteger('seed', seed);
    this.rng = xoroshiro128plus(seed | 0);
    // A small seed fills the state with few bits; the first outputs are poor until it mixes.
    for (let i = 0; i < WARM_UP_DRAWS; i++) this.uniform();
  }

  /**
   * Uniform in [0, 1).
   *
   * @returns a draw from U[0, 1).
   */
  uniform(): number {
    return uniformFloat64(this.rng);
  }

  /**
   * Standard normal.
   *
   * @returns a draw from N(0, 1).
   */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    // 1 - u keeps the logarithm away from zero.
    const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }
}
