/**
 * snake_case JSON of the topology cost reports (`syncbn-sim cost --collective`, `--model`): the
 * report types are camelCase TypeScript; these mappers give the shapes the CLI prints.
 */
import type { CollectiveTable } from '../../cost/collective-table.js';
import type { IterationDocument, SimulatedIteration, SimulatedIterationRow } from '../../cost/iteration-document.js';
import type { SnakeCased } from './snake-case.js';

/** The documented JSON of `cost --collective`. */
export type CollectiveJson = {
  /** The table: kind, bytes, ranks, rows and the fastest. */
  collective: SnakeCased<CollectiveTable>;
};

/** One row of `cost --model --json`, with the executed run when `--simulate` ran. */
export type IterationRowJson = SnakeCased<SimulatedIterationRow>;

/** One iteration of `cost --model --json`. */
export type IterationJson = SnakeCased<SimulatedIteration>;

/** The documented JSON of `cost --model`. */
export type IterationDocumentJson = SnakeCased<IterationDocument>;

/**
 * `{"collective": {"kind", "bytes", "ranks", "rows": [...], "best": {...}}}`, bandwidths in bytes per second.
 * @param t - the table.
 * @returns the JSON object.
 */
export function collectiveJson(t: CollectiveTable): CollectiveJson {
  return {
    collective: {
      kind: t.kind,
      bytes: t.bytes,
      ranks: t.ranks,
      rows: t.rows.map((r) => ({
        algorithm: r.algorithm,
        protocol: r.protocol,
        seconds: r.seconds,
        algbw: r.algbw,
        busbw: r.busbw,
      })),
      best: { algorithm: t.best.algorithm, protocol: t.best.protocol, seconds: t.best.seconds },
    },
  };
}

/**
 * One iteration: `{"compute_seconds", "grad_allreduce_seconds", "rows": [{"bn", "pattern", "seconds", "share_of_iteration", ...}]}`.
 * @param r - the iteration, rows with their executed runs when --simulate ran.
 * @returns the JSON object.
 */
export function iterationJson(r: SimulatedIteration): IterationJson {
  return {
    nodes: r.nodes,
    gpus_per_node: r.gpusPerNode,
    devices: r.devices,
    compute_seconds: r.computeSeconds,
    grad_allreduce_seconds: r.gradAllreduceSeconds,
    grad_buckets: r.gradBuckets,
    rows: r.rows.map((row) => {
      const s = row.simulated;
      return {
        bn: row.bn,
        pattern: row.pattern,
        seconds: row.seconds,
        share_of_iteration: row.shareOfIteration,
        forward_seconds: row.forwardSeconds,
        iteration_seconds: row.iterationSeconds,
        grad_exposed_seconds: row.gradExposedSeconds,
        calls: row.calls,
        ...(s
          ? {
              simulated: {
                seconds: s.seconds,
                analytic_seconds: s.analyticSeconds,
                wait_seconds: s.waitSeconds,
                extra_compute_seconds: s.extraComputeSeconds,
                messages: s.messages,
              },
            }
          : {}),
      };
    }),
  };
}

/**
 * The whole `cost --model --json`: `{"iteration"}` for one node count or `{"sweep": [...]}` for
 * several, then the network, the compute, the pattern, the per-GPU batch and, with --simulate,
 * what the simulation ran with.
 * @param d - the document.
 * @returns the JSON object.
 */
export function iterationDocumentJson(d: IterationDocument): IterationDocumentJson {
  const n = d.network;
  const sim = d.simulation;
  return {
    ...(d.iteration ? { iteration: iterationJson(d.iteration) } : { sweep: (d.sweep ?? []).map(iterationJson) }),
    network: { name: n.name, layers: n.layers, params: n.params, source: n.source },
    compute: { seconds: d.compute.seconds, source: d.compute.source },
    pattern: d.pattern,
    per_gpu_batch: d.perGpuBatch,
    ...(sim
      ? {
          simulation: {
            jitter_ms: sim.jitterMs,
            straggler: sim.straggler ? { rank: sim.straggler.rank, seconds: sim.straggler.seconds } : null,
            seed: sim.seed,
          },
        }
      : {}),
  };
}
