/** The cluster benchmark's report as terminal tables (`syncbn-sim bench`, `npm run bench`). */
import type { ClusterBenchReport } from '../../experiments/bench.js';
import { type Cell, formatNumber, renderTable } from '../table.js';

const fmt = (v: number) => Number(v.toPrecision(3));

/**
 * The report as text: the figures with their goals, then the all-reduce of every algorithm.
 * @param r - the benchmark's report.
 * @returns the tables, lines joined by '\n'.
 */
export function benchTables(r: ClusterBenchReport): string {
  const goalOf = (name: string) => r.goals.find((g) => g.name.startsWith(name));
  const goalCells = (name: string): Cell[] => {
    const g = goalOf(name);
    return g ? [`<= ${formatNumber(g.goal)}${g.unit === 'x' ? 'x' : ' us'}`, g.met ? 'yes' : 'NO'] : ['', ''];
  };
  const rows: Cell[][] = [
    ['sync BN step (forward+backward)', `${fmt(r.syncStepMs)} ms`, '', ''],
    ['local BN step, same cluster and data', `${fmt(r.localStepMs)} ms`, '', ''],
    ['single-thread BN on the whole batch', `${fmt(r.singleStepMs)} ms`, '', ''],
    ['  its bare kernels (no checks, no allocation)', `${fmt(r.singleKernelsStepMs)} ms`, '', ''],
    ['sync / local', `${fmt(r.syncOverLocal)}x`, ...goalCells('sync step / local step')],
    ['sync / single-thread', `${fmt(r.syncOverSingle)}x`, ...goalCells('sync step / single-thread')],
    ['sync / bare single-thread kernels', `${fmt(r.syncOverSingleKernels)}x`, '', ''],
    [
      `all-reduce of ${r.allreduceValues} values (${r.algorithm}), median`,
      `${fmt(r.allreduceUs)} us`,
      ...goalCells('all-reduce'),
    ],
  ];
  if (r.pytorch) {
    rows.push([
      `PyTorch BatchNorm (CPU, ${r.pytorch.threads} thread${r.pytorch.threads === 1 ? '' : 's'})`,
      `${fmt(r.pytorch.forwardBackwardMs)} ms`,
      '',
      '',
    ]);
    rows.push(['sync / PyTorch', `${fmt(r.syncOverPytorch!)}x`, ...goalCells('sync step / PyTorch')]);
  }
  const s = r.startStop;
  rows.push([`start + ready + close, ${s.devices} devices`, `${fmt(s.startReadyCloseMs)} ms`, '', '']);
  rows.push([`start + first step + close, ${s.devices} devices`, `${fmt(s.startFirstStepCloseMs)} ms`, '', '']);
  const lines = [
    `cluster benchmark: [${r.shape.join(',')}] float32 on ${r.devices} devices (${r.algorithm}), ${r.cpus} CPUs;` +
      ` medians of ${r.reps.steps} steps, ${r.reps.allreduce} all-reduces per device, ${r.reps.start} start/stops`,
    `streaming-read probe: ${fmt(r.probeMs)} ms, ${fmt(r.probeGbPerS)} GB/s`,
    '',
    renderTable(['figure', 'value', 'goal', 'met'], rows),
    '',
    renderTable(
      ['all-reduce', 'median us', 'p10 us', 'p90 us'],
      r.allreduce.map((a) => [a.algorithm, fmt(a.medianUs), fmt(a.p10Us), fmt(a.p90Us)]),
    ),
  ];
  if (r.pytorchNote) lines.push('', `PyTorch peer: ${r.pytorchNote}`);
  return lines.join('\n');
}
