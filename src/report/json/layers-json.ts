/**
 * The per-layer reports of `compare --input acts.npz` and `noise --input acts.npz` as the JSON
 * their `--json` prints: `{"source", "devices", ..., "layers": [{"name", "type", "shape", "rows":
 * [...], "summary": {...}}], "most_sensitive": [...]}` (README: captured activations).
 */
import type { LayerCompareReport, LayerNoiseReport, LayerNoiseRow, LayerStrayRow } from '../../experiments/layers.js';
import { noiseRowJson } from './noise-json.js';
import type { SnakeCased } from './snake-case.js';

/** The documented JSON of `compare --input acts.npz`. */
export type LayerCompareJson = SnakeCased<LayerCompareReport>;
/** The documented JSON of `noise --input acts.npz`. */
export type LayerNoiseJson = SnakeCased<LayerNoiseReport>;

/**
 * One step of one layer, as JSON.
 * @param r - a row of a layer of {@link LayerCompareReport}.
 * @returns the row with its documented keys, in order.
 */
export function layerStrayRowJson(r: LayerStrayRow): SnakeCased<LayerStrayRow> {
  return {
    step: r.step,
    rows: r.rows,
    rows_per_device: r.rowsPerDevice,
    values_per_device: r.valuesPerDevice,
    mean_stray: r.meanStray,
    mean_stray_iid: r.meanStrayIid,
    noise_ratio: r.noiseRatio,
    effective_n: r.effectiveN,
    var_stray_rms: r.varStrayRms,
    constant_channels: r.constantChannels,
  };
}

/**
 * Maps a per-layer compare report to its documented JSON.
 * @param r - the report of {@link compareLayers}.
 * @returns the JSON document.
 */
export function layerCompareJson(r: LayerCompareReport): LayerCompareJson {
  return {
    source: r.source,
    devices: r.devices,
    layers: r.layers.map((l) => ({
      name: l.name,
      type: l.type,
      shape: [...l.shape],
      rows: l.rows.map(layerStrayRowJson),
      summary: {
        values_per_row: l.summary.valuesPerRow,
        rows_per_device: l.summary.rowsPerDevice,
        values_per_device: l.summary.valuesPerDevice,
        mean_stray: l.summary.meanStray,
        mean_stray_iid: l.summary.meanStrayIid,
        noise_ratio: l.summary.noiseRatio,
        effective_n: l.summary.effectiveN,
        effective_per_row: l.summary.effectivePerRow,
      },
    })),
    most_sensitive: [...r.mostSensitive],
  };
}

/**
 * One noise row of one layer, as JSON (the noise report's row keys plus `effective_n`).
 * @param r - a row of a layer of {@link LayerNoiseReport}.
 * @returns the row with its documented keys, in order.
 */
export function layerNoiseRowJson(r: LayerNoiseRow): SnakeCased<LayerNoiseRow> {
  return { ...noiseRowJson(r), effective_n: r.effectiveN };
}

/**
 * Maps a per-layer noise report to its documented JSON.
 * @param r - the report of {@link noiseLayers}.
 * @returns the JSON document.
 */
export function layerNoiseJson(r: LayerNoiseReport): LayerNoiseJson {
  return {
    source: r.source,
    devices: r.devices,
    trials: r.trials,
    seed: r.seed,
    layers: r.layers.map((l) => ({
      name: l.name,
      type: l.type,
      shape: [...l.shape],
      population: l.population,
      rows: l.rows.map(layerNoiseRowJson),
      summary: {
        values_per_row: l.summary.valuesPerRow,
        noise_ratio: l.summary.noiseRatio,
        effective_per_row: l.summary.effectivePerRow,
        smallest_batch: l.summary.smallestBatch,
        mean_noise_at_smallest: l.summary.meanNoiseAtSmallest,
      },
    })),
    most_sensitive: [...r.mostSensitive],
  };
}
