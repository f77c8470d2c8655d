/** The A/B speed comparison of two builds as the JSON `node dist/scripts/bench_ab.js A [B] --json` prints. */
import type { SnakeCased } from './snake-case.js';

/** One GEMM shape timed on both builds. */
export interface GemmAbRow {
  /** Which product of LeNet it is. */
  readonly product: string;
  /** Transposes and M x N x K. */
  readonly op: string;
  /** A's GFLOP/s (median over rounds). */
  readonly aGflops: number;
  /** B's GFLOP/s. */
  readonly bGflops: number;
  /** B's speed over A's: the median of per-round ratios. */
  readonly bSpeedup: number;
  /** B's speed over A's: the ratio of the best times. */
  readonly bSpeedupBest: number;
  /** Whether both builds' products hold the same bits. */
  readonly bitwiseSame: boolean;
}

/** LeNet's forward, loss and backward on both builds. */
export interface LenetAbRow {
  /** A's median ms per batch. */
  readonly aMs: number;
  /** B's median ms per batch. */
  readonly bMs: number;
  /** B's speed over A's: the median of per-round ratios. */
  readonly bSpeedup: number;
  /** B's speed over A's: the ratio of the best times. */
  readonly bSpeedupBest: number;
  /** Whether both builds' losses hold the same bits. */
  readonly lossBitwiseSame: boolean;
}

/** Training on both builds. */
export interface TrainingAbRow {
  /** A's examples per second. */
  readonly aExamplesPerS: number;
  /** B's examples per second. */
  readonly bExamplesPerS: number;
  /** B's speed over A's: the median of per-round ratios. */
  readonly bSpeedup: number;
  /** B's speed over A's: the ratio of the best times. */
  readonly bSpeedupBest: number;
}

/** What scripts/bench_ab.ts measured. */
export interface BenchAbReport {
  /** Build A (its dist directory). */
  readonly a: string;
  /** Build B. */
  readonly b: string;
  /** Rounds of the GEMM figures (the LeNet step takes twice as many). */
  readonly rounds: number;
  /** Rounds of the training figure. */
  readonly trainRounds: number;
  /** Each GEMM shape. */
  readonly gemm: readonly GemmAbRow[];
  /** The LeNet step. */
  readonly lenet: LenetAbRow;
  /** Training. */
  readonly training: TrainingAbRow;
}

/**
 * Maps the A/B comparison to its JSON, keys in the order the script has always printed them.
 * @param r - what scripts/bench_ab.ts measured.
 * @returns the JSON document (plain data, ready for JSON.stringify).
 */
export function benchAbJson(r: BenchAbReport): SnakeCased<BenchAbReport> {
  return {
    a: r.a,
    b: r.b,
    rounds: r.rounds,
    train_rounds: r.trainRounds,
    gemm: r.gemm.map((g) => ({
      product: g.product,
      op: g.op,
      a_gflops: g.aGflops,
      b_gflops: g.bGflops,
      b_speedup: g.bSpeedup,
      b_speedup_best: g.bSpeedupBest,
      bitwise_same: g.bitwiseSame,
    })),
    lenet: {
      a_ms: r.lenet.aMs,
      b_ms: r.lenet.bMs,
      b_speedup: r.lenet.bSpeedup,
      b_speedup_best: r.lenet.bSpeedupBest,
      loss_bitwise_same: r.lenet.lossBitwiseSame,
    },
    training: {
      a_examples_per_s: r.training.aExamplesPerS,
      b_examples_per_s: r.training.bExamplesPerS,
      b_speedup: r.training.bSpeedup,
      b_speedup_best: r.training.bSpeedupBest,
    },
  };
}
