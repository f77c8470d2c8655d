/**
 * The shared memory the collectives talk through, and where each piece lives in it.
 *
 * Every rank owns an outbox of `tags` slots of `slotValues` float64 each. Sending means writing a
 * slot and then stamping the slot's flag with the sender's collective number (its epoch); a reader
 * waits until the flag equals the epoch it expects. Outboxes come in two copies used on alternate
 * epochs: an all-reduce cannot finish on any rank before every rank of its communicator has
 * joined it, so no rank can be two collectives ahead of a reader of its previous slots.
 *
 * Layout of the buffer (Int32 header, then Float64 payload):
 *   epochs [W]                      collectives each rank has started on this buffer
 *   flags  [2 parities][W][tags]    epoch stamp of each slot
 *   (padding to 8 bytes)
 *   slots  [2 parities][W][tags][slotValues]
 */

export interface CommGeometry {
  readonly devices: number;
  readonly tags: number;
  readonly slotValues: number;
}

export interface CommBuffer extends CommGeometry {
  readonly buffer: SharedArrayBuffer;
}

export interface CommViews extends CommGeometry {
  readonly epochs: Int32Array;
  readonly flags: Int32Array;
  readonly slots: Float64Array;
}

const EPOCHS_OFFSET = 0;

function flagsOffset(g: CommGeometry): number {
  return EPOCHS_OFFSET + g.devices;
}

function headerInts(g: CommGeometry): number {
  const ints = flagsOffset(g) + 2 * g.devices * g.tags;
  return ints + (ints % 2); // pad so the payload starts on an 8-byte boundary
}

export function allocateComm(geometry: CommGeometry): CommBuffer {
  const bytes = headerInts(geometry) * 4 + 2 * geometry.devices * geometry.tags * geometry.slotValues * 8;
  return { ...geometry, buffer: new SharedArrayBuffer(bytes) };
}

export function commViews(comm: CommBuffer): CommViews {
  const { devices, tags, slotValues } = comm;
  const ints = headerInts(comm);
  return {
    devices,
    tags,
    slotValues,
    epochs: new Int32Array(comm.buffer, EPOCHS_OFFSET * 4, devices),
    flags: new Int32Array(comm.buffer, flagsOffset(comm) * 4, 2 * devices * tags),
    slots: new Float64Array(comm.buffer, ints * 4, 2 * devices * tags * slotValues),
  };
}

/** Index of the flag of (parity, sender, tag). */
export function flagIndex(v: CommGeometry, parity: number, sender: number, tag: number): number {
  return (parity * v.devices + sender) * v.tags + tag;
}

/** Offset of the first value of slot (parity, sender, tag). */
export function slotOffset(v: CommGeometry, parity: number, sender: number, tag: number): number {
  return flagIndex(v, parity, sender, tag) * v.slotValues;
}
