/**
 * The JSON boundary's key convention. Reports are typed in camelCase (`meanRatio`); the JSON that
 * `--json` prints and files store keeps the documented snake_case keys (`mean_ratio`). Each
 * report's module in src/report/json/ spells its mapping out, key by key and in the documented
 * order, and types it as `SnakeCased<Report>`, so that the compiler refuses a key that is missing,
 * extra or misspelt.
 */

/** One camelCase name in snake_case: 'meanRatio' is 'mean_ratio', 'p10Us' is 'p10_us'. */
export type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

/** `T` with every key, at every depth, in snake_case: the type of a report's JSON document. */
export type SnakeCased<T> = T extends readonly (infer Item)[]
  ? SnakeCased<Item>[]
  : T extends object
    ? { -readonly [K in keyof T as K extends string ? SnakeCase<K> : K]: SnakeCased<T[K]> }
    : T;
