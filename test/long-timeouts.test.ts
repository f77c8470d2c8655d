/**
 * Timeouts past Node's timer limit (2^31 - 1 ms) work as asked, in the library and in every
 * command that takes --timeout-ms, with no TimeoutOverflowWarning; bad values are refused.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cluster } from '../src/cluster/cluster.js';
import { DeviceCrashError } from '../src/cluster/errors.js';
import { parseTimeoutMs } from '../src/cli/parse.js';
import { InputError } from '../src/errors.js';
import { encodeNpy } from '../src/tensor/npy.js';
import { Trainer } from '../src/train/trainer.js';
import { runCli, tempDir } from './helpers.js';

const PAST_LIMIT = 2 ** 31; // the first value whose grace period alone overflowed before
const x = { data: Float32Array.from({ length: 8 * 3 }, (_, i) => Math.cos(i)), shape: [8, 3] };

describe('timeoutMs past the timer limit in the library', () => {
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  beforeEach(() => process.on('warning', onWarning));
  afterEach(() => process.off('warning', onWarning));

  it('a cluster steps normally, and a fault still ends the step at once', async () => {
    const cluster = Cluster.start({ devices: 2, timeoutMs: PAST_LIMIT });
    const result = await cluster.forward(x);
    expect(result.output.data.every(Number.isFinite)).toBe(true);
    await cluster.close();
    const faulty = Cluster.start({ devices: 2, timeoutMs: 1e12, fault: { kind: 'crash', rank: 1 } });
    await expect(faulty.forward(x)).rejects.toThrow(DeviceCrashError);
    await faulty.close();
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('a trainer steps normally', async () => {
    const trainer = new Trainer({
      model: { name: 'mlp', inputShape: [1, 4, 4], classes: 2 },
      devices: 2,
      bn: 'sync',
      optimizer: { lr: 0.1, momentum: 0, weightDecay: 0 },
      maxBatch: 4,
      seed: 1,
      timeoutMs: PAST_LIMIT,
    });
    const r = await trainer.step(4, {
      images: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i)),
      labels: [0, 1, 0, 1],
    });
    expect(r.count).toBe(4);
    await trainer.close();
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it('refuses what is not a positive finite number, naming timeoutMs', () => {
    for (const bad of [0, -1, Infinity, NaN, '100']) {
      expect(() => Cluster.start({ devices: 2, timeoutMs: bad as number })).toThrow(InputError);
      expect(() => Cluster.start({ devices: 2, timeoutMs: bad as number })).toThrow(
        /^timeoutMs must be a positive finite number, got /,
      );
    }
  });
});

describe('--timeout-ms past the timer limit in the CLI', () => {
  const dir = tempDir();
  const input = join(dir, 'x.npy');
  writeFileSync(input, encodeNpy(x));

  it.each([
    ['run', ['run', '--input', input, '--devices', '2', '--out', join(dir, 'out')]],
    ['compare', ['compare', '--shape', '8,3', '--devices', '2', '--modes', 'sync']],
    [
      'train',
      [
        'train',
        '--model',
        'mlp',
        '--devices',
        '2',
        '--batch',
        '8',
        '--subset',
        '40',
        '--epochs',
        '1',
        '--bn',
        'sync',
        '--precise-batches',
        '1',
      ],
    ],
  ])('%s runs to the end, with no TimeoutOverflowWarning', (_name, args) => {
    const r = runCli([...args, '--timeout-ms', String(PAST_LIMIT)]);
    expect(r.stderr).not.toMatch(/TimeoutOverflowWarning|stopped responding/);
    expect(r.status).toBe(0);
  });

  it('the shared parser takes any number > 0 and quotes what it refuses', () => {
    expect(parseTimeoutMs('2147483648')).toBe(PAST_LIMIT);
    expect(parseTimeoutMs('0.5')).toBe(0.5);
    for (const bad of ['0', '-5', 'soon', '1e999', '', 'NaN']) {
      expect(() => parseTimeoutMs(bad)).toThrow(InputError);
      expect(() => parseTimeoutMs(bad)).toThrow(`--timeout-ms must be a number > 0, got '${bad}'`);
    }
  });

  it.each([
    ['run', '0'],
    ['compare', '1e999'],
    ['train', 'soon'],
  ])('%s refuses a bad --timeout-ms in one line, exit 2', (command, bad) => {
    const extra = command === 'run' ? ['--input', input, '--out', join(dir, 'never')] : [];
    const r = runCli([command, ...extra, '--timeout-ms', bad]);
    expect(r.status).toBe(2);
    // One line, whatever prefix the CLI puts before its usage errors.
    expect(r.stderr.trim()).toMatch(
      new RegExp(`^syncbn-sim: (error: )?--timeout-ms must be a number > 0, got '${bad}'$`),
    );
  });
});
