/**
 * Writes the JSON Schema of every report type that `syncbn-sim report` reads back, into
 * dist/schemas/ (one file per type), from the TypeScript types themselves: run by `npm run build`
 * after tsc, so a schema can never lag behind its type. Every number may also be null, as JSON
 * writes NaN and the infinities, and is marked `nullIsNaN` for the reader to turn it back.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createGenerator } from 'ts-json-schema-generator';
import { SAVED_REPORT_TYPES } from '../src/report/saved-schemas.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The schema with every plain number also accepting null, marked to be read back as NaN. */
function numbersMayBeNull(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(numbersMayBeNull);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = numbersMayBeNull(value);
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
