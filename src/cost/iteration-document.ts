/**
 * Everything `syncbn-sim cost --model` shows, as one document: the iteration of each node count
 * (with its executed run per BN mode when `--simulate` ran), the network, the compute and the
 * settings that its table names. Its JSON (src/report/json/cost-json.ts) is what `--json` prints,
 * so `syncbn-sim report` can draw the page again from a saved result.
 */
import type { BnPattern } from './bn-patterns.js';
import type { IterationReport, IterationRow } from './iteration.js';
import type { SimulateResult, Straggler } from './simulate.js';

/** One BN mode's row, with the executed iteration when `--simulate` ran. */
export interface SimulatedIterationRow extends IterationRow {
  /** The iteration executed on the virtual clock; absent without `--simulate`. */
  readonly simulated?: SimulateResult;
}

/** One node count's iteration, rows with their executed runs. */
export interface SimulatedIteration extends Omit<IterationReport, 'rows'> {
  /** One row per BN mode. */
  readonly rows: readonly SimulatedIterationRow[];
}

/** The network, as the page names it. */
export interface IterationNetwork {
  /** Its name ('resnet50'), or 'custom' for `--channels` and `--params`. */
  readonly name: string;
  /** BN layers. */
  readonly layers: number;
  /** Parameters (the gradient all-reduce's size). */
  readonly params: number;
  /** Where its figures come from. */
  readonly source: string;
}

/** What `--simulate` ran with. */
export interface IterationSimulation {
  /** Largest random extra compute before each call, milliseconds (0 for none). */
  readonly jitterMs: number;
  /** The one slow device, or null. */
  readonly straggler: Straggler | null;
  /** Seed of the jitter. */
  readonly seed: number;
}

/** The whole `cost --model` result: `iteration` for one node count, `sweep` for several. */
export interface IterationDocument {
  /** The iteration, when one node count was asked for. */
  readonly iteration?: SimulatedIteration;
  /** The iterations, one per node count in the order asked, when several were. */
  readonly sweep?: readonly SimulatedIteration[];
  /** The network. */
  readonly network: IterationNetwork;
  /** Compute per iteration and where the figure comes from. */
  readonly compute: { readonly seconds: number; readonly source: string };
  /** The framework's BN traffic. */
  readonly pattern: BnPattern;
  /** Images per GPU per iteration. */
  readonly perGpuBatch: number;
  /** The settings of `--simulate`; absent when it did not run. */
  readonly simulation?: IterationSimulation;
}

/**
 * The iterations of a document, in order, whichever of `iteration` and `sweep` holds them.
 * @param d - the document.
 * @returns its iterations.
 */
export function iterationsOf(d: IterationDocument): readonly SimulatedIteration[] {
  return d.iteration ? [d.iteration] : (d.sweep ?? []);
}
