/**
 * Softmax cross-entropy over logits [batch, classes] with integer labels, as
 * torch.nn.functional.cross_entropy (reduction 'mean'): loss = mean over rows of
 * logsumexp(z) - z[label], computed stably (max subtracted) in float64.
 */
import { requireInput } from '../errors.js';
import { checkFloat32Array, checkNumbers, checkOptions, checkWhole, ofType } from '../args.js';

/** What {@link softmaxCrossEntropy} returns. */
export interface CrossEntropyResult {
  /** Mean loss over the batch. */
  readonly loss: number;
  /** Sum of the per-row losses (the mean times the batch), handy to combine shards exactly. */
  readonly lossSum: number;
  /** Rows whose largest logit (the first on ties) is at the label. */
  readonly correct: number;
  /** dL/dlogits for the loss sum divided by `divisor` (by default the mean loss): (softmax - onehot) / divisor. */
  readonly grad: Float32Array;
}

/** Options of {@link softmaxCrossEntropy}. */
export interface CrossEntropyOptions {
  /** Where to write the gradient (length batch*classes); a new array otherwise. */
  readonly grad?: Float32Array;
  /**
   * The gradient is of sum(loss_i) / divisor (default: the batch, i.e. the mean loss). A device
   * holding a shard of a global batch of N passes N to get its part of the global mean's gradient.
   */
  readonly divisor?: number;
}

/**
 * Softmax cross-entropy of a batch (torch.nn.functional.cross_entropy, mean reduction), its
 * gradient and the correct predictions, in float64.
 *
 * @param logits - [batch, classes], float32.
 * @param labels - the class of each row.
 * @param batch - rows.
 * @param classes - columns.
 * @param options - where to write the gradient, and the divisor of the loss sum (default the
 *   batch).
 * @returns the mean loss, the loss sum, the correct rows and dL/dlogits.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 * @example
 * ```ts
 * const { loss, grad } = softmaxCrossEntropy(logits, labels, 32, 10);
 * ```
 */
export function softmaxCrossEntropy(
  logits: Float32Array,
  labels: ArrayLike<number>,
  batch: number,
  classes: number,
  options: CrossEntropyOptions = {},
): CrossEntropyResult {
  checkFloat32Array('logits', logits);
  checkNumbers('labels', labels);
  checkWhole('batch', batch);
  ofType.number('a whole number >= 1')('classes', classes);
  checkOptions('options', options);
  if (options.grad !== undefined) checkFloat32Array('options.grad', options.grad);
  requireInput(
    Number.isInteger(classes) && classes > 0,
    `cross-entropy: classes must be a positive integer, got ${classes}`,
  );
  requireInput(
    logits.length === batch * classes,
    () => `cross-entropy: logits have ${logits.length} values, expected ${batch} x ${classes}`,
  );
  requireInput(labels.length >= batch, () => `cross-entropy: ${labels.length} labels for a batch of ${batch}`);
  const grad = options.grad ?? new Float32Array(batch * classes);
  requireInput(grad.length === batch * classes, 'cross-entropy: gradient buffer has the wrong length');
  const divisor = options.divisor ?? batch;
  const scale = divisor > 0 ? 1 / divisor : 0;
  let lossSum = 0;
  let correct = 0;
  for (let n = 0; n < batch; n++) {
    const row = n * classes;
    const label = labels[n];
    requireInput(
      Number.isInteger(label) && label >= 0 && label < classes,
      () => `cross-entropy: label ${label} of row ${n} is not a class in [0, ${classes})`,
    );
    let max = logits[row];
    let arg = 0;
    for (let c = 1; c < classes; c++) {
      if (logits[row + c] > max) {
        max = logits[row + c];
        arg = c;
      }
    }
    let sumExp = 0;
    for (let c = 0; c < classes; c++) sumExp += Math.exp(logits[row + c] - max);
    const logSumExp = max + Math.log(sumExp);
    lossSum += logSumExp - logits[row + label];
    if (arg === label) correct++;
    const inv = 1 / sumExp;
    for (let c = 0; c < classes; c++) {
      const p = Math.exp(logits[row + c] - max) * inv;
      grad[row + c] = (p - (c === label ? 1 : 0)) * scale;
    }
  }
  return { loss: batch > 0 ? lossSum / batch : 0, lossSum, correct, grad };
}
