/**
 * Writes the JSON Schema of every report type that `syncbn-sim report` reads back, into
 * dist/schemas/ (one file per type), from the TypeScript types themselves: run by `npm run build`
 * after tsc, so a schema can never lag behind its type. Every number may also be null, as JSON
 * writes NaN and the infinities, and is marked `nullIsNaN` for the reader to turn it back; counts
 * of devices, trials and the like must be whole and at least 1, and the lists of rows, layers and
 * runs must not be empty.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';
import { SAVED_REPORT_TYPES } from '../src/report/saved-schemas.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Properties that count something a run needs at least one of, wherever they appear: a saved
 * result with 0 devices or 2.5 trials is refused instead of drawn with infinities.
 */
const COUNTS = new Set([
  'devices',
  'trials',
  'channels',
  'seeds',
  'perDeviceBatch',
  'globalBatch',
  'nodes',
  'gpusPerNode',
]);

/** Lists a report always has entries in: a result with none has lost them. */
const NON_EMPTY = new Set(['rows', 'layers', 'runs', 'epochs', 'modes', 'perDevice', 'sweep']);

/**
 * The schema with every plain number also accepting null, marked to be read back as NaN, and the
 * counts of {@link COUNTS} as whole numbers of at least 1.
 */
function numbersMayBeNull(node: unknown, name = ''): unknown {
  if (Array.isArray(node)) return node.map((item) => numbersMayBeNull(item));
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && typeof value === 'object' && value !== null)
      out[key] = Object.fromEntries(
        Object.entries(value).map(([prop, schema]) => [prop, numbersMayBeNull(schema, prop)]),
      );
    else out[key] = numbersMayBeNull(value);
  }
  if (out.type === 'number' && COUNTS.has(name)) return { ...out, type: 'integer', minimum: 1 };
  if (out.type === 'array' && NON_EMPTY.has(name)) return { ...out, minItems: 1 };
  if (out.type === 'number') return { ...out, type: ['number', 'null'], nullIsNaN: true };
  return out;
}

const generator = createGenerator({
  path: join(root, 'src', '{experiments,cost}', '*.ts'),
  tsconfig: join(root, 'tsconfig.json'),
  skipTypeCheck: true,
  type: '*',
  additionalProperties: false,
});
const outDir = join(root, 'dist', 'schemas');
mkdirSync(outDir, { recursive: true });
for (const type of SAVED_REPORT_TYPES) {
  const schema = numbersMayBeNull(generator.createSchema(type));
  writeFileSync(join(outDir, `${type}.json`), `${JSON.stringify(schema, null, 1)}\n`);
}
