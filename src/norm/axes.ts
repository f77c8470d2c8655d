/**
 * Every normalization here is "statistics over a set of axes, then an affine" (GUIDE section 9):
 *
 *   batch norm      over (N, H, W)       per channel             batch: true,  groups: C
 *   group norm      over (C/G, H, W)     per sample and group    batch: false, groups: G
 *   layer norm      over (C, H, W)       per sample              batch: false, groups: 1
 *   instance norm   over (H, W)          per sample and channel  batch: false, groups: C
 *   FRN             mean of x^2 over (H, W), per sample and channel (no mean subtracted)
 *
 * H and W are always among the axes; channels are split into `groups` runs of consecutive
 * channels; N is among the axes or not. A "set" is the elements that share one mean and one
 * variance. Only statistics over N cross devices: the device modes (local, sync, group) apply
 * only to axes with `batch: true`, and a normalization without N gives the same bits on any split
 * of the batch.
 */
import { checkBoolean, checkObject, checkWhole } from '../args.js';
import { requireInput } from '../errors.js';
import type { ChannelLayout } from '../tensor/tensor.js';

/** The axes a normalization takes its statistics over (besides H and W, always included). */
export interface StatsAxes {
  /** Whether the batch axis N is among them (batch norm's family), so statistics span rows. */
  readonly batch: boolean;
  /** Runs of consecutive channels sharing statistics: C for BN and IN, G for GN, 1 for LN. */
  readonly groups: number;
}

/** Where the elements of one set lie: `segments` runs of `length` elements, `stride` apart. */
export interface SetSpan {
  /** Offset of the set's first element in the block. */
  readonly first: number;
  /** Runs of contiguous elements. */
  readonly segments: number;
  /** Offset from the start of one run to the next. */
  readonly stride: number;
  /** Elements per run. */
  readonly length: number;
}

/**
 * Checks axes against a layout: groups must divide the channels.
 * @param name - what the axes are called in a message.
 * @param axes - the axes.
 * @param layout - the input's layout.
 * @returns the axes.
 * @throws InputError when the axes are malformed or the groups do not divide the channels.
 */
export function checkAxes(name: string, axes: unknown, layout: ChannelLayout): StatsAxes {
  const a = checkObject<StatsAxes>(name, axes);
  checkBoolean(`${name}.batch`, a.batch);
  checkWhole(`${name}.groups`, a.groups, 1);
  requireInput(
    layout.channels % a.groups === 0,
    () => `${a.groups} groups must divide the ${layout.channels} channels`,
  );
  return a;
}

/**
 * The axes of batch norm: N, H and W per channel.
 * @param channels - C.
 * @returns the axes.
 * @throws InputError when `channels` is not a whole number >= 1.
 */
export function batchAxes(channels: number): StatsAxes {
  return { batch: true, groups: checkWhole('channels', channels, 1) };
}

/**
 * The axes of group norm (G groups), of layer norm (G = 1) and of instance norm (G = C).
 * @param groups - G.
 * @returns the axes.
 * @throws InputError when `groups` is not a whole number >= 1.
 */
export function sampleAxes(groups: number): StatsAxes {
  return { batch: false, groups: checkWhole('groups', groups, 1) };
}

/**
 * Number of sets (of statistics) in a block: G with the batch axis, rows x G without.
 * @param layout - the block's layout.
 * @param axes - the axes.
 * @returns the number of sets.
 */
export function setCount(layout: ChannelLayout, axes: StatsAxes): number {
  return axes.batch ? axes.groups : layout.rows * axes.groups;
}

/**
 * Elements in each set.
 * @param layout - the block's layout.
 * @param axes - the axes.
 * @returns (C / G) x H x W, times N with the batch axis.
 */
export function setSize(layout: ChannelLayout, axes: StatsAxes): number {
  const perRow = (layout.channels / axes.groups) * layout.inner;
  return axes.batch ? layout.rows * perRow : perRow;
}

/**
 * The set the elements of (row, channel) belong to.
 * @param layout - the block's layout.
 * @param axes - the axes.
 * @param row - the row.
 * @param channel - the channel.
 * @returns the set's index.
 */
export function setOf(layout: ChannelLayout, axes: StatsAxes, row: number, channel: number): number {
  const group = Math.floor(channel / (layout.channels / axes.groups));
  return axes.batch ? group : row * axes.groups + group;
}

/**
 * Where set `s` lies in a C-order block: one contiguous run without the batch axis, one run per
 * row with it.
 * @param layout - the block's layout.
 * @param axes - the axes.
 * @param s - the set.
 * @returns its span.
 */
export function spanOf(layout: ChannelLayout, axes: StatsAxes, s: number): SetSpan {
  const perGroup = layout.channels / axes.groups;
  const length = perGroup * layout.inner;
  const rowSize = layout.channels * layout.inner;
  if (axes.batch) return { first: s * length, segments: layout.rows, stride: rowSize, length };
  const row = Math.floor(s / axes.groups);
  const group = s % axes.groups;
  return { first: row * rowSize + group * length, segments: 1, stride: rowSize, length };
}
