/**
 * Every framework's synchronized batch norm as data (GUIDE section 9): what each device sends,
 * how the devices' messages are merged, how the variance is rebuilt, how the running variance is
 * kept, and what the statistics are computed in under mixed precision. One engine
 * (src/semantics/engine.ts) runs any record; nothing here is code. Each rule names the source
 * file it was read from (the repository's default branch as stored in the public index).
 */
import type { HalfFormat } from '../half/formats.js';

/** The frameworks, one record each (Detectron2's two stats modes are two records). */
export type FrameworkName = 'pytorch' | 'keras' | 'flax' | 'horovod-tf' | 'detectron2' | 'detectron2-n' | 'apex';

/** Every framework, in the order tables list them. */
export const FRAMEWORK_NAMES: readonly FrameworkName[] = [
  'pytorch',
  'keras',
  'flax',
  'horovod-tf',
  'detectron2',
  'detectron2-n',
  'apex',
];

/**
 * What one device sends for each channel:
 *   mean-invstd-count  its mean, 1/sqrt(var + eps) and its count (all-gathered)
 *   sums               sum(x), sum(x^2) and its count (all-reduced)
 *   mean-meansq        its mean and mean(x^2) (all-reduced, then divided by the number of devices)
 *   mean-var-meansq    its mean and var + mean^2 (all-reduced, then divided by the number of devices)
 *   rows-mean-meansq   rows x [mean, mean(x^2), 1] (all-reduced; divided by the total rows)
 *   mean-var           its mean and biased variance (all-gathered)
 */
export type SendKind =
  | 'mean-invstd-count'
  | 'sums'
  | 'mean-meansq'
  | 'mean-var-meansq'
  | 'rows-mean-meansq'
  | 'mean-var';

/**
 * How the messages are weighted in the merge:
 *   count      by each device's count (what single-device BN on the whole batch does)
 *   equal      every device alike, whatever its count
 *   own-count  every device as if it had this device's own count (so: alike)
 */
export type Weighting = 'count' | 'equal' | 'own-count';

/**
 * How the variance is obtained after the merge:
 *   from-invstd        each device's 1/invstd^2 - eps, merged pairwise (Chan) with the counts
 *   meansq-minus-sq    E[x^2] - E[x]^2, kept as computed (may be negative)
 *   clamped            E[x^2] - E[x]^2, clamped at 0
 *   welford            pairwise (Chan) merge of (mean, M2)
 */
export type VarianceRebuild = 'from-invstd' | 'meansq-minus-sq' | 'clamped' | 'welford';

/** A device with no rows: what the rule does with it (read off the source; the engine follows it). */
export type EmptyRankRule =
  | 'masked' // sends zeros with count 0 and is filtered out before the merge
  | 'zero-sums' // sends zero sums and count 0, which add nothing
  | 'nan' // its mean of zero values is NaN, and the NaN reaches every device
  | 'refused' // the framework refuses it (an assertion)
  | 'nan-variance'; // sends a 0/0 variance that poisons the merge

/** The running statistics' convention. */
export interface RunningRule {
  /** torch: r = (1 - m) r + m s (default m 0.1); keras: r = m r + (1 - m) s (default m 0.99). */
  readonly form: 'torch' | 'keras';
  /** m, in `form`'s sense. */
  readonly momentum: number;
  /** The variance folded in when devices are synced. */
  readonly variance: 'unbiased' | 'biased';
  /** The variance the same framework folds in on a single device (the reference). */
  readonly singleDevice: 'unbiased' | 'biased';
}

/** What the statistics are computed in when the input is stored in 16 bits, with the source. */
export interface HalfRule {
  /** float32: the input is promoted and the statistics are float32; storage: they stay 16-bit. */
  readonly float16: 'float32' | 'storage';
  /** The same for bfloat16 input. */
  readonly bfloat16: 'float32' | 'storage';
  /** The dtype of the per-device counts: float32, an integer, or that of the running statistics. */
  readonly counts: 'float32' | 'integer' | 'running-dtype' | 'none';
  /** Where this was read in the framework's source, and what the line does. */
  readonly source: string;
}

