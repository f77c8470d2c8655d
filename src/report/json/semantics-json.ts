/** The `semantics` report as the JSON `syncbn-sim semantics --json` prints (README: semantics). */
import type { SemanticsReport } from '../../experiments/semantics.js';
import type { SemanticsRow } from '../../semantics/measure.js';
import type { SnakeCased } from './snake-case.js';

/** One row of the documented JSON: the seven documented keys, no others. */
export type SemanticsJsonRow = SnakeCased<Omit<SemanticsRow, 'note'>>;

/** The documented JSON: exactly `{"rows": [...]}` (errors NaN where a framework refuses a case, written as null). */
export interface SemanticsJson {
  /** One row per case and framework. */
  readonly rows: SemanticsJsonRow[];
}

/**
 * Maps a semantics report to its documented JSON, keys in the documented order.
 * @param r - the report of {@link semanticsExperiment}.
 * @returns the JSON document (plain data, ready for JSON.stringify).
 */
export function semanticsJson(r: SemanticsReport): SemanticsJson {
  return {
    rows: r.rows.map((row) => ({
      framework: row.framework,
      case: row.case,
      mean_error: row.meanError,
      var_error: row.varError,
      output_error: row.outputError,
      running_var_error: row.runningVarError,
      exact: row.exact,
    })),
  };
}
