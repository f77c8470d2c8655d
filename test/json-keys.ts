/** The keys the JSON documents have always printed, in order, and how to list a document's keys (test/bench-json.test.ts, test/bench-command.test.ts, test/run-json.test.ts). */

/** Every key path of a JSON document in order: 'a', 'a.b', 'list[].c' (an array's first element). */
export function keyPaths(value: unknown, prefix = ''): string[] {
  if (Array.isArray(value)) return value.length > 0 ? keyPaths(value[0], `${prefix}[]`) : [];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...keyPaths(v, path)];
  });
}

/** The keys of `bench --json`, PyTorch's figures in the middle when it ran. */
export const CLUSTER_BENCH_KEYS = (pytorch: boolean): string[] => [
  'shape',
  'dtype',
  'devices',
  'algorithm',
  'cpus',
  'reps',
  'reps.steps',
  'reps.allreduce',
  'reps.start',
  'probe_ms',
  'probe_gb_per_s',
  'sync_step_ms',
  'local_step_ms',
  'single_step_ms',
  'single_kernels_step_ms',
  'sync_over_local',
  'sync_over_single',
  'sync_over_single_kernels',
  'allreduce_values',
  'allreduce_us',
  'allreduce',
  'allreduce[].algorithm',
  'allreduce[].median_us',
  'allreduce[].p10_us',
  'allreduce[].p90_us',
  'allreduce[].samples',
  'start_stop',
  'start_stop.devices',
  'start_stop.start_ready_close_ms',
  'start_stop.start_first_step_close_ms',
  'start_stop.reps',
  ...(pytorch
    ? ['pytorch', 'pytorch.forward_ms', 'pytorch.forward_backward_ms', 'pytorch.threads', 'sync_over_pytorch']
    : ['pytorch_note']),
  'goals',
  'goals[].name',
  'goals[].figure',
  'goals[].goal',
  'goals[].unit',
  'goals[].met',
];

/** The keys of the kernel benchmark in `npm run bench -- --json`. */
export const KERNEL_BENCH_KEYS = (pytorch: boolean): string[] => [
  'shape',
  'dtype',
  'rounds',
  'reps',
  'probe',
  'probe.what',
  'probe.ms',
  'probe.gb_per_s',
  'staging',
  'staging.ms',
  'staging.gb_per_s',
  'staging.ratio_to_probe',
  'passes',
  'passes[].pass',
  'passes[].bytes',
  'passes[].wasm_ms',
  'passes[].js_ms',
  'passes[].wasm_gb_per_s',
  'passes[].js_gb_per_s',
  'passes[].wasm_ratio_to_probe',
  'passes[].js_ratio_to_probe',
  'steps',
  'steps[].step',
  'steps[].wasm_ms',
  'steps[].js_ms',
  'steps[].js_over_wasm',
  'steps[].js_over_wasm.median',
  'steps[].js_over_wasm.min',
  'steps[].js_over_wasm.max',
  ...(pytorch
    ? [
        'steps[].pytorch_ms',
        'steps[].wasm_over_pytorch',
        'steps[].wasm_over_pytorch.median',
        'steps[].wasm_over_pytorch.min',
        'steps[].wasm_over_pytorch.max',
        'steps[].js_over_pytorch',
        'steps[].js_over_pytorch.median',
        'steps[].js_over_pytorch.min',
        'steps[].js_over_pytorch.max',
        'pytorch',
        'pytorch.threads',
        'pytorch.version',
        'goal',
        'goal.name',
        'goal.goal',
        'goal.figure',
        'goal.met',
      ]
    : ['pytorch_note', 'goal', 'goal.name', 'goal.goal']),
];

/** The keys of the training benchmark in `npm run bench -- --json`. */
export const TRAIN_BENCH_KEYS = (pytorch: boolean): string[] => [
  'data',
  'devices',
  'batch',
  'bn',
  'steps',
  'examples_per_second',
  'seconds_per_60k_epoch',
  ...(pytorch
    ? [
        'pytorch',
        'pytorch.examples_per_second',
        'pytorch.threads',
        'pytorch.batch',
        'pytorch.seconds_per_60k_epoch',
        'ratio_to_pytorch',
      ]
    : ['pytorch_note']),
];