/** One framework's synchronized BN. */
export interface SyncBnRule {
  /** The framework. */
  readonly name: FrameworkName;
  /** How tables show it. */
  readonly label: string;
  /** Files the rule was read from (repository: path). */
  readonly sources: readonly string[];
  /** What each device sends. */
  readonly sends: SendKind;
  /** How the messages are weighted in the merge. */
  readonly weighting: Weighting;
  /** How the variance is rebuilt after the merge. */
  readonly variance: VarianceRebuild;
  /** What a device with no rows does. */
  readonly emptyRank: EmptyRankRule;
  /** How the running statistics are kept. */
  readonly running: RunningRule;
  /** The framework's default eps. */
  readonly eps: number;
  /**
   * How the output is formed: centered (x - mean) * invstd, or scale-shift x * scale + (beta -
   * mean * scale), which loses |mean| / std more to rounding.
   */
  readonly output: 'centered' | 'scale-shift';
  /** What the statistics are computed in under mixed precision. */
  readonly half: HalfRule;
}

const TORCH_RUNNING = { form: 'torch', momentum: 0.1, variance: 'unbiased', singleDevice: 'unbiased' } as const;
const KERAS_RUNNING = { form: 'keras', momentum: 0.99, variance: 'biased', singleDevice: 'biased' } as const;

