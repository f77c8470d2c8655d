/** Test helpers for the normalizations: seeded data, row splits, and peers run in one thread. */
import type { AllReduceFn } from '../src/collectives/all-reduce.js';
import type { Program } from '../src/collectives/endpoint.js';
import { shardRows } from '../src/tensor/sharding.js';
import { SeededRandom } from '../src/tensor/random.js';
import type { FloatArray, Tensor } from '../src/tensor/tensor.js';

/** Normal values loc + scale * z, seeded. */
export function normals(seed: number, n: number, loc = 0, scale = 1): Float64Array {
  const rng = new SeededRandom(seed);
  return Float64Array.from({ length: n }, () => loc + scale * rng.normal());
}

/** Rows [start, end) of a tensor, as a tensor of its own (a copy). */
export function rowsOf(t: Tensor, start: number, end: number): Tensor {
  const rowSize = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { data: t.data.slice(start * rowSize, end * rowSize), shape: [end - start, ...t.shape.slice(1)] };
}

/** numpy.array_split of a tensor's rows over W parts (some may be empty). */
export function splitRows(t: Tensor, parts: number): Tensor[] {
  return Array.from({ length: parts }, (_, r) => rowsOf(t, ...shardRows(t.shape[0], parts, r)));
}

/** The concatenation of blocks of one dtype. */
export function concat(blocks: readonly FloatArray[]): FloatArray {
  const n = blocks.reduce((a, b) => a + b.length, 0);
  const out = blocks[0] instanceof Float32Array ? new Float32Array(n) : new Float64Array(n);
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  return out;
}

/** Whether two arrays hold the same bits (NaN equal to NaN, 0 distinct from -0). */
export function sameBits(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/**
 * Runs one program per device in this thread, with an all-reduce among them that combines every
 * device's vector in rank order (a stand-in for the cluster's collectives, to test device code).
 */
export function runTogether<T>(programs: readonly ((allReduce: AllReduceFn) => Program<T>)[]): T[] {
  const W = programs.length;
  const calls: { inputs: (Float64Array | undefined)[]; result?: Float64Array }[] = [];
  const made = new Array<number>(W).fill(0);
  const running = programs.map((make, rank) =>
    make(function* (data, reducer) {
      const k = made[rank]++;
      calls[k] ??= { inputs: new Array(W).fill(undefined) };
      const call = calls[k];
      call.inputs[rank] = data.slice();
      while (call.inputs.some((v) => v === undefined)) yield { kind: 'message', peer: -1, tag: k };
      if (!call.result) {
        const acc = call.inputs[0]!.slice();
        for (let j = 1; j < W; j++) reducer.combine(acc, call.inputs[j]!, acc, 0, acc.length);
        call.result = acc;
      }
      data.set(call.result);
    }),
  );
  const results = new Array<T>(W);
  const done = new Array<boolean>(W).fill(false);
  for (let round = 0; done.some((d) => !d); round++) {
    if (round > 10_000) throw new RangeError('programs never finished');
    running.forEach((p, r) => {
      if (done[r]) return;
      const step = p.next();
      if (step.done) {
        done[r] = true;
        results[r] = step.value;
      }
    });
  }
  return results;
}
