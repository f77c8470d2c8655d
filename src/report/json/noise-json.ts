/** The `noise` report as the JSON `syncbn-sim noise --json` prints (README: experiments on statistics). */
import type { NoiseReport, NoiseRow } from '../../experiments/noise.js';
import type { SnakeCased } from './snake-case.js';

/** The documented JSON of the noise experiment; its `rows` are also the CSV's. */
export type NoiseJson = SnakeCased<NoiseReport>;

/**
 * Maps a noise report to its documented JSON, keys in the documented order.
 * @param r - the report of {@link noiseExperiment}.
 * @returns the JSON document (plain data, ready for JSON.stringify).
 */
export function noiseJson(r: NoiseReport): NoiseJson {
  return {
    source:
      r.source.kind === 'synthetic'
        ? { kind: 'synthetic', dist: r.source.dist, description: r.source.description }
        : { kind: 'input', shape: r.source.shape },
    devices: r.devices,
    trials: r.trials,
    channels: r.channels,
    seed: r.seed,
    stats: r.stats,
    ...(r.shift ? { shift: { by: r.shift.by, value: r.shift.value, note: r.shift.note } } : {}),
    rows: r.rows.map(noiseRowJson),
  };
}

/**
 * One row of the noise report as JSON (and as a CSV line: the CSV's columns are these keys).
 * @param row - a row of {@link NoiseReport.rows}.
 * @returns the row with its documented keys, in order.
 */
export function noiseRowJson(row: NoiseRow): SnakeCased<NoiseRow> {
  return {
    batch: row.batch,
    mode: row.mode,
    values_per_unit: row.valuesPerUnit,
    mean_ratio: row.meanRatio,
    var_ratio: row.varRatio,
    mean_noise: row.meanNoise,
    mean_noise_theory: row.meanNoiseTheory,
    var_noise: row.varNoise,
    var_noise_theory: row.varNoiseTheory,
    mean_vs_batch_ratio: row.meanVsBatchRatio,
    var_vs_batch_rms: row.varVsBatchRms,
    samples: row.samples,
  };
}
