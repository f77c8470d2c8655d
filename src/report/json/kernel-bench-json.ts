/** The kernel benchmark's report as the JSON `npm run bench -- --json` prints under `kernels`. */
import type { KernelBenchReport, PassFigure, RatioFigure, StepFigure } from '../../experiments/kernel-bench.js';
import type { SnakeCased } from './snake-case.js';

/** The JSON of the kernel benchmark. */
export type KernelBenchJson = SnakeCased<KernelBenchReport>;

/**
 * Maps the kernel benchmark's report to its JSON, keys in the order `npm run bench -- --json` has
 * always printed them.
 * @param r - the report of {@link benchmarkKernels}.
 * @returns the JSON document (plain data, ready for JSON.stringify).
 */
export function kernelBenchJson(r: KernelBenchReport): KernelBenchJson {
  return {
    shape: [...r.shape],
    dtype: r.dtype,
    rounds: r.rounds,
    reps: r.reps,
    probe: { what: r.probe.what, ms: r.probe.ms, gb_per_s: r.probe.gbPerS },
    staging: { ms: r.staging.ms, gb_per_s: r.staging.gbPerS, ratio_to_probe: r.staging.ratioToProbe },
    passes: r.passes.map(passJson),
    steps: r.steps.map(stepJson),
    ...(r.pytorch ? { pytorch: { threads: r.pytorch.threads, version: r.pytorch.version } } : {}),
    ...(r.pytorchNote === undefined ? {} : { pytorch_note: r.pytorchNote }),
    goal: {
      name: r.goal.name,
      goal: r.goal.goal,
      ...(r.goal.figure === undefined ? {} : { figure: r.goal.figure }),
      ...(r.goal.met === undefined ? {} : { met: r.goal.met }),
    },
  };
}

function passJson(p: PassFigure): SnakeCased<PassFigure> {
  return {
    pass: p.pass,
    bytes: p.bytes,
    wasm_ms: p.wasmMs,
    js_ms: p.jsMs,
    wasm_gb_per_s: p.wasmGbPerS,
    js_gb_per_s: p.jsGbPerS,
    wasm_ratio_to_probe: p.wasmRatioToProbe,
    js_ratio_to_probe: p.jsRatioToProbe,
  };
}

function stepJson(s: StepFigure): SnakeCased<StepFigure> {
  return {
    step: s.step,
    wasm_ms: s.wasmMs,
    js_ms: s.jsMs,
    js_over_wasm: ratioJson(s.jsOverWasm),
    ...(s.pytorchMs === undefined ? {} : { pytorch_ms: s.pytorchMs }),
    ...(s.wasmOverPytorch ? { wasm_over_pytorch: ratioJson(s.wasmOverPytorch) } : {}),
    ...(s.jsOverPytorch ? { js_over_pytorch: ratioJson(s.jsOverPytorch) } : {}),
  };
}

function ratioJson(f: RatioFigure): SnakeCased<RatioFigure> {
  return { median: f.median, min: f.min, max: f.max };
}
