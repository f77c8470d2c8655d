/**
 * Saved results back to their table and plot: what `syncbn-sim report RESULT.json` renders. A
 * result is the document an experiment's `--json` printed. Its kind is told by its top-level keys;
 * its keys are turned back to camelCase, and the result is accepted only if mapping it to JSON
 * again gives the file back, key for key, so a file cut short or edited out of shape is named as
 * such instead of drawn wrong.
 */
import { isDeepStrictEqual } from 'node:util';
import { type CompareReport, shardSizes } from '../experiments/compare.js';
import { type IterationDocument, iterationsOf } from '../cost/iteration-document.js';
import type { CostReport } from '../experiments/cost.js';
import type { LayerCompareReport, LayerNoiseReport } from '../experiments/layers.js';
import type { NoiseReport } from '../experiments/noise.js';
import type { PrecisionReport } from '../experiments/precision.js';
import type { SweepReport } from '../experiments/sweep.js';
import type { TrainReport } from '../experiments/train.js';
import { InputError } from '../errors.js';
import { compareJson } from './json/compare-json.js';
import { iterationDocumentJson } from './json/cost-json.js';
import { layerCompareJson, layerNoiseJson } from './json/layers-json.js';
import { noiseJson } from './json/noise-json.js';
import { precisionJson } from './json/precision-json.js';
import { sweepJson } from './json/sweep-json.js';
import { trainJson } from './json/train-json.js';
import type { PlotSpec } from './plot.js';
import { type SavedReportType, schemaProblem } from './saved-schemas.js';
import { comparePlot, layerComparePlot } from './plots/compare-plot.js';
import { costPlot } from './plots/cost-plot.js';
import { iterationPlot } from './plots/iteration-plot.js';
import { layerNoisePlot } from './plots/layers-plot.js';
import { noisePlot } from './plots/noise-plot.js';
import { precisionPlot } from './plots/precision-plot.js';
import { sweepPlot } from './plots/sweep-plot.js';
import { trainPlot } from './plots/train-plot.js';
import { DEFAULT_LISTED_CHANNELS, compareTables } from './tables/compare-table.js';
import { costTables } from './tables/cost-table.js';
import { iterationTable } from './tables/iteration-table.js';
import { layerCompareTable, layerNoiseTable } from './tables/layers-table.js';
import { noiseTable } from './tables/noise-table.js';
import { precisionTable } from './tables/precision-table.js';
import { sweepTable } from './tables/sweep-table.js';
import { trainSummary } from './tables/train-table.js';

/** A saved result made ready to show: the command that wrote it, its table and its plot. */
export interface SavedResult {
  /** The command whose `--json` wrote it, as typed ('noise --input ACTS.npz'). */
  readonly command: string;
  /** The table the command prints. */
  readonly table: string;
  /** The plot the command draws. */
  readonly plot: PlotSpec;
}

/** One kind of saved result: how to tell it, read it back and show it. */
interface Kind<R> {
  /** The command whose `--json` writes it. */
  readonly command: string;
  /** Its top-level keys, every one always there. */
  readonly keys: readonly string[];
  /** Top-level keys it may have besides. */
  readonly optional?: readonly string[];
  /** A key its first row always has, for the kinds with `rows`: what tells them apart when top-level keys are cut. */
  readonly rowKey?: string;
  /** Keys added to its JSON after the first release (at any depth), with the date: a result saved before lacks them. */
  readonly added?: Readonly<Record<string, string>>;
  /** Why a result of this kind cannot be drawn from its JSON, and what to do instead. */
  readonly unshowable?: string;
  /** The report type whose schema the result, keys in camelCase, must conform to. */
  readonly schema?: SavedReportType;
  /** The report is typed with the JSON's own keys (the flat cost report): read the document as it is. */
  readonly keysAsSaved?: boolean;
  /** The report from the document with camelCase keys; by default the document itself. */
  readonly decode?: (camel: Record<string, unknown>) => R;
  /** What the schema cannot say: values that must agree with each other; the first disagreement, or undefined. */
  readonly consistent?: (report: R) => string | undefined;
  /** The report's documented JSON: the file must come back from it. */
  readonly encode?: (report: R) => unknown;
  /** The table the command prints. */
  readonly table?: (report: R) => string;
  /** The plot the command draws. */
  readonly plot?: (report: R) => PlotSpec;
}

/** A kind with its report type erased, for the list. */
type AnyKind = Kind<never>;

