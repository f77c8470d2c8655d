/**
 * The `sweep` report as the JSON `syncbn-sim sweep --json` prints: `{"settings", "trained",
 * "reused", "rows": [{"bn", "norm", "per_device_batch", "devices", "seeds", "train_acc_mean",
 * "train_acc_ci95", "test_acc_mean", "test_acc_ci95", "gap_vs_sync", ..., "diverged"}]}` (README: sweep).
 */
import type { SweepReport, SweepRow } from '../../experiments/sweep.js';
import type { SnakeCased } from './snake-case.js';

/** The documented JSON of a sweep; its `rows` are also the CSV's. */
export type SweepJson = SnakeCased<SweepReport>;

/**
 * One configuration as JSON: the keys first, in its order, then the other evaluations.
 * @param r - a row of {@link SweepReport.rows}.
 * @returns the row with its documented keys, in order.
 */
export function sweepRowJson(r: SweepRow): SnakeCased<SweepRow> {
  return {
    bn: r.bn,
    norm: r.norm,
    per_device_batch: r.perDeviceBatch,
    devices: r.devices,
    seeds: r.seeds,
    train_acc_mean: r.trainAccMean,
    train_acc_ci95: r.trainAccCi95,
    test_acc_mean: r.testAccMean,
    test_acc_ci95: r.testAccCi95,
    gap_vs_sync: r.gapVsSync,
    lr_scaling: r.lrScaling,
    lr: r.lr,
    test_acc_precise_mean: r.testAccPreciseMean,
    test_acc_precise_ci95: r.testAccPreciseCi95,
    test_acc_batch_mean: r.testAccBatchMean,
    test_acc_batch_ci95: r.testAccBatchCi95,
    test_acc_by_seed: [...r.testAccBySeed],
    diverged: r.diverged,
  };
}

/**
 * Maps a sweep report to its documented JSON.
 * @param r - the report of {@link sweepExperiment}.
 * @returns the JSON document.
 */
export function sweepJson(r: SweepReport): SweepJson {
  const s = r.settings;
  return {
    settings: {
      model: s.model,
      dataset: s.dataset,
      subset: s.subset,
      epochs: s.epochs,
      steps: s.steps,
      lr: s.lr,
      momentum: s.momentum,
      weight_decay: s.weightDecay,
      stats: s.stats,
      eval_stats: s.evalStats,
      precise_batches: s.preciseBatches,
      seed: s.seed,
      seeds: s.seeds,
    },
    trained: r.trained,
    reused: r.reused,
    rows: r.rows.map(sweepRowJson),
  };
}
