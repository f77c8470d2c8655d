/**
 * What the plots share so that every series stays distinguishable in colour, in grey print and
 * where two series overlap: a shape, a size and a dash pattern per series beside its colour,
 * hollow points (one drawn over another still shows both outlines), and labels for seconds.
 */

/** Point shapes, one per series in order; more series than shapes cycle. */
export const SHAPES = [
  'circle',
  'square',
  'triangle-up',
  'diamond',
  'cross',
  'triangle-down',
  'triangle-right',
  'triangle-left',
] as const;

/**
 * Dash patterns, one per series in order: solid first, then patterns whose gaps let a line
 * drawn underneath show through.
 */
export const DASHES: readonly (readonly number[])[] = [
  [1, 0],
  [8, 4],
  [2, 3],
  [10, 3, 2, 3],
  [4, 4],
  [12, 4, 2, 4, 2, 4],
];

/**
 * Point areas (px²), one per series, from large to small: hollow points of series that coincide
 * nest inside each other instead of covering each other.
 * @param n how many series
 * @returns one area per series
 */
export function nestedSizes(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? 70 : Math.round(200 - (i * 160) / (n - 1))));
}

/**
 * The first `n` entries of a cyclic palette.
 * @param palette shapes or dash patterns
 * @param n how many series
 * @returns one entry per series
 */
export function cycle<T>(palette: readonly T[], n: number): T[] {
  return Array.from({ length: n }, (_, i) => palette[i % palette.length]);
}

/**
 * Distinct values in the order they first appear: a legend in the order the user gave.
 * @param values the values, repeated as in the rows
 * @returns each value once
 */
export function inOrder<T>(values: Iterable<T>): T[] {
  return [...new Set(values)];
}

/** A Vega expression labelling a value in seconds with an SI prefix: 20µs, 3ms, 1.5s. */
export const SECONDS_LABEL = "format(datum.value, '~s') + 's'";

/** Legend settings that never shorten a label: vega's default cuts labels at 160 px with "…". */
export const FULL_LABELS = { labelLimit: 0, titleLimit: 0 } as const;

/** Rank of a BN mode's kind, from least to most synchronized. */
const MODE_RANK: Record<string, number> = { local: 0, ghost: 1, group: 2, sync: 3 };

/**
 * BN modes from least to most synchronized (local, ghost:G, group:K by K, sync), so that a mode
 * keeps its place, colour and shape whichever rows are present.
 * @param modes mode names as the experiments write them
 * @returns each mode once, in that order; unknown kinds last, in the order given
 */
export function bnModeOrder(modes: Iterable<string>): string[] {
  const rank = (m: string) => MODE_RANK[m.split(':')[0]] ?? 4;
  const param = (m: string) => Number(m.split(':')[1] ?? 0);
  return inOrder(modes).sort((a, b) => rank(a) - rank(b) || param(a) - param(b));
}
