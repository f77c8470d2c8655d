/**
 * Each framework's synchronized BN measured against exact single-device BN on the whole batch
 * (the same stored values, statistics in float64 by two passes, the framework's own eps and its
 * own single-device running-variance convention).
 *
 *   mean_error         max over devices and channels of |mean - exact mean| / exact std
 *   var_error          max of |var - exact var| / exact var
 *   output_error       max |y - exact y| / max |exact y| over the whole batch
 *   running_var_error  max over devices of the relative error of the running variance after one
 *                      step from 0 (the variance the step folds in, times the momentum), against
 *                      the framework's own single-device update on the whole batch
 *   exact              every error finite and within 16 u kappa, where u is float32's unit
 *                      roundoff (float64's for float64 data: what a careful framework reaches
 *                      on data of that storage type) and kappa = max(1, |mean| / std); the output
 *                      may add 2 u_s, the rounding of a 16-bit output itself, and so may the
 *                      running variance of a model kept in 16 bits: exact to the rounding the
 *                      data's own precision forces, no more
 * Devices without rows are left out of the mean and variance errors (they normalize nothing) and
 * kept in the running variance's.
 */
import { checkChoiceList, checkOptions } from '../args.js';
import type { HalfFormat } from '../half/formats.js';
import { type StorageType, applyRule, roundingOf } from './engine.js';
import { SEMANTICS_CASES, type SemanticsCase, type SemanticsCaseName, semanticsCase } from './cases.js';
import { FRAMEWORK_NAMES, FRAMEWORK_RULES, type FrameworkName, type SyncBnRule } from './rules.js';
import { batchAxes } from '../norm/axes.js';
import { setMoments } from '../norm/reduce.js';
import { channelLayout } from '../tensor/tensor.js';

/** One framework on one case. */
export interface SemanticsRow {
  /** The framework. */
  readonly framework: FrameworkName;
  /** The case. */
  readonly case: SemanticsCaseName;
  /** max |mean - exact mean| / exact std over devices with rows and channels; NaN when refused. */
  readonly meanError: number;
  /** max |var - exact var| / exact var, the same way. */
  readonly varError: number;
  /** max |y - exact y| / max |exact y| over the whole batch. */
  readonly outputError: number;
  /** Relative error of the running variance after one step, against the framework's single-device update. */
  readonly runningVarError: number;
  /** Every error finite and within the rounding the data's precision forces (see the module comment). */
  readonly exact: boolean;
  /** Why the framework refused the case, or why a result is not finite. */
  readonly note?: string;
}

const UNIT_ROUNDOFF: Readonly<Record<StorageType, number>> = {
  float64: 2 ** -53,
  float32: 2 ** -24,
  float16: 2 ** -11,
  bfloat16: 2 ** -8,
};

function finiteOr(x: number): number {
  return Number.isFinite(x) ? x : NaN;
}

/**
 * Measures one framework on one case.
 * @param rule - the framework.
 * @param c - the case.
 * @returns the errors against exact single-device BN.
 */
