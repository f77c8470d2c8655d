/** The `sweep` report as a terminal table: a row per configuration, mean ± 95% CI over seeds. */
import type { SweepReport } from '../../experiments/sweep.js';
import { count, formatNumber, renderTable } from '../table.js';

/**
 * A mean with its 95% confidence half-width, as percentages: "81.2 ± 1.3".
 * @param mean - the mean accuracy (0 to 1), or null when every seed diverged.
 * @param ci - the half-width, or null for one seed.
 * @returns the text ('diverged' for no mean).
 */
export function percentWithCi(mean: number | null, ci: number | null): string {
  if (mean === null) return 'diverged';
  return `${(100 * mean).toFixed(1)}${ci === null ? '' : ` ± ${(100 * ci).toFixed(1)}`}`;
}

/**
 * The report as text.
 * @param r - the report of {@link sweepExperiment}.
 * @returns the table and its notes, lines joined by newlines.
 */
export function sweepTable(r: SweepReport): string {
  const s = r.settings;
  const anyDiverged = r.rows.some((row) => row.diverged > 0);
  const budget = s.steps !== null ? count(s.steps, 'step') : count(s.epochs ?? 0, 'epoch');
  const lines = [
    `sweep: ${s.model} on ${s.dataset}${s.subset !== null ? ` (${s.subset} examples)` : ''}, ${budget} per run, ${count(s.seeds, 'seed')} per configuration (seeds ${s.seed} to ${s.seed + s.seeds - 1}), lr ${formatNumber(s.lr, 4)}; ` +
      `${count(r.trained, 'run')} trained${r.reused > 0 ? `, ${r.reused} reused from the resume directory` : ''}`,
    '',
    renderTable(
      [
        'BN',
        'norm',
        'W',
        'b',
        'lr scaling',
        'seeds',
        'train acc %',
        'test acc % (running)',
        'precise BN %',
        'batch stats %',
        'gap vs sync (pts)',
        ...(anyDiverged ? ['diverged'] : []),
      ],
      r.rows.map((row) => [
        row.bn,
        row.norm,
        row.devices,
        row.perDeviceBatch,
        row.lrScaling,
        row.seeds,
        percentWithCi(row.trainAccMean, row.trainAccCi95),
        percentWithCi(row.testAccMean, row.testAccCi95),
        percentWithCi(row.testAccPreciseMean, row.testAccPreciseCi95),
        percentWithCi(row.testAccBatchMean, row.testAccBatchCi95),
        row.gapVsSync === null ? '-' : `${row.gapVsSync >= 0 ? '+' : ''}${(100 * row.gapVsSync).toFixed(1)}`,
        ...(anyDiverged ? [`${row.diverged} of ${row.seeds}`] : []),
      ]),
    ),
    '',
    "accuracies: mean of each run's final evaluation over the seeds, ± the half-width of the 95% confidence interval (Student's t, seeds - 1 degrees of freedom; none for one seed);",
    "gap vs sync: test accuracy (running statistics) minus sync batch norm's at the same per-device batch, devices and lr scaling, in percentage points.",
    ...(anyDiverged
      ? [
          'diverged: seeds whose loss or weights became NaN or infinite; the accuracies are over the other seeds ("diverged" when none is left).',
        ]
      : []),
  ];
  return lines.join('\n');
}
