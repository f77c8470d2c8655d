/** The flat cost model's report (`syncbn-sim cost --devices --link`) as terminal text. */
import { networkName } from '../../cost/networks.js';
import type { CostReport } from '../../experiments/cost.js';
import { type Cell, formatNumber, formatSeconds, renderTable } from '../table.js';

/**
 * Bytes in decimal units, 3 significant digits.
 * @param bytes - a byte count.
 * @returns it with its unit ('16.4 kB').
 */
function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${i === 0 ? formatNumber(Math.round(v)) : formatNumber(v, 3)} ${units[i]}`;
}

/** A count, exact up to a million, then in 3 significant digits. */
function formatCount(n: number): string {
  return n < 1e6 ? String(n) : n.toExponential(2).replace(/\.?0*e\+?/, 'e');
}

/** Runs of consecutive device counts with the same value, as "2-8 x, 16 y". */
function runsOf(devices: readonly number[], labels: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < devices.length; ) {
    let j = i;
    while (j + 1 < devices.length && labels[j + 1] === labels[i]) j++;
    parts.push(`${i === j ? devices[i] : `${devices[i]}-${devices[j]}`}: ${labels[i]}`);
    i = j + 1;
  }
  return parts.join('; ');
}

/**
 * The flat model's report as terminal text.
 * @param r - the report.
 * @returns the tables and the summary lines.
 */
export function costTables(r: CostReport): string {
  const net = r.network;
  const link = r.link;
  const sizes = net.message_sizes;
  const out: string[] = [];
  const netName = networkName(net.name);
  out.push(
    `Sync-BN communication per training iteration: ${netName}, ${net.layers} BN layers, ${net.channels_total} channels; ` +
      `statistics by ${r.settings.stats}, ${r.settings.bytes_per_value} bytes a value.`,
  );
  out.push(
    `${net.all_reduces_per_iteration} all-reduces per iteration (forward and backward) of ${formatBytes(sizes[0].bytes)} to ` +
      `${formatBytes(sizes[sizes.length - 1].bytes)}, ${formatBytes(net.values_per_iteration * r.settings.bytes_per_value)} in all per device.`,
  );
  out.push(
    `Link: ${link.name} (${link.description}): alpha ${formatSeconds(link.alpha)}, beta ${formatNumber(link.beta, 3)} s/B` +
      `${link.beta > 0 ? ` (${formatBytes(1 / link.beta)}/s)` : ''}, gamma ${formatNumber(link.gamma, 3)} s/B. Nominal figures, not measured here.`,
  );
  out.push(`Model: ${r.model}.`);
  out.push('');
  const ms = (s: number) => Number((s * 1e3).toPrecision(3));
  const rows: Cell[][] = r.rows.map((row) => [
    row.devices,
    row.algorithm,
    ms(row.seconds),
    ms(row.seconds_fused),
    Math.round(row.latency_fraction * 100),
    formatCount(row.messages).padStart(8),
    formatBytes(row.bytes).padStart(8),
  ]);
  out.push(
    renderTable(
      ['W', 'algorithm', 'ms/iteration', 'fused ms (bound)', 'latency %', 'messages', 'bytes (all devices)'],
      rows,
    ),
  );
  out.push('');
  out.push('Fastest algorithm by message size (the crossovers; all pairwise crossovers are in --json):');
  const bySize: Cell[][] = r.fastest_by_size.map((f) => {
    const text = f.segments
      .map((s, i) => {
        const names = s.algorithms.join(' = ');
        if (s.to_bytes === null) return i === 0 ? `${names} at every size` : names;
        return `${names} up to ${formatBytes(s.to_bytes)}`;
      })
      .join(', then ');
    return [f.devices, text];
  });
  out.push(renderTable(['W', 'fastest'], bySize));
  out.push('');
  const devices = r.fastest.map((f) => f.devices);
  out.push(
    `Fastest for ${netName}, one all-reduce per layer (W: algorithm): ${runsOf(
      devices,
      r.fastest.map((f) => f.algorithms.join(' = ')),
    )}.`,
  );
  out.push(
    `Fastest with fused all-reduces (a lower bound): ${runsOf(
      devices,
      r.fastest.map((f) => f.algorithms_fused.join(' = ')),
    )}.`,
  );
  return out.join('\n');
}