const kind = <R>(k: Kind<R>): AnyKind => k as unknown as AnyKind;

/** Leaves the camelCase document as it is, dropping `drop` (keys the JSON derives from the rest). */
const without =
  <R>(...drop: string[]) =>
  (camel: Record<string, unknown>): R =>
    Object.fromEntries(Object.entries(camel).filter(([key]) => !drop.includes(key))) as R;

/** Every kind; the first whose keys a document has is its kind, so the most specific come first. */
const KINDS: readonly AnyKind[] = [
  kind<LayerNoiseReport>({
    command: 'noise --input ACTS.npz',
    schema: 'LayerNoiseReport',
    keys: ['source', 'devices', 'trials', 'seed', 'layers', 'most_sensitive'],
    encode: layerNoiseJson,
    table: layerNoiseTable,
    plot: layerNoisePlot,
  }),
  kind<LayerCompareReport>({
    command: 'compare --input ACTS.npz',
    schema: 'LayerCompareReport',
    keys: ['source', 'devices', 'layers', 'most_sensitive'],
    encode: layerCompareJson,
    table: layerCompareTable,
    plot: layerComparePlot,
  }),
  kind<CompareReport>({
    command: 'compare',
    schema: 'CompareReport',
    keys: [
      'batch',
      'grad_output',
      'devices',
      'stats',
      'settings',
      'scale',
      'global',
      'per_device',
      'summary',
      'modes',
      'algorithms',
    ],
    consistent: compareConsistent,
    encode: compareJson,
    // The channels listed per device: compare's default (--channels excludes --json, so a saved result has it).
    table: (report) => compareTables(report, DEFAULT_LISTED_CHANNELS),
    plot: comparePlot,
  }),
  kind<NoiseReport>({
    command: 'noise',
    rowKey: 'mode',
    schema: 'NoiseReport',
    optional: ['shift'],
    keys: ['source', 'devices', 'trials', 'channels', 'seed', 'stats', 'rows'],
    encode: noiseJson,
    table: noiseTable,
    plot: noisePlot,
  }),
  kind<SweepReport>({
    command: 'sweep',
    added: { diverged: '2026-12-02' },
    rowKey: 'per_device_batch',
    schema: 'SweepReport',
    keys: ['settings', 'trained', 'reused', 'rows'],
    encode: sweepJson,
    table: sweepTable,
    plot: sweepPlot,
  }),
  kind<TrainReport>({
    command: 'train',
    rowKey: 'epoch',
    schema: 'TrainReport',
    keys: ['model', 'dataset', 'settings', 'runs', 'rows'],
    decode: without<TrainReport>('rows'),
    encode: trainJson,
    table: trainSummary,
    plot: trainPlot,
  }),
  kind<CostReport>({
    command: 'cost',
    rowKey: 'algorithm',
    schema: 'CostReport',
    keysAsSaved: true,
    consistent: costConsistent,
    keys: ['rows', 'crossovers', 'fastest_by_size', 'fastest', 'link', 'network', 'settings', 'model'],
    table: costTables,
    plot: costPlot,
  }),
  kind<IterationDocument>({
    command: 'cost --model',
    schema: 'IterationDocument',
    consistent: iterationConsistent,
    optional: ['iteration', 'sweep', 'simulation'],
    added: { per_gpu_batch: '2026-12-02' },
    keys: ['network', 'compute', 'pattern', 'per_gpu_batch'],
    encode: iterationDocumentJson,
    table: iterationTable,
    plot: iterationPlot,
  }),
  kind({
    command: 'cost --collective',
    keys: ['collective'],
    unshowable: 'it is a table with no plot; run syncbn-sim cost --collective again to print it',
  }),
  kind<PrecisionReport>({
    command: 'precision',
    rowKey: 'method',
    schema: 'PrecisionReport',
    keys: ['settings', 'rows'],
    encode: precisionJson,
    table: precisionTable,
    plot: precisionPlot,
  }),
  kind({
    command: 'semantics',
    rowKey: 'framework',
    keys: ['rows'],
    unshowable:
      'its documented JSON is the rows alone, without the storage formats and the notes its page shows; run the command again with --html FILE.html',
  }),
];

/**
 * A comparison's figures agree with its batch: a shape of rows and channels, one device row per
 * rank with the rows numpy.array_split gives it, and one entry per channel in every list.
 */
