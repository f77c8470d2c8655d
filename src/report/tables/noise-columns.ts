/**
 * What every column of the `noise` table means, in one place: the table's footer and
 * `syncbn-sim noise --help` print the same text.
 */

/** A column of the noise table and what it holds. */
export interface ColumnNote {
  /** The column's header, as the table prints it. */
  readonly header: string;
  /** What it holds, in one sentence. */
  readonly meaning: string;
}

/** The columns in table order (two are both named "ratio": each divides the two columns before it). */
export const NOISE_COLUMNS: readonly ColumnNote[] = [
  { header: 'b', meaning: 'rows per device (the per-device batch size)' },
  { header: 'mode', meaning: 'local, group:K or sync: which devices pool their statistics into one normalizing unit' },
  { header: 'n', meaning: 'values per channel one unit normalizes with (b x H x W x the devices in the unit)' },
  {
    header: 'Var(mean)/s^2',
    meaning: "measured variance of a unit's mean around the population mean, in units of the population variance s^2",
  },
  { header: 'theory 1/n', meaning: 'what i.i.d. theory predicts for it' },
  { header: 'ratio', meaning: 'Var(mean)/s^2 divided by its theory: 1 means as i.i.d. theory predicts' },
  { header: 'Var(var)/s^4', meaning: "measured variance of a unit's unbiased variance around s^2, in units of s^4" },
  {
    header: 'theory',
    meaning: 'what i.i.d. theory predicts for it: (mu4/n - s^4 (n-3)/(n(n-1))) / s^4, 2/(n-1) for normal data',
  },
  { header: 'ratio', meaning: 'Var(var)/s^4 divided by its theory' },
  {
    header: 'vs batch mean: ratio',
    meaning:
      "measured Var(unit mean - whole-batch mean) divided by its i.i.d. theory s^2 (1/n - 1/N), N the values per channel of the whole global batch: how far a unit's mean strays from the mean sync BN uses; '-' for sync, whose unit is the whole batch",
  },
  {
    header: 'var/batch var: rms dev',
    meaning:
      'root mean square over units, channels and trials of (unit variance / whole-batch variance - 1): how far the variance a unit normalizes with is from the one sync BN uses',
  },
];

/**
 * The footer of the noise table (and the tail of its --help): one line per column.
 *
 * @returns 'Columns:' and one indented line per column, headers padded to one width.
 */
export function noiseColumnNotes(): string[] {
  const width = Math.max(...NOISE_COLUMNS.map((c) => c.header.length));
  return ['Columns:', ...NOISE_COLUMNS.map((c) => `  ${c.header.padEnd(width)}  ${c.meaning}`)];
}
