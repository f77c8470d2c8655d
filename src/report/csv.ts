/** Rows of plain values as CSV (RFC 4180, via csv-stringify), one header line first. */
import { stringify } from 'csv-stringify/sync';

/**
 * Rows as CSV, the header taken from the first row's keys: every row of a report has the same keys.
 *
 * @param rows - plain objects; a nested value (an array of per-channel figures) becomes one cell of JSON.
 * @returns the CSV text, '' when there are no rows.
 */
export function toCsv(rows: readonly object[]): string {
  if (rows.length === 0) return '';
  // Nested values (arrays of per-channel figures) are kept as JSON in one cell.
  const flat = rows.map((row) =>
    Object.fromEntries(
      Object.entries(row).map(([k, v]) => [k, typeof v === 'object' && v !== null ? JSON.stringify(v) : v]),
    ),
  );
  return stringify(flat, { header: true, columns: Object.keys(flat[0]) });
}
