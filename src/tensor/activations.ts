/**
 * Captured activations: the inputs of a model's batch-norm layers over a few steps, as
 * python/syncbn_capture.py saves them (one .npz: a `.npy` per layer and step, and manifest.json
 * naming layers, types, shapes and steps). A plain `numpy.savez` archive without a manifest is read
 * too: each member is one layer with one step.
 *
 * Layer inputs may be [N,C] (BatchNorm1d), [N,C,L] (BatchNorm1d on sequences), [N,C,H,W]
 * (BatchNorm2d) or [N,C,D,H,W] (BatchNorm3d); batch norm's statistics are per channel over every
 * axis but C, so each is viewed, without a copy, as [N,C] or [N,C,H',W'] ([N,C,L,1] and
 * [N,C,D*H,W]), the layouts the simulator runs.
 */
import { argumentError, checkObject, checkString, checkStringList } from '../args.js';
import { InputError, requireInput } from '../errors.js';
import { type NpzContents, readNpzFile } from './npz.js';
import type { Tensor } from './tensor.js';

/** What syncbn_capture.py writes in `manifest.json`'s `format`. */
export const CAPTURE_FORMAT = 'syncbn-capture';
/** The manifest version this reader understands. */
export const CAPTURE_VERSION = 1;

/** One batch-norm layer's captured inputs. */
export interface CapturedLayer {
  /** The module's name in the model (`layer1.0.bn1`), or the member name for a plain .npz. */
  readonly name: string;
  /** The module's class (`BatchNorm2d`, `SyncBatchNorm`), or 'array' for a plain .npz. */
  readonly type: string;
  /** The input's shape at the first step, as the layer saw it ([N,C], [N,C,L], [N,C,H,W] or [N,C,D,H,W]). */
  readonly shape: readonly number[];
  /** The training steps captured, in order. */
  readonly steps: readonly number[];
  /** Each step's input, viewed as [N,C] or [N,C,H,W] (see the module comment). */
  readonly batches: readonly Tensor[];
}

/** Every captured layer of one archive, in the model's order. */
export interface CapturedActivations {
  /** The archive's label (its path). */
  readonly source: string;
  /** Whether it came with a syncbn_capture manifest. */
  readonly manifest: boolean;
  /** The layers. */
  readonly layers: readonly CapturedLayer[];
}

/**
 * Views a batch-norm input as [N,C] or [N,C,H,W] (same data, no copy).
 * @param tensor - an input of 2 to 5 dimensions.
 * @param what - names it in messages.
 * @returns the tensor with its 2-D or 4-D shape.
 * @throws {@link InputError} naming `what` for fewer than 2 or more than 5 dimensions, or zero channels.
 */
export function asBatchNormInput(tensor: Tensor, what: string): Tensor {
  const s = tensor.shape;
  requireInput(
    s.length >= 2 && s.length <= 5,
    () => `${what}: a batch-norm input is [N,C], [N,C,L], [N,C,H,W] or [N,C,D,H,W], got shape [${s.join(',')}]`,
  );
  requireInput(s[1] > 0, () => `${what}: zero channels (shape [${s.join(',')}])`);
  if (s.length === 2 || s.length === 4) return tensor;
  if (s.length === 3) return { data: tensor.data, shape: [s[0], s[1], s[2], 1] };
  return { data: tensor.data, shape: [s[0], s[1], s[2] * s[3], s[4]] };
}

