/** The `precision` report as the JSON `syncbn-sim precision --json` prints (README: experiments on statistics). */
import type { PrecisionReport, PrecisionRow } from '../../experiments/precision.js';
import type { SnakeCased } from './snake-case.js';

/** The documented JSON of the precision experiment; its `rows` are also the CSV's. */
export type PrecisionJson = SnakeCased<PrecisionReport>;

/**
 * Maps a precision report to its documented JSON, keys in the documented order.
 * @param r - the report of {@link precisionExperiment}.
 * @returns the JSON document (plain data, ready for JSON.stringify).
 */
export function precisionJson(r: PrecisionReport): PrecisionJson {
  const s = r.settings;
  return {
    settings: {
      rows: s.rows,
      channels: s.channels,
      devices: s.devices,
      trials: s.trials,
      seed: s.seed,
      eps: s.eps,
      scale: s.scale,
      offset: s.offset,
      ratios: s.ratios,
      dtypes: s.dtypes,
      methods: s.methods,
      algorithm: s.algorithm,
    },
    rows: r.rows.map(precisionRowJson),
    ...(r.halfCounts
      ? {
          half_counts: r.halfCounts.map((c) => ({
            format: c.format,
            count: c.count,
            stored: c.stored,
            exact: c.exact,
            running_var_exact: c.runningVarExact,
            running_var_stored: c.runningVarStored,
          })),
        }
      : {}),
  };
}

/**
 * One row of the precision report as JSON (and as a CSV line: the CSV's columns are these keys).
 * @param row - a row of {@link PrecisionReport.rows}.
 * @returns the row with its documented keys, in order.
 */
export function precisionRowJson(row: PrecisionRow): SnakeCased<PrecisionRow> {
  return {
    method: row.method,
    dtype: row.dtype,
    ratio: row.ratio,
    offset: row.offset,
    scale: row.scale,
    rel_error: row.relError,
    median_rel_error: row.medianRelError,
    negative_count: row.negativeCount,
    nan_count: row.nanCount,
    channel_trials: row.channelTrials,
    constant_channels: row.constantChannels,
    output_max_abs_error: row.outputMaxAbsError,
    rounds: row.rounds,
    values_per_allreduce: row.valuesPerAllreduce,
    values_formula: row.valuesFormula,
    bytes_per_device: row.bytesPerDevice,
  };
}
