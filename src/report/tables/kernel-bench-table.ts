/** The kernel benchmark's report as text, the first section `npm run bench` prints. */
import type { KernelBenchReport } from '../../experiments/kernel-bench.js';
import { renderTable } from '../table.js';

/**
 * The kernel benchmark as text: the probe and staging, each pass on both backends, the steps
 * beside PyTorch's, and the goal.
 * @param r - the kernel benchmark's report.
 * @returns the section, lines joined by '\n'.
 */
export function kernelBenchTable(r: KernelBenchReport): string {
  const fmt = (v: number) => String(Number(v.toPrecision(3)));
  const x = (v: number) => `${fmt(v)}x`;
  const spread = (f: { median: number; min: number; max: number } | undefined) =>
    f ? `${x(f.median)} (${fmt(f.min)}-${fmt(f.max)})` : '-';
  const lines = [
    `batch norm kernels, [${r.shape.join(',')}] ${r.dtype}, one thread: ${r.rounds} rounds of ${r.reps} repetitions, medians;`,
    'wasm (the default kernels) and js (the reference) alternate in each round, then PyTorch runs its round',
    `streaming-read probe (a JS loop summing x): ${fmt(r.probe.ms)} ms, ${fmt(r.probe.gbPerS)} GB/s`,
    `copying x into the module's memory in blocks, as every wasm pass does: ${fmt(r.staging.ms)} ms, ${fmt(r.staging.gbPerS)} GB/s`,
    '',
    renderTable(
      ['pass', 'MiB moved', 'wasm ms', 'GB/s', '/ probe', 'js ms', 'GB/s', '/ probe'],
      r.passes.map((p) => [
        p.pass,
        fmt(p.bytes / 2 ** 20),
        fmt(p.wasmMs),
        fmt(p.wasmGbPerS),
        fmt(p.wasmRatioToProbe),
        fmt(p.jsMs),
        fmt(p.jsGbPerS),
        fmt(p.jsRatioToProbe),
      ]),
    ),
    '',
    renderTable(
      ['step', 'wasm ms', 'js ms', 'PyTorch ms', 'wasm / PyTorch (rounds)', 'js / PyTorch', 'js / wasm'],
      r.steps.map((s) => [
        s.step,
        fmt(s.wasmMs),
        fmt(s.jsMs),
        s.pytorchMs === undefined ? '-' : fmt(s.pytorchMs),
        spread(s.wasmOverPytorch),
        s.jsOverPytorch ? x(s.jsOverPytorch.median) : '-',
        x(s.jsOverWasm.median),
      ]),
    ),
    '',
    r.pytorch
      ? `PyTorch ${r.pytorch.version}, BatchNorm2d on CPU at ${r.pytorch.threads} intra-op thread(s)`
      : `PyTorch: ${r.pytorchNote}`,
    `goal: ${r.goal.name} at most ${fmt(r.goal.goal)}x: ${r.goal.figure === undefined ? 'not measured' : `${x(r.goal.figure)}, ${r.goal.met ? 'met' : 'NOT met'}`}`,
  ];
  return lines.join('\n');
}
