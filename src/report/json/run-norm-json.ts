/** The stats.json of `run --norm` (README: `syncbn-sim run`, other normalizations). */
import type { NormRunReport } from '../../experiments/run-norm.js';
import { type DType, dtypeOf } from '../../tensor/tensor.js';

/** The documented stats.json of a norm run. */
export interface NormRunStatsJson {
  /** The input's shape and dtype. */
  input: { shape: number[]; dtype: DType };
  /** The normalization, as given. */
  norm: string;
  /** Its settings. */
  settings: { eps: number };
  /** W, with simulated devices. */
  devices?: number;
  /** The BN mode given (it changes nothing for these normalizations). */
  mode_across_devices?: string;
  /** The rows each device normalized. */
  pieces?: { rank: number; rows: number[] }[];
  /** Why nothing was sent. */
  note?: string;
}

/**
 * The stats.json of a norm run.
 * @param r - the report.
 * @returns plain data: input, norm, eps, and the pieces each device normalized.
 */
export function normRunStatsJson(r: NormRunReport): NormRunStatsJson {
  return {
    input: { shape: [...r.input.shape], dtype: dtypeOf(r.input.data) },
    norm: r.norm,
    settings: { eps: r.eps },
    ...(r.cluster
      ? {
          devices: r.cluster.devices,
          mode_across_devices: r.cluster.mode,
          pieces: r.cluster.pieces.map((p) => ({ rank: p.rank, rows: [...p.rows] })),
          note: 'the normalization takes its statistics per sample: each piece is normalized on its own and nothing is sent',
        }
      : {}),
  };
}
