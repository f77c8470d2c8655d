/**
 * `semantics`: one batch through the synchronized-BN rule of every framework (src/semantics), on
 * simulated devices, each measured against exact single-device BN on the whole batch.
 */
import { checkChoice, checkChoiceList, checkOptions } from '../args.js';
import { HALF_FORMATS, type HalfFormat } from '../half/formats.js';
import { SEMANTICS_CASES, type SemanticsCaseName, semanticsCase } from '../semantics/cases.js';
import type { StorageType } from '../semantics/engine.js';
import { type SemanticsRow, measureRule } from '../semantics/measure.js';
import { FRAMEWORK_NAMES, FRAMEWORK_RULES, type FrameworkName } from '../semantics/rules.js';

/** The storage types `semantics --dtype` takes. */
export const SEMANTICS_DTYPES: readonly StorageType[] = ['float32', 'float64', ...HALF_FORMATS];

/** Options of {@link semanticsExperiment}. */
export interface SemanticsExperimentOptions {
  /** The frameworks, in table order; default all of them. */
  readonly frameworks?: readonly FrameworkName[];
  /** The cases, in table order; default all of them. */
  readonly cases?: readonly SemanticsCaseName[];
  /**
   * How every case stores its values: float32 (default), float64, or a 16-bit format (every case
   * then runs under mixed precision). The half cases use this format when it has 16 bits, float16 otherwise.
   */
  readonly dtype?: StorageType;
}

/** The report: the settings as used and one row per case and framework. */
export interface SemanticsReport {
  /** Storage of the cases other than the half ones. */
  readonly dtype: StorageType;
  /** The 16-bit format of the half cases. */
  readonly half: HalfFormat;
  /** The frameworks, in table order. */
  readonly frameworks: readonly FrameworkName[];
  /** The cases, in table order. */
  readonly cases: readonly SemanticsCaseName[];
  /** Cases outer, frameworks inner. */
  readonly rows: readonly SemanticsRow[];
}

/**
 * Checks the options and fills in the defaults (before anything runs).
 * @param options - frameworks, cases, dtype.
 * @returns the options as used.
 * @throws InputError for an unknown framework, case or dtype, or an empty list.
 */
export function resolveSemanticsOptions(options: SemanticsExperimentOptions = {}): Omit<SemanticsReport, 'rows'> {
  checkOptions('options', options);
  const frameworks =
    options.frameworks === undefined
      ? FRAMEWORK_NAMES
      : checkChoiceList('frameworks', options.frameworks, FRAMEWORK_NAMES);
  const cases =
    options.cases === undefined ? SEMANTICS_CASES : checkChoiceList('cases', options.cases, SEMANTICS_CASES);
  const dtype = options.dtype === undefined ? 'float32' : checkChoice('dtype', options.dtype, SEMANTICS_DTYPES);
  const half: HalfFormat = dtype === 'float16' || dtype === 'bfloat16' ? dtype : 'float16';
  return { dtype, half, frameworks, cases };
}

/**
 * Every chosen framework on every chosen case.
 * @param options - frameworks, cases, dtype.
 * @returns the settings as used and one row per case and framework.
 * @throws InputError for an unknown framework, case or dtype.
 * @example
 * ```ts
 * const { rows } = semanticsExperiment({ frameworks: ['pytorch', 'flax'], cases: ['uneven'] });
 * ```
 */
export function semanticsExperiment(options: SemanticsExperimentOptions = {}): SemanticsReport {
  const used = resolveSemanticsOptions(options);
  const rows: SemanticsRow[] = [];
  for (const name of used.cases) {
    const c = semanticsCase(name, { half: used.half, storage: used.dtype });
    for (const f of used.frameworks) rows.push(measureRule(FRAMEWORK_RULES[f], c));
  }
  return { ...used, rows };
}
