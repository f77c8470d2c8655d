/** The files `run --norm` writes. */
import type { NormRunReport } from '../experiments/run-norm.js';
import type { OutputFile } from '../io/atomic-write.js';
import { encodeNpy } from '../tensor/npy.js';
import { normRunStatsJson } from './json/run-norm-json.js';

/**
 * Every file a norm run writes: output.npy, and with a grad output grad_input.npy,
 * grad_weight.npy and grad_bias.npy (layer norm's shaped as one example); stats.json.
 * @param r - the report.
 * @returns the files, in memory.
 */
export function normRunOutputFiles(r: NormRunReport): OutputFile[] {
  const files: OutputFile[] = [{ name: 'output.npy', bytes: encodeNpy(r.output) }];
  if (r.gradInput && r.gradWeight && r.gradBias) {
    const shape = r.gradWeight.length === r.input.shape[1] ? [r.gradWeight.length] : r.input.shape.slice(1);
    files.push({ name: 'grad_input.npy', bytes: encodeNpy(r.gradInput) });
    files.push({ name: 'grad_weight.npy', bytes: encodeNpy({ data: r.gradWeight, shape }) });
    files.push({ name: 'grad_bias.npy', bytes: encodeNpy({ data: r.gradBias, shape }) });
  }
  files.push({ name: 'stats.json', bytes: `${JSON.stringify(normRunStatsJson(r), null, 2)}\n` });
  return files;
}
