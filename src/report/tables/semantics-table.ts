/**
 * The `semantics` report as a terminal table: a block per case, a row per framework, its four
 * errors against exact single-device BN, whether it is exact to rounding, and why not where a
 * framework refuses the case or reaches NaN; then what each column is.
 */
import type { SemanticsReport } from '../../experiments/semantics.js';
import { renderTable } from '../table.js';

/** What each case is, as the table says it. */
export const CASE_NOTES: Readonly<Record<string, string>> = {
  even: '16 rows over 4 devices (4 each)',
  uneven: '10 rows over 4 devices (3, 3, 2, 2)',
  empty: '3 rows over 4 devices (1, 1, 1, 0)',
  offset: '16 rows over 4 devices, |mean| / std = 1e4',
  half: '16 rows over 4 devices stored in 16 bits, mixed precision',
  'half-counts': '32 x 56 x 56 = 100,352 values per channel on each of 2 devices, the model in 16 bits (model.half())',
};

function error(value: number): string {
  if (Number.isNaN(value)) return '-';
  if (value === 0) return '0';
  return value.toExponential(1).replace('e+', 'e');
}

/**
 * The table.
 * @param r - the report.
 * @returns the text, ending without a newline.
 */
export function semanticsTable(r: SemanticsReport): string {
  const storage =
    r.dtype === r.half ? `stored in ${r.dtype} (mixed precision)` : `stored in ${r.dtype}; half cases in ${r.half}`;
  const lines = [`Synchronized BN of each framework against exact single-device BN on the whole batch (${storage}):`];
  for (const c of r.cases) {
    lines.push('', `${c}: ${CASE_NOTES[c] ?? ''}`);
    lines.push(
      renderTable(
        ['framework', 'mean error', 'var error', 'output error', 'running var error', 'exact', 'note'],
        r.rows
          .filter((row) => row.case === c)
          .map((row) => [
            row.framework,
            error(row.meanError),
            error(row.varError),
            error(row.outputError),
            error(row.runningVarError),
            row.exact ? 'yes' : 'NO',
            row.note ?? '',
          ]),
      ),
    );
  }
  lines.push(
    '',
    'mean error: max over devices and channels of |mean - exact| / exact std; var error: relative error of the variance normalized with;',
    'output error: max |y - exact y| / max |exact y|; running var error: relative error of the running variance after one step from 0,',
    "against the framework's own single-device update; exact: every error within 16 u max(1, |mean|/std) (u float32's unit roundoff, float64's",
    'for float64 data), plus the rounding of a 16-bit output; "-": refused, or NaN (see the note). detectron2 is stats_mode "", detectron2-n "N".',
  );
  return lines.join('\n');
}
