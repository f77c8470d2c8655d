/** Every file `syncbn-sim run` writes, made in memory from a run's report (README: `syncbn-sim run`). */
import type { RunReport } from '../experiments/run.js';
import { checkRunReport } from '../experiments/option-checks.js';
import type { OutputFile } from '../io/atomic-write.js';
import { encodeNpy } from '../tensor/npy.js';
import type { Tensor } from '../tensor/tensor.js';
import { runStatsJson } from './json/run-json.js';

/**
 * Every file a run writes, in memory, ready for an all-or-nothing write.
 *
 * @param report - a run's report.
 * @returns output.npy and stats.json always; the gradients given dL/dy; the running statistics in train mode.
 * @throws InputError when `report` is not a run's report.
 */
export function runOutputFiles(report: RunReport): OutputFile[] {
  checkRunReport(report);
  const { result, settings } = report;
  const vector = (data: Tensor['data']): Tensor => ({ data, shape: [data.length] });
  const files: OutputFile[] = [{ name: 'output.npy', bytes: encodeNpy(result.output) }];
  if (result.gradInput && result.gradWeight && result.gradBias) {
    files.push({ name: 'grad_input.npy', bytes: encodeNpy(result.gradInput) });
    files.push({ name: 'grad_weight.npy', bytes: encodeNpy(vector(result.gradWeight)) });
    files.push({ name: 'grad_bias.npy', bytes: encodeNpy(vector(result.gradBias)) });
  }
  if (settings.training ?? true) {
    files.push({ name: 'running_mean.npy', bytes: encodeNpy(vector(result.runningMean)) });
    files.push({ name: 'running_var.npy', bytes: encodeNpy(vector(result.runningVar)) });
  }
  files.push({ name: 'stats.json', bytes: `${JSON.stringify(runStatsJson(report), null, 2)}\n` });
  return files;
}
