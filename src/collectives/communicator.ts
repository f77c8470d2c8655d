/**
 * A communicator: the devices one collective runs among. Every communicator the simulator uses
 * (all devices for sync BN and gradients, a group of consecutive ranks for group BN) is a run of
 * consecutive global ranks, so it is two numbers, never a list of W ranks per device.
 */

/** `size` consecutive global ranks from `first`; communicator rank r is global rank first + r. */
export interface Communicator {
  /** Global rank of communicator rank 0. */
  readonly first: number;
  /** Ranks in the communicator. */
  readonly size: number;
}

/**
 * Every one of `devices` devices.
 *
 * @param devices - W.
 * @returns the communicator of ranks 0 to W-1.
 */
export function everyone(devices: number): Communicator {
  return { first: 0, size: devices };
}
