/** The all-reduce algorithms by name. */
import { checkChoice } from '../../args.js';
import { allgather } from './allgather.js';
import { central } from './central.js';
import { doubleBinaryTree } from './double-binary-tree.js';
import { hierarchical } from './hierarchical.js';
import { recursiveDoubling } from './recursive-doubling.js';
import { ring } from './ring.js';
import { tree } from './tree.js';
import type { AllReduceAlgorithm } from './types.js';

/** The name of an all-reduce algorithm, as options and the CLI spell it. */
export type AlgorithmName =
  | 'ring'
  | 'tree'
  | 'recursive-doubling'
  | 'allgather'
  | 'central'
  | 'double-binary-tree'
  | 'hierarchical';
/** Every algorithm. */
export const ALGORITHM_NAMES: readonly AlgorithmName[] = [
  'ring',
  'tree',
  'recursive-doubling',
  'allgather',
  'central',
  'double-binary-tree',
  'hierarchical',
];

/**
 * The default: BN statistics are a few hundred values, so latency, not bandwidth, decides, and
 * allgather needs one round where ring needs 2(W-1). PyTorch's SyncBatchNorm makes the same choice.
 */
export const DEFAULT_ALGORITHM: AlgorithmName = 'allgather';

const BY_NAME: Readonly<Record<AlgorithmName, AllReduceAlgorithm>> = {
  ring,
  tree,
  'recursive-doubling': recursiveDoubling,
  allgather,
  central,
  'double-binary-tree': doubleBinaryTree,
  hierarchical,
};

/**
 * The all-reduce algorithm of that name.
 *
 * @param name - one of ALGORITHM_NAMES.
 * @returns the algorithm.
 * @throws {@link syncbn-sim!InputError} for an unknown name.
 * @example
 * ```ts
 * algorithmByName('ring').space(8, 129, 1); // the outbox space 8 ranks need for 129 values
 * ```
 */
export function algorithmByName(name: AlgorithmName): AllReduceAlgorithm {
  return BY_NAME[checkChoice('algorithm', name, ALGORITHM_NAMES)];
}

export type { AllReduce, AllReduceAlgorithm, SlotNeeds } from './types.js';
