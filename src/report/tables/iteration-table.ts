/** `syncbn-sim cost --model` as terminal text: one line per node count and BN mode. */
import { type IterationDocument, iterationsOf } from '../../cost/iteration-document.js';
import { networkName } from '../../cost/networks.js';
import { type Cell, formatNumber, formatSeconds, renderTable } from '../table.js';

/**
 * The wait of an executed iteration, with the rounding of the timeline's sums (1e-11 s against an
 * iteration of 13 ms) shown as the 0 it is.
 */
function waitOf(s: { seconds: number; waitSeconds: number }): number {
  return Math.abs(s.waitSeconds) < 1e-9 * s.seconds ? 0 : s.waitSeconds;
}

/**
 * The iteration table with the lines that say what it rests on.
 * @param d - the document of `cost --model`.
 * @returns the text, ending without a newline.
 */
export function iterationTable(d: IterationDocument): string {
  const net = d.network;
  const out = [
    `One training iteration of ${networkName(net.name)} (${net.layers} BN layers, ${net.params} parameters), ${d.perGpuBatch} images per GPU; BN traffic as ${d.pattern} issues it.`,
    `Compute ${formatSeconds(d.compute.seconds)} per iteration (${d.compute.source}).`,
    `Each BN collective runs the fastest algorithm and protocol for its size; DDP's gradient all-reduce goes in 25 MiB buckets overlapped with the backward.`,
    '',
  ];
  const rows: Cell[][] = [];
  for (const run of iterationsOf(d)) {
    for (const row of run.rows) {
      const s = row.simulated;
      rows.push([
        run.devices,
        `${run.nodes}x${run.gpusPerNode}`,
        row.bn,
        formatSeconds(row.seconds),
        `${formatNumber(row.shareOfIteration * 100, 3)}%`,
        formatSeconds(row.iterationSeconds),
        formatSeconds(run.gradAllreduceSeconds),
        formatSeconds(row.gradExposedSeconds),
        ...(s ? [formatSeconds(s.seconds), formatSeconds(s.analyticSeconds), formatSeconds(waitOf(s))] : []),
      ]);
    }
  }
  const sim = d.simulation;
  const head = ['W', 'nodes', 'BN', 'BN comm', 'share', 'iteration', 'grad all-reduce', 'grad exposed'];
  if (sim) head.push('simulated', 'analytic', 'wait');
  out.push(renderTable(head, rows));
  if (sim) {
    out.push('');
    out.push(
      `simulated: BN collectives executed among the W devices on the virtual clock${sim.jitterMs ? `, jitter up to ${sim.jitterMs} ms before each call` : ''}${sim.straggler ? `, device ${sim.straggler.rank} ${sim.straggler.seconds * 1000} ms slower` : ''}; analytic: compute + BN comm; wait: simulated - analytic - the mean device's extra compute.`,
    );
  }
  return out.join('\n');
}
