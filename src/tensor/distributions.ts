/**
 * Distributions for the noise experiment, each with the population moments the theory needs:
 * mean, variance and the fourth central moment mu4 (kurtosis decides how noisy a variance is).
 */
import type { SeededRandom } from './random.js';

/** The distributions the noise experiment draws from. */
export type DistributionName = 'normal' | 'uniform' | 'laplace' | 'relu-normal';
/** Every distribution, in the order the CLI lists them. */
export const DISTRIBUTION_NAMES: readonly DistributionName[] = ['normal', 'uniform', 'laplace', 'relu-normal'];

/** A distribution to draw i.i.d. values from, with the population moments the noise theory needs. */
export interface Distribution {
  /** Its name. */
  readonly name: DistributionName;
  /** One line for tables and plots. */
  readonly description: string;
  /** The population mean. */
  readonly mean: number;
  /** The population variance (1 except for relu-normal). */
  readonly variance: number;
  /** E[(x - mean)^4]. */
  readonly mu4: number;
  /**
   * One draw.
   *
   * @param rng - the generator to draw with.
   * @returns a value.
   */
  sample(rng: SeededRandom): number;
}

const SQRT3 = Math.sqrt(3);
const LAPLACE_B = Math.SQRT1_2; // scale b with variance 2b^2 = 1

/** ReLU of a standard normal: raw moments E[X^k] = E[Z^k; Z > 0]. */
const RELU = (() => {
  const m1 = 1 / Math.sqrt(2 * Math.PI);
  const m2 = 0.5;
  const m3 = Math.sqrt(2 / Math.PI);
  const m4 = 1.5;
  const variance = m2 - m1 * m1;
  const mu4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1 ** 4;
  return { mean: m1, variance, mu4 };
})();

const DISTRIBUTIONS: Readonly<Record<DistributionName, Distribution>> = {
  normal: { name: 'normal', description: 'standard normal', mean: 0, variance: 1, mu4: 3, sample: (r) => r.normal() },
  uniform: {
    name: 'uniform',
    description: 'uniform on [-sqrt 3, sqrt 3] (light tails)',
    mean: 0,
    variance: 1,
    mu4: 9 / 5,
    sample: (r) => SQRT3 * (2 * r.uniform() - 1),
  },
  laplace: {
    name: 'laplace',
    description: 'Laplace with unit variance (heavy tails, kurtosis 6)',
    mean: 0,
    variance: 1,
    mu4: 6,
    sample: (r) => {
      const u = r.uniform() - 0.5;
      return -LAPLACE_B * Math.sign(u) * Math.log(1 - 2 * Math.abs(u));
    },
  },
  'relu-normal': {
    name: 'relu-normal',
    description: 'ReLU of a standard normal (half the values are 0)',
    ...RELU,
    sample: (r) => Math.max(0, r.normal()),
  },
};

/**
 * The distribution of that name.
 *
 * @param name - one of DISTRIBUTION_NAMES.
 * @returns the distribution and its moments.
 */
export function distributionByName(name: DistributionName): Distribution {
  return DISTRIBUTIONS[name];
}

/**
 * Variance of the unbiased sample variance of n i.i.d. values: mu4/n - var^2 (n-3)/(n(n-1)).
 * For normal data (mu4 = 3 var^2) this is 2 var^2 / (n-1).
 *
 * @param variance - the population variance s^2.
 * @param mu4 - the fourth central moment.
 * @param n - values per sample, >= 2.
 * @returns Var(unbiased sample variance).
 */
export function varianceOfSampleVariance(variance: number, mu4: number, n: number): number {
  return mu4 / n - (variance * variance * (n - 3)) / (n * (n - 1));
}