function compareConsistent(r: CompareReport): string | undefined {
  const shape = r.batch.shape;
  if (shape.length < 2) return `batch.shape ${JSON.stringify(shape)} has no channels: [N,C] or [N,C,H,W]`;
  if (r.perDevice.length !== r.devices) return `per_device has ${r.perDevice.length} entries for ${r.devices} devices`;
  const sizes = shardSizes(shape[0], r.devices);
  const perRow = shape.slice(2).reduce((a, b) => a * b, 1);
  let start = 0;
  for (const [i, d] of r.perDevice.entries()) {
    const rows = [start, start + sizes[i]];
    if (d.rank !== i || d.rows[0] !== rows[0] || d.rows[1] !== rows[1] || d.count !== sizes[i] * perRow)
      return `per_device[${i}] is not rank ${i} holding rows ${rows[0]} to ${rows[1]} (${sizes[i] * perRow} values per channel)`;
    start = rows[1];
  }
  const channels = shape[1];
  const lists: [string, readonly unknown[]][] = [
    ['global.mean', r.global.mean],
    ['global.var', r.global.var],
    ...r.perDevice.flatMap((d, i): [string, readonly unknown[]][] => [
      [`per_device[${i}].mean`, d.mean],
      [`per_device[${i}].var`, d.var],
    ]),
  ];
  const wrong = lists.find(([, list]) => list.length !== channels);
  return wrong && `${wrong[0]} has ${wrong[1].length} entries for the ${channels} channels of batch.shape`;
}

/**
 * An iteration document agrees with itself: one of iteration and sweep, W = nodes x GPUs per
 * node, and an executed run on every row exactly when the simulation settings are there.
 */
function iterationConsistent(d: IterationDocument): string | undefined {
  if ((d.iteration === undefined) === (d.sweep === undefined)) return 'it needs one of iteration and sweep';
  for (const [i, it] of iterationsOf(d).entries()) {
    const where = d.iteration ? 'iteration' : `sweep[${i}]`;
    if (it.devices !== it.nodes * it.gpusPerNode)
      return `${where}.devices is ${it.devices}, not nodes x gpus_per_node = ${it.nodes * it.gpusPerNode}`;
    const row = it.rows.findIndex((row) => (row.simulated === undefined) === (d.simulation !== undefined));
    if (row >= 0)
      return d.simulation
        ? `${where}.rows[${row}] has no simulated run, but the result has simulation settings`
        : `${where}.rows[${row}] has a simulated run, but the result has no simulation settings`;
  }
  return undefined;
}

/** The flat cost report names the same device counts in its rows and in its summaries of the fastest. */
function costConsistent(r: CostReport): string | undefined {
  const counts = (list: readonly { devices: number }[]) => [...new Set(list.map((x) => x.devices))].join(',');
  const rows = counts(r.rows);
  if (counts(r.fastest) !== rows) return `fastest is for devices ${counts(r.fastest)}, the rows for ${rows}`;
  if (counts(r.fastest_by_size) !== rows)
    return `fastest_by_size is for devices ${counts(r.fastest_by_size)}, the rows for ${rows}`;
  return undefined;
}

/** 'mean_ratio' is 'meanRatio', 'p10_us' is 'p10Us', 'seconds_per_60k_epoch' is 'secondsPer60kEpoch'. */
function camelCase(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** The document with every key in camelCase; `spelled` learns each camelCase key's spelling in the file. */
function camelCaseKeys(value: unknown, spelled: Map<string, string>): unknown {
  if (Array.isArray(value)) return value.map((item) => camelCaseKeys(item, spelled));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      const camel = camelCase(key);
      spelled.set(camel, key);
      return [camel, camelCaseKeys(item, spelled)];
    }),
  );
}

/** A value as JSON writes it: NaN and infinities null, undefined keys gone. */
const asWritten = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

