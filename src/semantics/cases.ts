/**
 * The batches `semantics` runs every framework on, each a way a synchronized BN can go wrong:
 *   even         16 rows over 4 devices (4 each): every rule is exact to rounding here
 *   uneven       10 rows over 4 devices (3, 3, 2, 2): N not a multiple of W
 *   empty        3 rows over 4 devices (1, 1, 1, 0): a rank with nothing
 *   offset       16 rows over 4 devices, |mean| / std = 1e4: E[x^2] - E[x]^2 cancels
 *   half         16 rows over 4 devices stored in float16 (or bfloat16), mixed precision
 *   half-counts  one ResNet stage at batch 32 per device (32 x 56 x 56 = 100,352 values per
 *                channel) on 2 devices, the whole model in float16 (model.half()): counts kept
 *                in float16 overflow
 * Inputs are seeded normals, per channel loc_c + scale_c * z, rows split as numpy.array_split.
 */
import { checkChoice, checkOptions } from '../args.js';
import type { HalfFormat } from '../half/formats.js';
import { shardRows } from '../tensor/sharding.js';
import { SeededRandom } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { STORAGE_TYPES, type StorageType } from './engine.js';

/** The cases, by name. */
export type SemanticsCaseName = 'even' | 'uneven' | 'empty' | 'offset' | 'half' | 'half-counts';

/** Every case, in table order. */
export const SEMANTICS_CASES: readonly SemanticsCaseName[] = [
  'even',
  'uneven',
  'empty',
  'offset',
  'half',
  'half-counts',
];

/** One case's batch, split. */
export interface SemanticsCase {
  /** Which case. */
  readonly name: SemanticsCaseName;
  /** The whole batch (values before storage rounding). */
  readonly input: Tensor<Float64Array>;
  /** W, the devices the batch is split over. */
  readonly devices: number;
  /** Each device's rows. */
  readonly shards: readonly Tensor<Float64Array>[];
  /** What the values are stored in: the rounding every framework sees before it computes. */
  readonly storage: StorageType;
  /** The model is in the 16-bit format (counts and running statistics too). */
  readonly halfModel: boolean;
}

interface CaseShape {
  readonly rows: number;
  readonly shape: readonly number[];
  readonly devices: number;
  readonly loc: number;
}

const SHAPES: Readonly<Record<SemanticsCaseName, CaseShape>> = {
  even: { rows: 16, shape: [3, 3, 3], devices: 4, loc: 0.5 },
  uneven: { rows: 10, shape: [3, 3, 3], devices: 4, loc: 0.5 },
  empty: { rows: 3, shape: [3, 3, 3], devices: 4, loc: 0.5 },
  offset: { rows: 16, shape: [3, 3, 3], devices: 4, loc: 1e4 },
  half: { rows: 16, shape: [3, 3, 3], devices: 4, loc: 0.5 },
  'half-counts': { rows: 64, shape: [1, 56, 56], devices: 2, loc: 0.5 },
};

/** Options of {@link semanticsCase}. */
export interface SemanticsCaseOptions {
  /** The 16-bit format of the half cases; default float16. */
  readonly half?: HalfFormat;
  /** How the other cases store their values; default float32 (a 16-bit format: mixed precision). */
  readonly storage?: StorageType;
  /** Seed of the values; default 12. */
  readonly seed?: number;
}

/**
 * Builds a case.
 * @param name - the case.
 * @param options - the 16-bit format of the half cases, the storage of the others, the seed.
 * @returns the batch, its split and how it is stored.
 * @throws InputError for an unknown case or format.
 */
export function semanticsCase(name: SemanticsCaseName, options: SemanticsCaseOptions = {}): SemanticsCase {
  checkChoice('case', name, SEMANTICS_CASES);
  checkOptions('options', options);
  const half = options.half === undefined ? 'float16' : checkChoice('half', options.half, ['float16', 'bfloat16']);
  const other = options.storage === undefined ? 'float32' : checkChoice('storage', options.storage, STORAGE_TYPES);
  const { rows, shape, devices, loc } = SHAPES[name];
  const rng = new SeededRandom(options.seed ?? 12);
  const [C, H, W] = shape;
  const inner = H * W;
  // Per channel: std in [0.5, 1.5], mean loc * std (so |mean| / std = loc for the offset case).
  const scale = Array.from({ length: C }, () => 0.5 + rng.uniform());
  const data = new Float64Array(rows * C * inner);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < C; c++)
      for (let i = 0; i < inner; i++) data[(r * C + c) * inner + i] = scale[c] * (loc + rng.normal());
  const input = { data, shape: [rows, ...shape] };
  const rowSize = C * inner;
  const shards = Array.from({ length: devices }, (_, d) => {
    const [s, e] = shardRows(rows, devices, d);
    return { data: data.slice(s * rowSize, e * rowSize), shape: [e - s, ...shape] };
  });
  const storage: StorageType = name === 'half' || name === 'half-counts' ? half : other;
  return { name, input, devices, shards, storage, halfModel: name === 'half-counts' };
}
