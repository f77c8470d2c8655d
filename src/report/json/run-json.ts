/**
 * `run`'s stats.json (README: `syncbn-sim run`), which `run --json` also prints. The run's report is typed in camelCase (src/experiments/run.ts); its snake_case keys
 * are spelt here, key by key and in the documented order.
 */
import { type BatchNormSettings, resolveSettings } from '../../bn/batch-norm.js';
import type { Moments } from '../../bn/moments.js';
import {
  type ClusterRunDetails,
  HALF_STORAGE_NOTE,
  type OverflowNote,
  type RunReport,
  type ShiftNote,
  runOverflow,
  shiftNote,
} from '../../experiments/run.js';
import type { HalfFormat } from '../../half/formats.js';
import { checkRunReport } from '../../experiments/option-checks.js';
import { type DType, dtypeOf } from '../../tensor/tensor.js';

/** Statistics in stats.json: the count and, per channel, the mean and the biased variance. */
export interface MomentsJson {
  /** Values per channel. */
  readonly count: number;
  /** Per channel. */
  readonly mean: number[];
  /** Per channel, biased. */
  readonly var: number[];
}

/** One device of a run on simulated devices, in stats.json. */
export interface RunDeviceJson extends MomentsJson {
  /** The device. */
  readonly rank: number;
  /** Rows [start, end) of the batch it held. */
  readonly rows: number[];
  /** The statistics it normalized with. */
  readonly normalized_with: MomentsJson;
  /** Its running statistics after the step. */
  readonly running: { readonly mean: number[]; readonly var: number[] };
}

/** The document stats.json holds (and `run --json` prints, with the files written). */
export interface RunStatsJson {
  /** The input's shape and dtype. */
  readonly input: { readonly shape: number[]; readonly dtype: DType };
  /** 'train' or 'eval'. */
  readonly mode: 'train' | 'eval';
  /** What the output was normalized with. */
  readonly normalized_with: 'batch statistics' | 'running statistics';
  /**
   * Every setting as used, defaults filled in; the shift with --stats shifted-sums in train mode;
   * the 16-bit storage with --dtype float16 or bfloat16.
   */
  readonly settings: Omit<BatchNormSettings, 'training'> & {
    readonly shift?: { readonly by: string; readonly zero_channels: number[]; readonly note?: string };
    readonly storage?: { readonly dtype: HalfFormat; readonly note: string };
  };
  /** Where the result overflowed to NaN or infinity; absent when it did not. */
  readonly overflow?: { readonly note: string; readonly where: OverflowNote[] };
  /** Statistics of the whole batch. */
  readonly global: MomentsJson;
  /** The running statistics after the step (rank 0's on devices). */
  readonly running: { readonly mean: number[]; readonly var: number[] };
  /** The BN mode across devices, on simulated devices. */
  readonly mode_across_devices?: string;
  /** Each device, on simulated devices. */
  readonly devices?: RunDeviceJson[];
  /** What was sent, forward plus backward, on simulated devices. */
  readonly comm?: { readonly algorithm: string; readonly messages: number; readonly bytes: number };
}

/**
 * The stats.json document of a run: every setting as used, defaults filled in, with the documented
 * snake_case keys.
 *
 * @param report - a run's report.
 * @returns the document, ready for JSON.stringify (NaN and infinity become null there).
 * @throws InputError when `report` is not a run's report.
 */
export function runStatsJson(report: RunReport): RunStatsJson {
  checkRunReport(report);
  const { result, inputs, settings } = report;
  const used = resolveSettings(settings);
  const training = used.training;
  const shift = shiftNote(report);
  const overflow = runOverflow(report);
  return {
    input: { shape: [...inputs.input.shape], dtype: dtypeOf(inputs.input.data) },
    mode: training ? 'train' : 'eval',
    normalized_with: training ? 'batch statistics' : 'running statistics',
    settings: {
      momentum: used.momentum,
      eps: used.eps,
      stats: used.stats,
      accumulator: used.accumulator,
      convention: used.convention,
      ...(shift ? { shift: shiftJson(shift) } : {}),
      ...(report.storage ? { storage: { dtype: report.storage, note: HALF_STORAGE_NOTE } } : {}),
    },
    ...(overflow.length > 0
      ? { overflow: { note: 'NaN and infinity are written as null in JSON', where: overflow } }
      : {}),
    global: momentsJson(report.global),
    running: { mean: Array.from(result.runningMean), var: Array.from(result.runningVar) },
    ...(report.cluster ? clusterJson(report.cluster) : {}),
  };
}

function shiftJson(s: ShiftNote): { by: string; zero_channels: number[]; note?: string } {
  return { by: s.by, zero_channels: [...s.zeroChannels], ...(s.note === undefined ? {} : { note: s.note }) };
}

function momentsJson(m: Moments): MomentsJson {
  return { count: m.count, mean: Array.from(m.mean), var: Array.from(m.var) };
}

function clusterJson(c: ClusterRunDetails): Pick<RunStatsJson, 'mode_across_devices' | 'devices' | 'comm'> {
  return {
    mode_across_devices: c.mode,
    devices: c.perDevice.map((d) => ({
      rank: d.rank,
      rows: [...d.rows],
      count: d.local.count,
      mean: Array.from(d.local.mean),
      var: Array.from(d.local.var),
      normalized_with: momentsJson(d.used),
      running: { mean: Array.from(c.running[d.rank].mean), var: Array.from(c.running[d.rank].var) },
    })),
    comm: { algorithm: c.comm.algorithm, messages: c.comm.messages, bytes: c.comm.bytes },
  };
}