function isWholeList(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((v) => Number.isSafeInteger(v) && v >= 0);
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** A layer's steps must agree on every dimension but N. */
function checkSteps(label: string, name: string, shapes: readonly (readonly number[])[]): void {
  const first = shapes[0];
  for (const s of shapes) {
    requireInput(
      s.length === first.length && s.slice(1).every((d, i) => d === first[i + 1]),
      () =>
        `${label}: layer '${name}' has steps of shapes [${first.join(',')}] and [${s.join(',')}]; they may differ in N only`,
    );
  }
}

/**
 * Turns a parsed .npz into captured layers, checking the manifest against the members strictly.
 * @param contents - what {@link parseNpz} returned.
 * @param label - names the archive in messages.
 * @returns the layers, in the manifest's order (or the members' order without a manifest).
 * @throws {@link InputError} naming the archive and the layer or member for a manifest of another
 *   format or version, a layer without steps, a member missing or not listed, a shape that
 *   disagrees with the manifest, or an input that is not 2-D to 5-D.
 */
export function capturedFromNpz(contents: NpzContents, label: string): CapturedActivations {
  checkObject('contents', contents);
  if (!(contents.arrays instanceof Map))
    throw argumentError('contents.arrays', 'a Map of member names to arrays (from parseNpz)', contents.arrays);
  checkString('label', label);
  const fail = (message: string): never => {
    throw new InputError(`${label}: ${message}`);
  };
  if (contents.manifest === undefined) {
    const layers = [...contents.arrays].map(([name, t]) => {
      const batch = asBatchNormInput(t, `${label}:${name}.npy`);
      return { name, type: 'array', shape: [...t.shape], steps: [0], batches: [batch] };
    });
    return { source: label, manifest: false, layers };
  }
  const m = contents.manifest as Record<string, unknown>;
  if (typeof m !== 'object' || m === null || Array.isArray(m)) fail('manifest.json is not an object');
  if (m.format !== CAPTURE_FORMAT)
    fail(`manifest.json has format ${JSON.stringify(m.format)}, expected '${CAPTURE_FORMAT}'`);
  if (m.version !== CAPTURE_VERSION)
    fail(`manifest.json has version ${JSON.stringify(m.version)}; this reader knows version ${CAPTURE_VERSION}`);
  if (!Array.isArray(m.layers) || m.layers.length === 0) fail('manifest.json lists no layers');
  const used = new Set<string>();
  const names = new Set<string>();
  const layers: CapturedLayer[] = [];
  for (const [i, entry] of (m.layers as unknown[]).entries()) {
    const l = entry as Record<string, unknown>;
    const where = `manifest.json layer ${i + 1}`;
    if (typeof l !== 'object' || l === null) fail(`${where} is not an object`);
    if (typeof l.name !== 'string' || l.name === '') fail(`${where} has no name`);
    const name = l.name as string;
    if (names.has(name)) fail(`layer '${name}' is listed twice in manifest.json`);
    names.add(name);
    if (typeof l.type !== 'string') fail(`layer '${name}' has no type in manifest.json`);
    if (
      !isWholeList(l.shape) ||
      !isWholeList(l.steps) ||
      !Array.isArray(l.members) ||
      !l.members.every((s) => typeof s === 'string')
    ) {
      fail(`layer '${name}' needs shape, steps and members in manifest.json`);
    }
    const members = l.members as string[];
    const steps = l.steps as number[];
    if (members.length === 0 || members.length !== steps.length)
      fail(`layer '${name}' lists ${members.length} members for ${steps.length} steps`);
    const batches = members.map((member) => {
      if (!member.endsWith('.npy')) fail(`layer '${name}': member '${member}' is not an .npy`);
      const t = contents.arrays.get(member.slice(0, -4));
      if (t === undefined) fail(`layer '${name}': member '${member}' is missing from the archive`);
      if (used.has(member)) fail(`member '${member}' is listed for two layers or steps`);
      used.add(member);
      return t as Tensor;
    });
    const shape = l.shape as number[];
    if (!sameDims(batches[0].shape, shape))
      fail(
        `layer '${name}': member '${members[0]}' has shape [${batches[0].shape.join(',')}], the manifest says [${shape.join(',')}]`,
      );
    checkSteps(
      label,
      name,
      batches.map((b) => b.shape),
    );
    layers.push({
      name,
      type: l.type as string,
      shape: [...shape],
      steps: [...steps],
      batches: batches.map((b, k) => asBatchNormInput(b, `${label}:${members[k]}`)),
    });
  }
  for (const key of contents.arrays.keys())
    if (!used.has(`${key}.npy`)) fail(`member '${key}.npy' is not listed in manifest.json`);
  return { source: label, manifest: true, layers };
}

/**
 * Reads the activations python/syncbn_capture.py saved (or any numpy.savez archive of BN inputs).
 * @param path - the .npz.
 * @param label - names it in messages (default the path).
 * @returns every layer's captured inputs.
 * @throws {@link InputError} naming the archive and the member or layer for anything the .npz
 *   reader or the manifest check refuses.
 * @example
 * ```ts
 * import { readCapturedActivations } from 'syncbn-sim';
 * const acts = readCapturedActivations('acts.npz');
 * for (const l of acts.layers) console.log(l.name, l.type, l.shape, l.steps.length);
 * ```
 */
export function readCapturedActivations(path: string, label: string = path): CapturedActivations {
  return capturedFromNpz(readNpzFile(path, label), label === path ? path : `${label} (${path})`);
}

/**
 * Keeps the layers named in `names`, in the order given.
 * @param acts - the captured activations.
 * @param names - layer names (as the manifest spells them).
 * @returns the chosen layers.
 * @throws {@link InputError} for an unknown name (listing the known ones) or a name given twice.
 */
export function selectLayers(acts: CapturedActivations, names: readonly string[]): CapturedActivations {
  checkCaptured('acts', acts);
  checkStringList('names', names);
  const seen = new Set<string>();
  const layers = names.map((n) => {
    requireInput(!seen.has(n), () => `--layers: '${n}' is given twice`);
    seen.add(n);
    const layer = acts.layers.find((l) => l.name === n);
    requireInput(
      layer !== undefined,
      () => `--layers: no layer '${n}' in ${acts.source} (layers: ${acts.layers.map((l) => l.name).join(', ')})`,
    );
    return layer as CapturedLayer;
  });
  return { ...acts, layers };
}

/**
 * Checks that a value is a set of captured activations (from {@link capturedFromNpz} or
 * {@link readCapturedActivations}).
 * @param name - the argument's name in messages.
 * @param value - the value.
 * @returns the value, typed.
 * @throws {@link syncbn-sim!InputError} naming the argument.
 */
export function checkCaptured(name: string, value: unknown): CapturedActivations {
  const acts = checkObject<CapturedActivations>(name, value);
  if (!Array.isArray(acts.layers) || typeof acts.source !== 'string') {
    throw argumentError(name, 'captured activations (from readCapturedActivations)', value);
  }
  return acts;
}