/** The records, by name. */
export const FRAMEWORK_RULES: Readonly<Record<FrameworkName, SyncBnRule>> = {
  pytorch: {
    name: 'pytorch',
    label: 'PyTorch nn.SyncBatchNorm',
    sources: [
      'pytorch/pytorch: torch/nn/modules/_functions.py (SyncBatchNorm.forward: batch_norm_stats, all_gather of [mean, invstd, count], count >= 1 mask, counts cast to running_mean.dtype)',
      'pytorch/pytorch: aten/src/ATen/native/cuda/Normalization.cuh (batch_norm_reduce_statistics_kernel: v = (1/invstd^2 - eps) * count, pairwise merge, running_var with var_n / (n - 1))',
    ],
    sends: 'mean-invstd-count',
    weighting: 'count',
    variance: 'from-invstd',
    emptyRank: 'masked',
    running: TORCH_RUNNING,
    eps: 1e-5,
    output: 'centered',
    half: {
      float16: 'float32',
      bfloat16: 'float32',
      counts: 'running-dtype',
      source:
        'Normalization.cuh batch_norm_stats_cuda_template promotes mean/invstd of Half and BFloat16 input to Float; _functions.py casts the counts to running_mean.dtype (PR #98332), float16 once the model is .half()',
    },
  },
  keras: {
    name: 'keras',
    label: 'Keras BatchNormalization(synchronized=True)',
    sources: [
      'keras-team/keras: keras/src/backend/tensorflow/nn.py (_compute_moments_sync: all-reduced sum, sum of squares and count; divide_no_nan; variance = maximum(E[x^2] - E[x]^2, 0))',
      'keras-team/keras: keras/src/layers/normalization/batch_normalization.py (moving_variance = m * moving + (1 - m) * variance, m = 0.99, eps 1e-3; float16/bfloat16 inputs cast to float32)',
    ],
    sends: 'sums',
    weighting: 'count',
    variance: 'clamped',
    emptyRank: 'zero-sums',
    running: KERAS_RUNNING,
    eps: 1e-3,
    output: 'scale-shift',
    half: {
      float16: 'float32',
      bfloat16: 'float32',
      counts: 'float32',
      source:
        'batch_normalization.py call(): inputs of float16/bfloat16 are cast to float32; the count is a float32 sum of ones',
    },
  },
  flax: {
    name: 'flax',
    label: 'Flax nn.BatchNorm(axis_name)',
    sources: [
      'google/flax: flax/linen/normalization.py (_compute_stats: lax.pmean of [mean, mean of |x|^2], var = maximum(0, mu2 - mu^2) with use_fast_variance; ra_var = momentum * ra_var + (1 - momentum) * var, momentum 0.99)',
    ],
    sends: 'mean-meansq',
    weighting: 'equal',
    variance: 'clamped',
    emptyRank: 'nan',
    running: KERAS_RUNNING,
    eps: 1e-5,
    output: 'centered',
    half: {
      float16: 'float32',
      bfloat16: 'float32',
      counts: 'none',
      source: 'normalization.py _compute_stats: force_float32_reductions (default True) promotes x to at least float32',
    },
  },
  'horovod-tf': {
    name: 'horovod-tf',
    label: 'Horovod SyncBatchNormalization (TensorFlow)',
    sources: [
      'horovod/horovod: horovod/tensorflow/sync_batch_norm.py (_moments: worker mean and var + mean^2 stacked, _allreduce Sum, divided by size(); group_variance = E[x^2] - E[x]^2, not clamped)',
    ],
    sends: 'mean-var-meansq',
    weighting: 'equal',
    variance: 'meansq-minus-sq',
    emptyRank: 'nan',
    running: KERAS_RUNNING,
    eps: 1e-3,
    output: 'scale-shift',
    half: {
      float16: 'float32',
      bfloat16: 'float32',
      counts: 'none',
      source:
        "tf.keras BatchNormalizationBase.call: 'Do all math in float32 if given 16-bit inputs' (the layer Horovod subclasses)",
    },
  },
  detectron2: {
    name: 'detectron2',
    label: 'Detectron2 NaiveSyncBatchNorm (stats_mode "")',
    sources: [
      'facebookresearch/detectron2: detectron2/layers/batch_norm.py (NaiveSyncBatchNorm: all_reduce of [mean, meansqr] * 1/world_size; var = meansqr - mean^2; running_var += momentum * (var - running_var), biased; assert B > 0)',
    ],
    sends: 'mean-meansq',
    weighting: 'equal',
    variance: 'meansq-minus-sq',
    emptyRank: 'refused',
    running: { form: 'torch', momentum: 0.1, variance: 'biased', singleDevice: 'unbiased' },
    eps: 1e-5,
    output: 'scale-shift',
    half: {
      float16: 'float32',
      bfloat16: 'storage',
      counts: 'none',
      source: 'batch_norm.py: only input.dtype == torch.float16 is cast to float (bfloat16 stays bfloat16)',
    },
  },
  'detectron2-n': {
    name: 'detectron2-n',
    label: 'Detectron2 NaiveSyncBatchNorm (stats_mode "N")',
    sources: [
      'facebookresearch/detectron2: detectron2/layers/batch_norm.py (NaiveSyncBatchNorm stats_mode "N": all_reduce of [mean, meansqr, 1] * B, divided by max(total B, 1); momentum * min(total B, 1); empty ranks send zeros)',
    ],
    sends: 'rows-mean-meansq',
    weighting: 'count',
    variance: 'meansq-minus-sq',
    emptyRank: 'zero-sums',
    running: { form: 'torch', momentum: 0.1, variance: 'biased', singleDevice: 'unbiased' },
    eps: 1e-5,
    output: 'scale-shift',
    half: {
      float16: 'float32',
      bfloat16: 'storage',
      counts: 'float32',
      source: 'batch_norm.py: only float16 input is cast to float; the row count B is a tensor of mean.dtype',
    },
  },
  apex: {
    name: 'apex',
    label: 'Apex SyncBatchNorm (optimized)',
    sources: [
      "NVIDIA/apex: apex/parallel/optimized_sync_batchnorm_kernel.py (welford_mean_var; all_gather of mean and biased var; welford_parallel(mean_all, var_all, count, eps) with this rank's own count; running_variance with the unbiased var)",
      'NVIDIA/apex: csrc/welford.cu (welford_kernel_parallel: every rank merged with count numel; out_var = m2n / (count - 1); inv_std = 1 / sqrt(m2n / count + eps); welford_kernel writes m_2_n / count, 0/0 for an empty input; promote_scalartype: Half -> Float only)',
    ],
    sends: 'mean-var',
    weighting: 'own-count',
    variance: 'welford',
    emptyRank: 'nan-variance',
    running: TORCH_RUNNING,
    eps: 1e-5,
    output: 'centered',
    half: {
      float16: 'float32',
      bfloat16: 'storage',
      counts: 'integer',
      source: 'csrc/welford.cu promote_scalartype promotes Half to Float and nothing else; counts are int',
    },
  },
};

/**
 * The precision a framework computes statistics in for input stored in a format.
 * @param rule - the framework.
 * @param storage - the input's storage type.
 * @returns float32, float64 (for float64 input), or the 16-bit format itself.
 */
export function statisticsPrecision(
  rule: SyncBnRule,
  storage: 'float32' | 'float64' | HalfFormat,
): 'float32' | 'float64' | HalfFormat {
  if (storage === 'float32' || storage === 'float64') return storage;
  return rule.half[storage] === 'float32' ? 'float32' : storage;
}
