/** The training benchmark's report as the JSON `npm run bench -- --json` prints under `training` and `training_small`. */
import type { TorchLenetFigures, TrainBenchReport } from '../../experiments/train-bench.js';
import type { SnakeCased } from './snake-case.js';

/** The one key the snake_case rule cannot spell: a number after a word. */
type Spelled = { secondsPer60kEpoch: 'seconds_per_60k_epoch' };

/** The JSON of the training benchmark. */
export type TrainBenchJson = SnakeCased<TrainBenchReport, Spelled>;

/**
 * Maps the training benchmark's report to its JSON, keys in the order `npm run bench -- --json`
 * has always printed them.
 * @param r - the report of {@link benchmarkTraining}.
 * @returns the JSON document (plain data, ready for JSON.stringify).
 */
export function trainBenchJson(r: TrainBenchReport): TrainBenchJson {
  return {
    data: r.data,
    devices: r.devices,
    batch: r.batch,
    bn: r.bn,
    steps: r.steps,
    examples_per_second: r.examplesPerSecond,
    seconds_per_60k_epoch: r.secondsPer60kEpoch,
    ...(r.pytorchNote === undefined ? {} : { pytorch_note: r.pytorchNote }),
    ...(r.pytorch ? { pytorch: torchLenetJson(r.pytorch) } : {}),
    ...(r.ratioToPytorch === undefined ? {} : { ratio_to_pytorch: r.ratioToPytorch }),
  };
}

/** PyTorch's figures in the order scripts/bench_torch_lenet.py prints them, then the epoch time. */
function torchLenetJson(p: TorchLenetFigures): SnakeCased<TorchLenetFigures, Spelled> {
  return {
    examples_per_second: p.examplesPerSecond,
    threads: p.threads,
    batch: p.batch,
    seconds_per_60k_epoch: p.secondsPer60kEpoch,
  };
}
