/**
 * SGD with momentum and weight decay, as torch.optim.SGD (dampening 0, no Nesterov):
 *   d = g + weightDecay * p
 *   buf = d on the first step, momentum * buf + d after
 *   p -= lr * buf          (p -= lr * d when momentum is 0; the buffer is then not touched)
 * on flat float32 vectors, element by element in float64 and rounded once to float32. The update
 * is a pure function of its inputs, so replicas that hold the same parameters, gradients and
 * buffer stay bitwise identical.
 */
import { requireInput } from '../errors.js';
import { checkBoolean, checkFields, checkFloat32Array, ofType } from '../args.js';

/** The optimizer's settings, as torch.optim.SGD's. */
export interface SgdOptions {
  /** Learning rate, >= 0. */
  readonly lr: number;
  /** Default 0. */
  readonly momentum?: number;
  /** L2 penalty added to the gradient (default 0). */
  readonly weightDecay?: number;
}

/**
 * One SGD step in place on `params` (and the momentum `buffer`), from `grads`.
 *
 * @param params - the parameters, updated in place.
 * @param grads - their gradients.
 * @param buffer - the momentum buffer, updated in place (unused when momentum is 0).
 * @param options - learning rate, momentum (default 0), weight decay (default 0).
 * @param firstStep - the first step copies the gradient into the buffer, as PyTorch does.
 * @throws {@link syncbn-sim!InputError} when an argument is unusable.
 */
export function sgdStep(
  params: Float32Array,
  grads: Float32Array,
  buffer: Float32Array,
  options: SgdOptions,
  firstStep: boolean,
): void {
  checkFloat32Array('params', params);
  checkFloat32Array('grads', grads);
  checkFloat32Array('buffer', buffer);
  checkFields(
    'options',
    options,
    {
      lr: ofType.number('a finite number >= 0'),
      momentum: ofType.number('a finite number >= 0'),
      weightDecay: ofType.number('a finite number >= 0'),
    },
    ['lr'],
  );
  checkBoolean('firstStep', firstStep);
  const { lr } = options;
  const momentum = options.momentum ?? 0;
  const wd = options.weightDecay ?? 0;
  requireInput(Number.isFinite(lr) && lr >= 0, `sgd: learning rate must be a finite number >= 0, got ${lr}`);
  requireInput(
    Number.isFinite(momentum) && momentum >= 0,
    `sgd: momentum must be a finite number >= 0, got ${momentum}`,
  );
  requireInput(Number.isFinite(wd) && wd >= 0, `sgd: weight decay must be a finite number >= 0, got ${wd}`);
  const n = params.length;
  requireInput(grads.length >= n, () => `sgd: ${grads.length} gradients for ${n} parameters`);
  if (momentum === 0) {
    for (let i = 0; i < n; i++) params[i] = params[i] - lr * (grads[i] + wd * params[i]);
    return;
  }
  requireInput(buffer.length >= n, () => `sgd: momentum buffer holds ${buffer.length} values for ${n} parameters`);
  for (let i = 0; i < n; i++) {
    const d = grads[i] + wd * params[i];
    const b = firstStep ? d : momentum * buffer[i] + d;
    buffer[i] = b;
    params[i] = params[i] - lr * buffer[i];
  }
}

/** SGD with its momentum buffer and step count. */
export class Sgd {
  /** The momentum buffer (empty without momentum). */
  readonly buffer: Float32Array;
  private steps = 0;

  /**
   * @param paramCount - parameters of the model.
   * @param options - learning rate, momentum and weight decay.
   */
  constructor(
    paramCount: number,
    /** The settings. */
    readonly options: SgdOptions,
  ) {
    this.buffer = new Float32Array((options.momentum ?? 0) > 0 ? paramCount : 0);
  }

  /**
   * Steps taken.
   *
   * @returns the count.
   */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * One step in place.
   *
   * @param params - the parameters.
   * @param grads - their gradients.
   * @throws {@link syncbn-sim!InputError} when an argument is unusable.
   */
  step(params: Float32Array, grads: Float32Array): void {
    sgdStep(params, grads, this.buffer, this.options, this.steps === 0);
    this.steps++;
  }
}
