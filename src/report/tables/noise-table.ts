/** The `noise` report as a terminal table, with a footer that says what every column is. */
import type { NoiseReport } from '../../experiments/noise.js';
import { count, formatNumber, renderTable } from '../table.js';
import { noiseColumnNotes } from './noise-columns.js';

/**
 * The report as text: a header line, a row per batch size and mode, and the column notes.
 * @param r - the report of {@link noiseExperiment}.
 * @returns the table, lines joined by newlines (no trailing newline).
 */
export function noiseTable(r: NoiseReport): string {
  const source =
    r.source.kind === 'synthetic'
      ? `${r.source.dist} data (${r.source.description})`
      : `rows drawn from your [${r.source.shape.join(',')}] array`;
  const lines = [
    `noise: ${source}, ${count(r.devices, 'device')}, ${count(r.trials, 'trial')}, ${count(r.channels, 'channel')}; ratio = measured / theory (1 means as i.i.d. theory predicts)`,
    '',
    renderTable(
      [
        'b',
        'mode',
        'n',
        'Var(mean)/s^2',
        'theory 1/n',
        'ratio',
        'Var(var)/s^4',
        'theory',
        'ratio',
        'vs batch mean: ratio',
        'var/batch var: rms dev',
      ],
      r.rows.map((row) => [
        row.batch,
        row.mode,
        row.valuesPerUnit,
        formatNumber(row.meanNoise, 4),
        formatNumber(row.meanNoiseTheory, 4),
        formatNumber(row.meanRatio, 3),
        formatNumber(row.varNoise, 4),
        formatNumber(row.varNoiseTheory, 4),
        formatNumber(row.varRatio, 3),
        row.meanVsBatchRatio === null ? '-' : formatNumber(row.meanVsBatchRatio, 3),
        formatNumber(row.varVsBatchRms, 3),
      ]),
    ),
    '',
    ...(r.shift ? [`note: ${r.shift.note}`] : []),
    ...noiseColumnNotes(),
  ];
  return lines.join('\n');
}
