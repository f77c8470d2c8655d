/** The cluster benchmark's report as the JSON `syncbn-sim bench --json` prints (README: `syncbn-sim bench`). */
import type {
  AllReduceFigures,
  ClusterBenchReport,
  GoalCheck,
  StartStopFigures,
  TorchPeer,
} from '../../experiments/bench.js';
import type { SnakeCased } from './snake-case.js';

/** The documented JSON of the cluster benchmark. */
export type ClusterBenchJson = SnakeCased<ClusterBenchReport>;

/**
 * Maps the cluster benchmark's report to its documented JSON, keys in the documented order.
 * @param r - the report of {@link benchmarkCluster}.
 * @returns the JSON document (plain data, ready for JSON.stringify).
 */
export function clusterBenchJson(r: ClusterBenchReport): ClusterBenchJson {
  return {
    shape: [...r.shape],
    dtype: r.dtype,
    devices: r.devices,
    algorithm: r.algorithm,
    cpus: r.cpus,
    reps: { steps: r.reps.steps, allreduce: r.reps.allreduce, start: r.reps.start },
    probe_ms: r.probeMs,
    probe_gb_per_s: r.probeGbPerS,
    sync_step_ms: r.syncStepMs,
    local_step_ms: r.localStepMs,
    single_step_ms: r.singleStepMs,
    single_kernels_step_ms: r.singleKernelsStepMs,
    sync_over_local: r.syncOverLocal,
    sync_over_single: r.syncOverSingle,
    sync_over_single_kernels: r.syncOverSingleKernels,
    allreduce_values: r.allreduceValues,
    allreduce_us: r.allreduceUs,
    allreduce: r.allreduce.map(allReduceJson),
    start_stop: startStopJson(r.startStop),
    ...(r.pytorch ? { pytorch: torchPeerJson(r.pytorch) } : {}),
    ...(r.syncOverPytorch === undefined ? {} : { sync_over_pytorch: r.syncOverPytorch }),
    ...(r.pytorchNote === undefined ? {} : { pytorch_note: r.pytorchNote }),
    goals: r.goals.map(goalJson),
  };
}

function allReduceJson(a: AllReduceFigures): SnakeCased<AllReduceFigures> {
  return { algorithm: a.algorithm, median_us: a.medianUs, p10_us: a.p10Us, p90_us: a.p90Us, samples: a.samples };
}

function startStopJson(s: StartStopFigures): SnakeCased<StartStopFigures> {
  return {
    devices: s.devices,
    start_ready_close_ms: s.startReadyCloseMs,
    start_first_step_close_ms: s.startFirstStepCloseMs,
    reps: s.reps,
  };
}

function torchPeerJson(p: TorchPeer): SnakeCased<TorchPeer> {
  return { forward_ms: p.forwardMs, forward_backward_ms: p.forwardBackwardMs, threads: p.threads };
}

function goalJson(g: GoalCheck): SnakeCased<GoalCheck> {
  return { name: g.name, figure: g.figure, goal: g.goal, unit: g.unit, met: g.met };
}