/** Where two JSON values first differ, as a path ('rows[2].mean_ratio is missing'), or undefined. */
function firstDifference(saved: unknown, rebuilt: unknown, path: string): string | undefined {
  if (isDeepStrictEqual(saved, rebuilt)) return undefined;
  const here = path || 'the document';
  if (Array.isArray(saved) && Array.isArray(rebuilt)) {
    if (saved.length !== rebuilt.length)
      return `${here} has ${saved.length} entries, its other fields imply ${rebuilt.length}`;
    for (let i = 0; i < saved.length; i++) {
      const found = firstDifference(saved[i], rebuilt[i], `${path}[${i}]`);
      if (found) return found;
    }
  }
  if (isObject(saved) && isObject(rebuilt)) {
    for (const key of Object.keys(rebuilt)) if (!(key in saved)) return `${path ? `${path}.` : ''}${key} is missing`;
    for (const key of Object.keys(saved))
      if (!(key in rebuilt)) return `${path ? `${path}.` : ''}${key} is not a key of this result`;
    for (const key of Object.keys(saved)) {
      const found = firstDifference(saved[key], rebuilt[key], path ? `${path}.${key}` : key);
      if (found) return found;
    }
  }
  return `${here} does not hold what this result holds there`;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The kind of a document: the one whose top-level keys it matches best (a key of the kind's
 * counts for it, a key the document has that the kind has not, or lacks that the kind has,
 * against it; for kinds with rows, the first row's telling key counts twice), so that a result
 * with a key cut or added is still named as what it is.
 */
function kindOf(document: Record<string, unknown>): AnyKind | undefined {
  const present = Object.keys(document);
  const firstRow = Array.isArray(document.rows) && isObject(document.rows[0]) ? document.rows[0] : undefined;
  let best: AnyKind | undefined;
  let bestScore = 0;
  for (const k of KINDS) {
    const known = new Set([...k.keys, ...(k.optional ?? [])]);
    const shared = present.filter((key) => known.has(key)).length;
    let score = shared - (present.length - shared) - k.keys.filter((key) => !(key in document)).length;
    if (k.rowKey && firstRow) score += k.rowKey in firstRow ? 2 : -2;
    if (score > bestScore) [best, bestScore] = [k, score];
  }
  return best;
}

/**
 * Reads a saved result back to the table and plot its command showed.
 *
 * @param text - the file's text: what an experiment's `--json` printed.
 * @param name - how messages name the file.
 * @returns the command that wrote it, its table and its plot.
 * @throws InputError naming the file when it is not JSON, not the result of a command that draws
 *   a plot, a kind whose JSON leaves out what its page shows, or not whole (a key missing, one too
 *   many, a value of the wrong type).
 * @example
 * ```ts
 * const { table, plot } = readSavedResult(readFileSync('noise.json', 'utf8'), 'noise.json');
 * ```
 */
export function readSavedResult(text: string, name: string): SavedResult {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${name}: not JSON (${(err as Error).message})`);
  }
  const found = isObject(document) ? kindOf(document) : undefined;
  if (!isObject(document) || !found)
    throw new InputError(
      `${name}: not a saved result of syncbn-sim: give what --json printed for compare, noise, precision, cost, train or sweep`,
    );
  const what = `${name} (the --json of syncbn-sim ${found.command})`;
  if (found.unshowable || !found.table || !found.plot)
    throw new InputError(`${what} cannot be drawn again: ${found.unshowable ?? 'it has no plot yet'}`);
  let report: never;
  const spelled = new Map<string, string>();
  try {
    report = (
      found.keysAsSaved
        ? structuredClone(document)
        : (found.decode ?? without())(camelCaseKeys(document, spelled) as Record<string, unknown>)
    ) as never;
  } catch (err) {
    // JSON.parse reads nesting far deeper than a walk of it can recurse.
    if (err instanceof RangeError) throw new InputError(`${what} is not whole: it nests too deeply to be a result`);
    throw err;
  }
  const problem = found.schema && schemaProblem(found.schema, report, (key) => spelled.get(key));
  if (problem) {
    // A key added to the JSON later: the file is older than that, not damaged.
    const missing = /(?:^|\.)(\w+) is missing$/.exec(problem)?.[1];
    const since = missing === undefined ? undefined : found.added?.[missing];
    if (since)
      throw new InputError(
        `${what} lacks ${problem.replace(/ is missing$/, '')}, which its JSON has held since ${since}: run the command again (with --html FILE.html for the page)`,
      );
    throw new InputError(`${what} is not whole: ${problem}`);
  }
  const { consistent, encode, table, plot } = found;
  try {
    const difference = consistent?.(report) ?? (encode && firstDifference(document, asWritten(encode(report)), ''));
    if (difference) throw new InputError(`${what} is not whole: ${difference}`);
    return { command: found.command, table: table(report), plot: plot(report) };
  } catch (err) {
    // The schema checks each value's type; what it cannot check is how values fit together.
    if (err instanceof InputError && err.message.startsWith(what)) throw err;
    // What the checks above let through and the builders still refuse, said with the builder's words.
    throw new InputError(`${what} is not whole: values that do not fit together (${(err as Error).message})`);
  }
}
