/**
 * The one refusal a training batch can earn from its split: a normalizing unit (the batch, a
 * device's shard, a group, a ghost chunk) holding one value per channel, which has no variance
 * (PyTorch refuses it too).
 */
import { type BnMode, modeName } from '../bn/modes.js';
import { InputError } from '../errors.js';
import { ghostChunks, shardRows } from '../tensor/sharding.js';

/**
 * Checks that every unit that normalizes together holds more than one value per channel.
 * @param rows - rows of the batch
 * @param inner - values per row and channel (H x W, or 1)
 * @param mode - the BN mode
 * @param devices - W
 * @throws InputError naming the unit that would hold one value
 */
export function checkTrainable(rows: number, inner: number, mode: BnMode, devices: number): void {
  const W = devices;
  const fail = (what: string, count: number) => {
    throw new InputError(
      `expected more than 1 value per channel when training: ${what} holds ${count} (mode ${modeName(mode)}, ${rows} rows over ${W} devices)`,
    );
  };
  const shardCount = (rank: number) => {
    const [s, e] = shardRows(rows, W, rank);
    return (e - s) * inner;
  };
  if (mode.kind === 'sync') {
    if (rows * inner <= 1) fail('the batch', rows * inner);
    return;
  }
  for (let rank = 0; rank < W; rank++) {
    if (mode.kind === 'local' && shardCount(rank) === 1) fail(`device ${rank}`, 1);
    if (mode.kind === 'group' && rank % mode.size === 0) {
      let count = 0;
      for (let r = rank; r < rank + mode.size; r++) count += shardCount(r);
      if (count === 1) fail(`group of ranks ${rank}-${rank + mode.size - 1}`, 1);
    }
    if (mode.kind === 'ghost') {
      const [s, e] = shardRows(rows, W, rank);
      for (const [a, b] of ghostChunks(e - s, mode.size))
        if ((b - a) * inner === 1) fail(`a ghost chunk of device ${rank}`, 1);
    }
  }
}
