/**
 * `syncbn-sim/norm`: the normalizations beyond batch norm as single-device operators, forward and
 * (with `gradOutput`) backward, float32 and float64: group norm, layer norm and instance norm
 * (held to PyTorch's nn.GroupNorm, nn.LayerNorm([C, H, W]) and nn.InstanceNorm2d(affine=True)),
 * Batch Renormalization (Ioffe 2017) with its warm-up schedule, and Filter Response
 * Normalization with TLU (Singh and Krishnan 2020). Models use them as layers through the
 * trainer's `norm` option (`syncbn-sim/train`).
 *
 * @example
 * ```ts
 * import { groupNorm, renormLimits } from 'syncbn-sim/norm';
 *
 * const x = { data: new Float32Array(2 * 4 * 3 * 3).map((_, i) => Math.sin(i)), shape: [2, 4, 3, 3] };
 * const { output, stats } = groupNorm(x, { groups: 2 }); // statistics per sample and group
 * console.log(stats.count, output.data[0]);
 * console.log(renormLimits(20000)); // Ioffe 2017's r_max and d_max at step 20,000
 * ```
 *
 * @module syncbn-sim/norm
 */

export { groupNorm } from './group-norm.js';
export type { GroupNormOptions } from './group-norm.js';
export { layerNorm } from './layer-norm.js';
export type { LayerNormOptions } from './layer-norm.js';
export { instanceNorm } from './instance-norm.js';
export type { NormOptions, NormResult } from './operator.js';
export type { SetMoments } from './reduce.js';
export type { AffineKind } from './apply.js';
export { IOFFE_SCHEDULE, batchRenorm, renormLimits } from './batch-renorm.js';
export type { BatchRenormOptions, BatchRenormResult, RenormLimits, RenormSchedule } from './batch-renorm.js';
export { FRN_EPS, filterResponseNorm } from './frn.js';
export type { FrnOptions, FrnParamGrads, FrnParams, FrnResult } from './frn.js';
