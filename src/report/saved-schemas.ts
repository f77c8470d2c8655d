/**
 * The JSON Schemas of the reports `syncbn-sim report` reads back. `npm run build` generates them
 * from the report types (scripts/make-report-schemas.ts) into dist/schemas/; this module names
 * them and checks a document against one, so that a saved result with a missing key, a key too
 * many or a value of the wrong type is named in one line instead of drawn wrong.
 */
import { existsSync, readFileSync } from 'node:fs';
import { InternalError } from '../errors.js';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { DataValidationCxt } from 'ajv/dist/types/index.js';

/** The report types with a schema, by their TypeScript names. */
export const SAVED_REPORT_TYPES = [
  'CompareReport',
  'LayerCompareReport',
  'NoiseReport',
  'LayerNoiseReport',
  'PrecisionReport',
  'CostReport',
  'IterationDocument',
  'TrainReport',
  'SweepReport',
] as const;

/** The name of a report type with a schema. */
export type SavedReportType = (typeof SAVED_REPORT_TYPES)[number];

/** dist/schemas/ of this package, both when this file runs compiled (dist/src/report) and as source (src/report, in the tests). */
const SCHEMA_DIR = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../dist/schemas/' : '../../schemas/', import.meta.url),
);

let ajv: Ajv | undefined;
const compiled = new Map<SavedReportType, ValidateFunction>();

/** The validator of one type, compiled once. `nullIsNaN` turns a null the schema allows for a number into NaN. */
function validatorOf(type: SavedReportType): ValidateFunction {
  let validate = compiled.get(type);
  if (!validate) {
    ajv ??= new Ajv({ allErrors: false, strict: false }).addKeyword({
      keyword: 'nullIsNaN',
      modifying: true,
      schemaType: 'boolean',
      validate: (_: boolean, data: unknown, _schema: unknown, where?: DataValidationCxt) => {
        if (data === null && where) where.parentData[where.parentDataProperty] = Number.NaN;
        return true;
      },
    });
    const file = join(SCHEMA_DIR, `${type}.json`);
    if (!existsSync(file))
      throw new InternalError(`the schema ${file} is missing: run npm run build, which generates dist/schemas`);
    validate = ajv.compile(JSON.parse(readFileSync(file, 'utf8')));
    compiled.set(type, validate);
  }
  return validate;
}

/** 'meanRatio' is 'mean_ratio': the JSON's rule, for a key the file does not hold (one that is missing). */
const snakeCase = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** An ajv error as the saved file's path and what is wrong there ('rows[1].mean_ratio must be number'). */
function describe(error: ErrorObject, spelled: (key: string) => string | undefined): string {
  const spell = (key: string) => spelled(key) ?? snakeCase(key);
  const parts = error.instancePath.split('/').slice(1);
  let path = parts.map((p) => (/^\d+$/.test(p) ? `[${p}]` : `.${spell(p)}`)).join('');
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (params.missingProperty) return `${path ? `${path.slice(1)}.` : ''}${spell(params.missingProperty)} is missing`;
  if (params.additionalProperty)
    return `${path ? `${path.slice(1)}.` : ''}${spell(params.additionalProperty)} is not a key of this result`;
  path = path.startsWith('.') ? path.slice(1) : path;
  // A number may be null in the file (NaN, infinities): name the type the reader needs.
  const message =
    error.keyword === 'type'
      ? `must be ${String(error.params.type).replace(',null', '')}`
      : error.keyword === 'minItems'
        ? 'is empty'
        : error.message;
  return `${path || 'the document'} ${message}`;
}

/**
 * Checks a report, keys in camelCase, against its type's schema; a null where the type has a
 * number becomes NaN in place (JSON writes NaN and the infinities as null).
 *
 * @param type - the report type.
 * @param report - the document, keys in camelCase; modified in place where a number was null.
 * @param spelled - how the file spells a camelCase key, when it holds it; by default the JSON's rule.
 * @returns undefined when it conforms, else the first problem with its path in the saved
 *   file's own keys ('rows[1].mean_ratio must be number').
 * @throws InternalError when the schema is missing from dist/schemas (a build that did not finish).
 */
export function schemaProblem(
  type: SavedReportType,
  report: unknown,
  spelled: (key: string) => string | undefined = () => undefined,
): string | undefined {
  const validate = validatorOf(type);
  if (validate(report)) return undefined;
  return describe((validate.errors ?? [])[0], spelled);
}
