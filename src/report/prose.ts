/** Lists of words in plain English, for tables' verdicts and for messages. */

/**
 * Joins items as a sentence lists them: "a", "a and b", "a, b and c".
 * @param items - the words.
 * @returns them joined; empty for none.
 */
export function andList(items: readonly string[]): string {
  return joinLast(items, 'and');
}

/**
 * Joins alternatives as a sentence offers them: "a", "a or b", "a, b or c".
 * @param items - the words.
 * @returns them joined; empty for none.
 */
export function orList(items: readonly string[]): string {
  return joinLast(items, 'or');
}

function joinLast(items: readonly string[], word: string): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${word} ${items[items.length - 1]}`;
}
