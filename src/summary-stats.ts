/**
 * Summaries of a sample of numbers (timings, errors): the median and other quantiles. One module,
 * so that every benchmark and experiment reports "the median" the same way.
 */

/**
 * The median of the values: the middle one, or the mean of the two middle ones.
 * @param values - the sample, in any order (not modified).
 * @returns the median; NaN for an empty sample.
 */
export function median(values: readonly number[]): number {
  // Not quantile(values, 0.5): (a + b) / 2 is what the reports have always printed, to the bit.
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The value at quantile `q` of the sample, interpolating linearly between the two nearest ranks
 * (NumPy's default): q = 0 is the smallest value, 0.5 the median, 1 the largest.
 * @param values - the sample, in any order (not modified).
 * @param q - the quantile, from 0 to 1.
 * @returns the quantile; NaN for an empty sample.
 */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms: about 15 digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The continued fraction of the regularized incomplete beta function (modified Lentz). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < 1e-16) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/**
 * The cumulative distribution function of Student's t with `df` degrees of freedom.
 * @param t - the value.
 * @param df - degrees of freedom, > 0.
 * @returns P(T <= t).
 */
export function studentTCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/**
 * The quantile of Student's t: the t with P(T <= t) = p (bisection on the CDF, to 1e-12).
 * @param p - the probability, in (0, 1).
 * @param df - degrees of freedom, > 0.
 * @returns the quantile (0.975 and df = 4 give 2.776...).
 */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) return NaN;
  if (p === 0.5) return 0;
  if (p < 0.5) return -studentTQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A sample's mean with the half-width of its 95% confidence interval. */
export interface MeanWithCi {
  /** The sample mean. */
  readonly mean: number;
  /** t(0.975, k - 1) x s / sqrt(k), s the sample standard deviation; null for a sample of one. */
  readonly ci95: number | null;
}

/**
 * The mean and the 95% confidence half-width of a sample, by Student's t (k - 1 degrees of freedom).
 * @param values - the sample (at least one value).
 * @returns the mean and the half-width (null for one value, where no interval exists).
 */
export function meanCi95(values: readonly number[]): MeanWithCi {
  const k = values.length;
  if (k === 0) return { mean: NaN, ci95: null };
  const mean = values.reduce((a, v) => a + v, 0) / k;
  if (k === 1) return { mean, ci95: null };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (k - 1);
  return { mean, ci95: (studentTQuantile(0.975, k - 1) * Math.sqrt(variance)) / Math.sqrt(k) };
}
