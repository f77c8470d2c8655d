/**
 * `run`'s stats.json keeps the keys the README documents (`settings`, `global`, `devices`, `comm`,
 * ...), in order, while the run's report is typed in camelCase: src/report/json/run-json.ts spells them.
 */
import { describe, expect, it } from 'vitest';
import { runBatchNorm, runOnCluster } from '../src/experiments/run.js';
import { runStatsJson } from '../src/report/json/run-json.js';
import { keyPaths } from './json-keys.js';

const input = { data: Float32Array.from({ length: 24 }, (_, i) => Math.sin(i) * 3 + 1), shape: [8, 3] };
const gradOutput = { data: Float32Array.from({ length: 24 }, (_, i) => Math.cos(i)), shape: [8, 3] };

const HEAD = [
  'input',
  'input.shape',
  'input.dtype',
  'mode',
  'normalized_with',
  'settings',
  'settings.momentum',
  'settings.eps',
  'settings.stats',
  'settings.accumulator',
  'settings.convention',
];
const TAIL = ['global', 'global.count', 'global.mean', 'global.var', 'running', 'running.mean', 'running.var'];

describe('stats.json', () => {
  it('has the documented keys, in order, on one device', () => {
    expect(keyPaths(runStatsJson(runBatchNorm({ input }, {})))).toEqual([...HEAD, ...TAIL]);
  });

  it('states the shift of shifted sums with its zero channels', () => {
    const runningMean = { data: new Float32Array([0, 1, 0]), shape: [3] };
    const stats = runStatsJson(runBatchNorm({ input, runningMean }, { stats: 'shifted-sums' }));
    expect(keyPaths(stats)).toEqual([
      ...HEAD,
      'settings.shift',
      'settings.shift.by',
      'settings.shift.zero_channels',
      'settings.shift.note',
      ...TAIL,
    ]);
    expect(stats.settings.shift?.zero_channels).toEqual([0, 2]);
  });

  it('adds each device and what was sent on simulated devices', async () => {
    const report = await runOnCluster({ input, gradOutput }, {}, { devices: 2, threads: 1, mode: 'sync' });
    expect(keyPaths(runStatsJson(report))).toEqual([
      ...HEAD,
      ...TAIL,
      'mode_across_devices',
      'devices',
      ...[
        'rank',
        'rows',
        'count',
        'mean',
        'var',
        'normalized_with',
        'normalized_with.count',
        'normalized_with.mean',
        'normalized_with.var',
        'running',
        'running.mean',
        'running.var',
      ].map((k) => `devices[].${k}`),
      'comm',
      'comm.algorithm',
      'comm.messages',
      'comm.bytes',
    ]);
  });
});
