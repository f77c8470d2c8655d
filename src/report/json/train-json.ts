/** The `train` report as the JSON `syncbn-sim train --json` prints (README: `syncbn-sim train`). */
import type { EpochRow, TrainReport, TrainRunReport } from '../../experiments/train.js';
import type { SnakeCased } from './snake-case.js';

/** One row of the CSV (and of the JSON's `rows`): a run's header beside one of its epochs. */
export type TrainRowJson = Omit<
  SnakeCased<TrainRunReport>,
  'epochs' | 'dropped_per_epoch' | 'steps_per_epoch' | 'examples_per_second'
> &
  SnakeCased<EpochRow>;

/** The documented JSON of a training experiment: the report, and its epochs flattened as `rows`. */
export type TrainJson = SnakeCased<TrainReport> & { rows: TrainRowJson[] };

/**
 * Maps a training report to its documented JSON, keys in the documented order.
 * @param r - the report of {@link trainExperiment}.
 * @returns the JSON document (plain data, ready for JSON.stringify); `rows` are also the CSV's.
 */
export function trainJson(r: TrainReport): TrainJson {
  const s = r.settings;
  const runs = r.runs.map(trainRunJson);
  return {
    model: r.model,
    dataset: { name: r.dataset.name, train: r.dataset.train, test: r.dataset.test },
    settings: {
      epochs: s.epochs,
      momentum: s.momentum,
      weight_decay: s.weightDecay,
      seed: s.seed,
      eval_stats: s.evalStats,
      precise_batches: s.preciseBatches,
      lr_scaling: s.lrScaling,
      bn_momentum: s.bnMomentum,
      bn_eps: s.bnEps,
      stats: s.stats,
      ...(s.renormSchedule
        ? {
            renorm_schedule: {
              warmup_steps: s.renormSchedule.warmupSteps,
              r_max: s.renormSchedule.rMax,
              r_max_steps: s.renormSchedule.rMaxSteps,
              d_max: s.renormSchedule.dMax,
              d_max_steps: s.renormSchedule.dMaxSteps,
            },
          }
        : {}),
    },
    runs,
    rows: runs.flatMap(({ epochs, dropped_per_epoch, steps_per_epoch, examples_per_second, ...header }) =>
      epochs.map((e) => ({ ...header, ...e })),
    ),
  };
}

/**
 * One run as JSON.
 * @param run - a run of {@link TrainReport.runs}.
 * @returns the run with its documented keys, in order.
 */
export function trainRunJson(run: TrainRunReport): SnakeCased<TrainRunReport> {
  return {
    norm: run.norm,
    bn: run.bn,
    devices: run.devices,
    per_device_batch: run.perDeviceBatch,
    global_batch: run.globalBatch,
    lr: run.lr,
    epochs: run.epochs.map(epochJson),
    dropped_per_epoch: run.droppedPerEpoch,
    steps_per_epoch: run.stepsPerEpoch,
    examples_per_second: run.examplesPerSecond,
  };
}

/**
 * One epoch as JSON.
 * @param e - an epoch of a run.
 * @returns the epoch with its documented keys, in order.
 */
export function epochJson(e: EpochRow): SnakeCased<EpochRow> {
  return {
    epoch: e.epoch,
    train_loss: e.trainLoss,
    train_acc: e.trainAcc,
    test_acc: e.testAcc,
    test_acc_precise: e.testAccPrecise,
    test_acc_batch: e.testAccBatch,
    seconds: e.seconds,
  };
}
