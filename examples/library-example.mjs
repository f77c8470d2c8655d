// Batch norm on your own arrays, from TypeScript or JavaScript: forward, backward, running stats.
import { batchNorm } from 'syncbn-sim';

// A [N=4, C=2] batch: channel 0 holds 1, 3, 5, 7 and channel 1 holds 2, 4, 6, 8.
const input = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [4, 2] };
const gradOutput = { data: new Float32Array([1, 0, 0, 1, -1, 0, 0, -1]), shape: [4, 2] };

const result = batchNorm(input, {
  weight: [1, 0.5], // gamma
  bias: [0, 1], // beta
  momentum: 0.1,
  eps: 1e-5,
  stats: 'welford', // or 'sums', 'two-pass', 'shifted-sums'
  gradOutput,
});

console.log('batch mean', Array.from(result.stats.mean)); // [4, 5]
console.log('batch var (biased)', Array.from(result.stats.var)); // [5, 5]
console.log(
  'output',
  Array.from(result.output.data, (v) => v.toFixed(4)),
);
console.log('running mean', Array.from(result.runningMean)); // 0.1 * mean
console.log(
  'grad of gamma',
  Array.from(result.gradWeight, (v) => v.toFixed(4)),
);
