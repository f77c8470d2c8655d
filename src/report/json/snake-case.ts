/**
 * The JSON boundary's key convention. Reports are typed in camelCase (`meanRatio`); the JSON that
 * `--json` prints and files store keeps the documented snake_case keys (`mean_ratio`). Each
 * report's module in src/report/json/ spells its mapping out, key by key and in the documented
 * order, and types it as `SnakeCased<Report>`, so that the compiler refuses a key that is missing,
 * extra or misspelt. A key the rule cannot spell (a number after a word: `secondsPer60kEpoch` is
 * `seconds_per_60k_epoch`, where the rule gives `seconds_per60k_epoch`) is named in `SnakeCased`'s
 * second argument, so it too is checked.
 */

/** One camelCase name in snake_case: 'meanRatio' is 'mean_ratio', 'p10Us' is 'p10_us'. */
export type SnakeCase<S extends string> = S extends `${infer Head}${infer Tail}`
  ? `${Head extends Lowercase<Head> ? Head : `_${Lowercase<Head>}`}${SnakeCase<Tail>}`
  : S;

/** A key in snake_case: as `Spelled` spells it when it is there, else by {@link SnakeCase}. */
export type SnakeKey<K extends string, Spelled extends Record<string, string>> = K extends keyof Spelled
  ? Spelled[K]
  : SnakeCase<K>;

/**
 * `T` with every key, at every depth, in snake_case: the type of a report's JSON document.
 * `Spelled` gives the snake_case of the keys the rule cannot spell (`{ secondsPer60kEpoch: 'seconds_per_60k_epoch' }`).
 */
export type SnakeCased<
  T,
  Spelled extends Record<string, string> = Record<never, string>,
> = T extends readonly (infer Item)[]
  ? SnakeCased<Item, Spelled>[]
  : T extends object
    ? { -readonly [K in keyof T as K extends string ? SnakeKey<K, Spelled> : K]: SnakeCased<T[K], Spelled> }
    : T;
