/**
 * The shared memory collectives talk through, and where each piece lives in it.
 *
 * Every device owns an outbox of `slots` slots of `slotValues` float64 each. A message under tag t
 * goes in slot t mod slots. Posting writes the payload, then the slot's header: the number of
 * readers, a zeroed read count, whether any reader lives on another thread, the tag, and last the
 * sender's collective number on this buffer (its epoch), which publishes the message. A reader
 * waits until the header shows the epoch and tag it expects, copies the payload out and bumps the
 * read count. A sender reuses a slot only once every reader of its last message has read it, so a
 * slow reader never loses a message, whatever the slot count; the slot count only sets how far a
 * sender may run ahead.
 *
 * Between devices of one thread every access is a plain one; only what another thread reads or
 * writes goes through Atomics (the tag and epoch that publish a message, the read count of a
 * message with remote readers), since an atomic access costs ten to twenty times a plain one.
 *
 * Layout (Int32 header block, then the Float64 payload):
 *   epochs  [W]                    collectives each device has started on this buffer
 *   headers [W][slots][5]          epoch, tag, readers, reads, remote readers? of each slot's message
 *   (padding to 8 bytes)
 *   payload [W][slots][slotValues]
 */

/** The shape of an outbox: devices, slots per device, values per slot. */
export interface OutboxGeometry {
  /** W: every device has its own slots. */
  readonly devices: number;
  /** Slots per device (tags share them modulo). */
  readonly slots: number;
  /** Values one slot holds: the longest message. */
  readonly slotValues: number;
}

/** An outbox buffer and its geometry: what a task carries to a device thread. */
export interface OutboxBuffer extends OutboxGeometry {
  /** The outbox's memory (layout in the module comment). */
  readonly buffer: SharedArrayBuffer;
}

/** Typed views of an outbox buffer. */
export interface OutboxViews extends OutboxGeometry {
  /** Collectives each device has started on this outbox. */
  readonly epochs: Int32Array;
  /** Every slot's header: epoch, tag, readers, reads, remote readers. */
  readonly headers: Int32Array;
  /** Every slot's values. */
  readonly payload: Float64Array;
}

// Fields of a slot header, in Int32s from its start.
/** The sender's epoch (collective number) that published the message. */
export const HEADER_EPOCH = 0;
/** The message's tag. */
export const HEADER_TAG = 1;
/** How many devices will read the message. */
export const HEADER_READERS = 2;
/** How many have read it: the slot is free again when this reaches the readers. */
export const HEADER_READS = 3;
/** Whether any reader lives on another thread (then reads and frees go through Atomics and bells). */
export const HEADER_REMOTE = 4;
const HEADER_INTS = 5;

function headerInts(g: OutboxGeometry): number {
  const ints = g.devices + g.devices * g.slots * HEADER_INTS;
  return ints + (ints % 2); // the payload starts on an 8-byte boundary
}

/**
 * Bytes an outbox of this geometry takes.
 *
 * @param g - the geometry.
 * @returns the size in bytes.
 */
export function outboxBytes(g: OutboxGeometry): number {
  return headerInts(g) * 4 + g.devices * g.slots * g.slotValues * 8;
}

/**
 * A zeroed outbox: every slot free, every epoch 0.
 *
 * @param geometry - the geometry.
 * @returns the buffer and its geometry.
 */
export function allocateOutbox(geometry: OutboxGeometry): OutboxBuffer {
  return { ...geometry, buffer: new SharedArrayBuffer(outboxBytes(geometry)) };
}

/**
 * Typed views of an outbox buffer's epochs, headers and payload.
 *
 * @param outbox - the buffer.
 * @returns the views.
 */
export function outboxViews(outbox: OutboxBuffer): OutboxViews {
  const { devices, slots, slotValues } = outbox;
  return {
    devices,
    slots,
    slotValues,
    epochs: new Int32Array(outbox.buffer, 0, devices),
    headers: new Int32Array(outbox.buffer, devices * 4, devices * slots * HEADER_INTS),
    payload: new Float64Array(outbox.buffer, headerInts(outbox) * 4, devices * slots * slotValues),
  };
}

/**
 * Index of the first header field of `sender`'s slot `slot`.
 *
 * @param g - the geometry.
 * @param sender - the posting device (global rank).
 * @param slot - the slot.
 * @returns the index in `headers`.
 */
export function headerIndex(g: OutboxGeometry, sender: number, slot: number): number {
  return (sender * g.slots + slot) * HEADER_INTS;
}

/**
 * Index of the first payload value of `sender`'s slot `slot`.
 *
 * @param g - the geometry.
 * @param sender - the posting device (global rank).
 * @param slot - the slot.
 * @returns the index in `payload`.
 */
export function payloadIndex(g: OutboxGeometry, sender: number, slot: number): number {
  return (sender * g.slots + slot) * g.slotValues;
}