export function measureRule(rule: SyncBnRule, c: SemanticsCase): SemanticsRow {
  const outcome = applyRule(rule, c.shards, { storage: c.storage, halfModel: c.halfModel, initialRunningVar: 0 });
  const store = roundingOf(c.storage);
  const x = new Float64Array(c.input.data.length);
  for (let i = 0; i < x.length; i++) x[i] = store(c.input.data[i]);
  const layout = channelLayout(c.input.shape);
  const C = layout.channels;
  const exact = setMoments(x, layout, batchAxes(C));
  const N = exact.count;
  let meanError = 0;
  let varError = 0;
  for (const d of outcome.devices) {
    if (d.rows === 0) continue;
    for (let ch = 0; ch < C; ch++) {
      meanError = Math.max(meanError, finiteOr(Math.abs(d.mean[ch] - exact.mean[ch]) / Math.sqrt(exact.var[ch])));
      varError = Math.max(varError, finiteOr(Math.abs(d.var[ch] - exact.var[ch]) / exact.var[ch]));
    }
  }
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    const ch = Math.floor(i / layout.inner) % C;
    const y = (x[i] - exact.mean[ch]) / Math.sqrt(exact.var[ch] + outcome.eps);
    diff = Math.max(diff, finiteOr(Math.abs(outcome.output[i] - y)));
    scale = Math.max(scale, Math.abs(y));
  }
  const outputError = diff / scale;
  let runningVarError = 0;
  for (const d of outcome.devices) {
    for (let ch = 0; ch < C; ch++) {
      const stat = rule.running.singleDevice === 'unbiased' ? (exact.var[ch] * N) / (N - 1) : exact.var[ch];
      const ref = rule.running.form === 'torch' ? outcome.momentum * stat : (1 - outcome.momentum) * stat;
      runningVarError = Math.max(runningVarError, finiteOr(Math.abs(d.runningVar[ch] - ref) / ref));
    }
  }
  const errors = [meanError, varError, outputError, runningVarError];
  let kappa = 1;
  for (let ch = 0; ch < C; ch++) kappa = Math.max(kappa, Math.abs(exact.mean[ch]) / Math.sqrt(exact.var[ch]));
  const careful = UNIT_ROUNDOFF[c.storage === 'float64' ? 'float64' : 'float32'];
  const stored = c.storage === 'float64' || c.storage === 'float32' ? 0 : 2 * UNIT_ROUNDOFF[c.storage];
  const statsTolerance = 16 * careful * kappa;
  const tolerances = [
    statsTolerance,
    statsTolerance,
    statsTolerance + stored,
    statsTolerance + (c.halfModel ? stored : 0),
  ];
  const finite = errors.every((e) => Number.isFinite(e));
  const note = outcome.refused ?? (finite ? undefined : 'non-finite statistics (NaN or infinity reached the devices)');
  return {
    framework: rule.name,
    case: c.name,
    meanError: outcome.refused ? NaN : meanError,
    varError: outcome.refused ? NaN : varError,
    outputError: outcome.refused ? NaN : outputError,
    runningVarError: outcome.refused ? NaN : runningVarError,
    exact: outcome.refused === undefined && finite && errors.every((e, i) => e <= tolerances[i]),
    ...(note ? { note } : {}),
  };
}

/** Options of a semantics run. */
export interface SemanticsOptions {
  /** Default: all of them. */
  readonly frameworks?: readonly FrameworkName[];
  /** Default: all of them. */
  readonly cases?: readonly SemanticsCaseName[];
  /** The 16-bit format of the half cases; default float16. */
  readonly half?: HalfFormat;
  /** How the other cases store their values; default float32. */
  readonly storage?: StorageType;
}

/**
 * Every chosen framework on every chosen case.
 * @param options - frameworks, cases, the 16-bit format.
 * @returns one row per framework and case, cases outer, frameworks inner.
 * @throws InputError for an unknown framework, case or format.
 * @example
 * ```ts
 * // Shards of unequal size: Flax's unweighted pmean misses the batch mean, PyTorch's count-weighted merge does not.
 * for (const row of runSemantics({ frameworks: ['pytorch', 'flax'], cases: ['uneven'] })) {
 *   console.log(row.framework, row.meanError, row.exact); // pytorch ~2e-8 true; flax ~0.03 false
 * }
 * ```
 */
export function runSemantics(options: SemanticsOptions = {}): SemanticsRow[] {
  checkOptions('options', options);
  const frameworks =
    options.frameworks === undefined
      ? FRAMEWORK_NAMES
      : checkChoiceList('frameworks', options.frameworks, FRAMEWORK_NAMES);
  const cases =
    options.cases === undefined ? SEMANTICS_CASES : checkChoiceList('cases', options.cases, SEMANTICS_CASES);
  const rows: SemanticsRow[] = [];
  for (const name of cases) {
    const c = semanticsCase(name, { half: options.half, storage: options.storage });
    for (const f of frameworks) rows.push(measureRule(FRAMEWORK_RULES[f], c));
  }
  return rows;
}
