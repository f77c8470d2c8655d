/** The `compare` report as the JSON `syncbn-sim compare --json` prints (README: the CLI, compare). */
import type { AlgorithmRow, CompareReport, DeviceRow, ModeRow } from '../../experiments/compare.js';
import type { SnakeCased } from './snake-case.js';

/** The documented JSON of a comparison. */
export type CompareJson = SnakeCased<CompareReport>;

/**
 * Maps a comparison to its documented JSON, keys in the documented order.
 * @param r - the report of {@link compareModes}.
 * @returns the JSON document (plain data, ready for JSON.stringify).
 */
export function compareJson(r: CompareReport): CompareJson {
  return {
    batch: {
      shape: r.batch.shape,
      dtype: r.batch.dtype,
      ...(r.batch.source === 'synthetic' ? { source: 'synthetic', seed: r.batch.seed } : { source: 'input' }),
    },
    grad_output:
      r.gradOutput.source === 'input' ? { source: 'input' } : { source: 'synthetic', seed: r.gradOutput.seed },
    devices: r.devices,
    stats: r.stats,
    settings: {
      eps: r.settings.eps,
      accumulator: r.settings.accumulator,
      algorithm: r.settings.algorithm,
      momentum: r.settings.momentum,
      ...(r.settings.shift
        ? { shift: { by: r.settings.shift.by, value: r.settings.shift.value, note: r.settings.shift.note } }
        : {}),
    },
    scale: { output: r.scale.output, grad_input: r.scale.gradInput, grad_weight: r.scale.gradWeight },
    global: { count: r.global.count, mean: r.global.mean, var: r.global.var },
    per_device: r.perDevice.map(deviceJson),
    summary: {
      rms_mean_shift_in_std: r.summary.rmsMeanShiftInStd,
      iid_rms_mean_shift_in_std: r.summary.iidRmsMeanShiftInStd,
      max_mean_shift_in_std: r.summary.maxMeanShiftInStd,
      rms_var_ratio_error: r.summary.rmsVarRatioError,
      min_var_ratio: r.summary.minVarRatio,
      max_var_ratio: r.summary.maxVarRatio,
      empty_devices: r.summary.emptyDevices,
    },
    modes: r.modes.map(modeJson),
    algorithms: r.algorithms.map(algorithmJson),
  };
}

function deviceJson(d: DeviceRow): SnakeCased<DeviceRow> {
  return { rank: d.rank, rows: d.rows, count: d.count, mean: d.mean, var: d.var };
}

function modeJson(m: ModeRow): SnakeCased<ModeRow> {
  return {
    mode: m.mode,
    max_abs_diff_output: m.maxAbsDiffOutput,
    max_abs_diff_grad_input: m.maxAbsDiffGradInput,
    max_abs_diff_grad_weight: m.maxAbsDiffGradWeight,
    rel_diff_output: m.relDiffOutput,
    rel_diff_grad_input: m.relDiffGradInput,
    rel_diff_grad_weight: m.relDiffGradWeight,
    messages: m.messages,
    bytes: m.bytes,
  };
}

function algorithmJson(a: AlgorithmRow): SnakeCased<AlgorithmRow> {
  return {
    algorithm: a.algorithm,
    messages: a.messages,
    bytes: a.bytes,
    max_messages_per_rank: a.maxMessagesPerRank,
    max_abs_diff_output: a.maxAbsDiffOutput,
    identical_on_all_ranks: a.identicalOnAllRanks,
  };
}
