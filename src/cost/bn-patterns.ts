/**
 * The collectives each framework's sync BN issues per training iteration, layer by layer, in the
 * order they happen (forward through the layers, then backward in reverse). Pure data.
 *
 *   pytorch  torch/nn/modules/_functions.py (SyncBatchNorm): forward, one all-gather per layer of
 *            every rank's [mean (C), invstd (C), count (1)]; backward, one all-reduce per layer
 *            of [sum_dy (C), sum_dy_xmu (C)].
 *   keras    keras/src/backend/tensorflow/nn.py (_compute_moments_sync): forward, three
 *            all-reduces per layer (sum C, sum of squares C, count 1); backward, the gradients of
 *            the two sums flow back through their all-reduces: two all-reduces of C per layer.
 *   fused    every layer's [count, sum, sum of squares] (2C+1) in one all-reduce, forward and
 *            backward: a lower bound, since a sequential network has each layer's statistics
 *            only once the layer before it is normalized.
 */
import { checkChoice, checkWholeList } from '../args.js';
import type { CollectiveKind } from './collective-table.js';

/** The traffic patterns. */
export type BnPattern = 'pytorch' | 'keras' | 'fused';
/** Every pattern, as `--pattern` spells it. */
export const BN_PATTERNS: readonly BnPattern[] = ['pytorch', 'keras', 'fused'];

/** One collective call of an iteration. */
export interface BnCall {
  /** forward or backward. */
  readonly pass: 'forward' | 'backward';
  /** The BN layer (-1 for a fused call). */
  readonly layer: number;
  /** all-reduce or all-gather. */
  readonly kind: CollectiveKind;
  /** all-reduce: values in the vector; all-gather: values in each rank's block. */
  readonly values: number;
}

/**
 * The calls of one iteration.
 * @param channels - channels of each BN layer, in forward order.
 * @param pattern - the framework's pattern.
 * @returns the calls, in the order the iteration makes them.
 */
export function bnCalls(channels: readonly number[], pattern: BnPattern): BnCall[] {
  checkWholeList('channels', channels, 1);
  checkChoice('pattern', pattern, BN_PATTERNS);
  const L = channels.length;
  const calls: BnCall[] = [];
  if (pattern === 'fused') {
    const total = channels.reduce((s, C) => s + 2 * C + 1, 0);
    calls.push(
      { pass: 'forward', layer: -1, kind: 'all-reduce', values: total },
      { pass: 'backward', layer: -1, kind: 'all-reduce', values: total },
    );
    return calls;
  }
  for (let layer = 0; layer < L; layer++) {
    const C = channels[layer];
    if (pattern === 'pytorch') calls.push({ pass: 'forward', layer, kind: 'all-gather', values: 2 * C + 1 });
    else for (const values of [C, C, 1]) calls.push({ pass: 'forward', layer, kind: 'all-reduce', values });
  }
  for (let layer = L - 1; layer >= 0; layer--) {
    const C = channels[layer];
    if (pattern === 'pytorch') calls.push({ pass: 'backward', layer, kind: 'all-reduce', values: 2 * C });
    else for (const values of [C, C]) calls.push({ pass: 'backward', layer, kind: 'all-reduce', values });
  }
  return calls;
}
