/** Plain-text tables for the terminal: columns padded to their widest cell, numbers right-aligned. */

/** A table cell: numbers are formatted by {@link formatNumber} and right-aligned. */
export type Cell = string | number;

/**
 * A number in at most `digits` significant digits, without trailing noise: errors of 1e-17 and
 * counts of 4096 must both read as they are.
 *
 * @param value - any number; whole numbers below 1e15 print in full, NaN and infinities as JS prints them.
 * @param digits - significant digits; default 6.
 * @returns the text, in exponent form below 1e-4 and from 1e9 up.
 */
export function formatNumber(value: number, digits = 6): string {
  if (Number.isInteger(value) && Math.abs(value) < 1e15) return String(value);
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-4 || abs >= 1e9)) return value.toExponential(digits - 1).replace(/\.?0+e/, 'e');
  return String(Number(value.toPrecision(digits)));
}

/**
 * Seconds in the unit that suits them.
 * @param s - seconds.
 * @returns '12.3 us', '4.56 ms' or '1.2 s' (3 significant digits), or '0'.
 */
export function formatSeconds(s: number): string {
  if (s === 0) return '0';
  if (s < 1e-3) return `${formatNumber(s * 1e6, 3)} us`;
  if (s < 1) return `${formatNumber(s * 1e3, 3)} ms`;
  return `${formatNumber(s, 3)} s`;
}

/**
 * A plain-text table: each column as wide as its widest cell, numeric columns right-aligned.
 *
 * @param header - the column names.
 * @param rows - one array of cells per row, in column order.
 * @returns the header, a rule of dashes and the rows, lines joined by '\n', no trailing spaces.
 */
export function renderTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map((cell) => (typeof cell === 'number' ? formatNumber(cell) : cell)));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((row) => (row[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((row) => typeof row[i] === 'number'));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}

/**
 * "1 device", "8 devices".
 *
 * @param n - how many.
 * @param noun - the singular noun; the plural adds an s.
 * @returns the count and the noun.
 */
export function count(n: number, noun: string): string {
  return `${formatNumber(n)} ${noun}${n === 1 ? '' : 's'}`;
}
