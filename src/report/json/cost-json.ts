/**
 * snake_case JSON of the topology cost reports (`syncbn-sim cost --collective`, `--model`): the
 * report types are camelCase TypeScript; these mappers give the shapes the CLI prints.
 */
import type { CollectiveTable } from '../../cost/collective-table.js';
import type { IterationReport } from '../../cost/iteration.js';
import type { SimulateResult } from '../../cost/simulate.js';
import type { SnakeCased } from './snake-case.js';

/** The documented JSON of `cost --collective`. */
export type CollectiveJson = { collective: SnakeCased<CollectiveTable> };

/** One row of `cost --model --json`, with the executed run when `--simulate` ran. */
export type IterationRowJson = SnakeCased<IterationReport['rows'][number]> & { simulated?: SnakeCased<SimulateResult> };

/** One iteration of `cost --model --json`. */
export type IterationJson = Omit<SnakeCased<IterationReport>, 'rows'> & { rows: IterationRowJson[] };

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
 * @param r - the report.
 * @param simulated - the executed runs by BN mode, when --simulate ran.
 * @returns the JSON object.
 */
export function iterationJson(r: IterationReport, simulated?: ReadonlyMap<string, SimulateResult>): IterationJson {
  return {
    nodes: r.nodes,
    gpus_per_node: r.gpusPerNode,
    devices: r.devices,
    compute_seconds: r.computeSeconds,
    grad_allreduce_seconds: r.gradAllreduceSeconds,
    grad_buckets: r.gradBuckets,
    rows: r.rows.map((row) => {
      const s = simulated?.get(row.bn);
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
