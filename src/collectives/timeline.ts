/**
 * A virtual-clock driver for the simulator's own collective generators: the executed timeline of
 * the cost model. One thread holds every device's program; every program has a clock.
 *
 * What a message costs. Devices sit in nodes of `nodeSize` consecutive ranks. A post sends one copy
 * to each reader in turn; a copy to a reader of the same node goes out on the sender's own link
 * inside the node, a copy to another node on the sender's own network port and on its network
 * card: the node's `nicsPerNode` cards are spread evenly over its GPUs (GPU g of G uses card
 * floor(g K / G)), so with a card per GPU none is shared, and with fewer each card serves G / K
 * GPUs in time order. A copy starts when the sender's clock, its link or port and its card are all
 * free; it holds them for bytes x seconds-per-byte and arrives `latency` after it ends. A receive
 * moves the receiver's clock to at least the arrival. Every reduction a program performs adds its
 * bytes x `gamma` to the clock of the program that performs it, and `compute` adds whatever a
 * device computes between collectives. Each call starts with NCCL's launch latency (`base`).
 * Latency, seconds per byte and base come with each call (they depend on the protocol); links,
 * ports and cards are physical and shared by every call and lane of a device.
 *
 * Order. The driver always runs the program with the earliest clock (then the lowest device, then
 * lane): a post is made only when no other program could still act earlier, so shared cards are
 * granted in time order, then rank order, then program order, and a run is deterministic.
 *
 * Lanes. An algorithm made of lanes (algorithms/lanes.ts: NCCL's channels, the two trees of a
 * double binary tree) runs each lane as a program of its own, side by side, from the device's
 * clock; the device resumes when the last lane ends. The same generators run on the threaded
 * cluster, one lane after another: what is simulated is exactly what is executed there.
 */
import { type LanedAllReduce, isLaned } from './algorithms/lanes.js';
import type { AllReduceAlgorithm } from './algorithms/types.js';
import type { AllGatherAlgorithm } from './all-gather.js';
import type { Communicator } from './communicator.js';
import type { Endpoint, Program, TrafficCount, Wait } from './endpoint.js';
import type { Reducer } from './reducers.js';
import { InternalError } from '../errors.js';

/** What one hop costs: latency after the last byte, and link time per byte. */
export interface HopCost {
  /** Seconds from the end of the transfer to the arrival. */
  readonly latency: number;
  /** Seconds the link (or card) is held per byte. */
  readonly secondsPerByte: number;
}

/** The costs of one collective call: its launch and its two kinds of hop. */
export interface CallCosts {
  /** Seconds added to each device's clock when it starts the call. */
  readonly base: number;
  /** A hop between GPUs of one node. */
  readonly intra: HopCost;
  /** A hop between nodes. */
  readonly inter: HopCost;
}

/** The machine a timeline runs on. */
export interface TimelineMachine {
  /** Devices (global ranks 0..devices-1). */
  readonly devices: number;
  /** Consecutive ranks per node. */
  readonly nodeSize: number;
  /** Network cards per node, shared by the node's devices. */
  readonly nicsPerNode: number;
  /** Seconds per byte a device reduces (one operand). */
  readonly gamma: number;
}

/** A program waits where nothing can ever answer: a bug in an algorithm, never the caller's input. */
export class TimelineDeadlockError extends InternalError {
  /** Always 'TimelineDeadlockError'. */
  override readonly name = 'TimelineDeadlockError';
}

const RUNNABLE = 0;
const PARKED = 1;
const REQUEUE = 2;
const JOINING = 3;
const DONE = 4;

/**
 * A message's key among its sender's: the call number modulo 1024, then the tag (below 2^20), so
 * keys stay small integers (fast map keys). A sender is never 1024 calls ahead of a reader: every
 * collective needs data from its peers before it ends.
 */
const TAG_SPAN = 2 ** 20;
const CALL_SPAN = 1024;
const keyOf = (call: number, tag: number) => (call % CALL_SPAN) * TAG_SPAN + tag;
/** Lanes per device the tie-break order allows. */
const LANE_SPAN = 4096;

interface Message {
  readonly values: Float64Array;
  /** Global ranks of the readers, and when the copy to each arrives. */
  readonly readers: readonly number[];
  readonly arrival: Float64Array | number;
  index?: Map<number, number>;
  remaining: number;
}

/** When the copy to reader `k` of a message arrives. */
function arrivalOf(message: Message, k: number): number {
  return typeof message.arrival === 'number' ? message.arrival : message.arrival[k];
}

/** A binary heap of task ids ordered by (time, tie). */
class TaskHeap {
  private ids: number[] = [];
  constructor(
    private readonly time: Float64Array | number[],
    private readonly tie: number[],
  ) {}
  get size(): number {
    return this.ids.length;
  }
  /** Whether task a goes before task b. */
  before(a: number, b: number): boolean {
    const ta = this.time[a];
    const tb = this.time[b];
    return ta < tb || (ta === tb && this.tie[a] < this.tie[b]);
  }
  top(): number {
    return this.ids[0];
  }
  push(id: number): void {
    const ids = this.ids;
    ids.push(id);
    let i = ids.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(ids[i], ids[p])) break;
      [ids[i], ids[p]] = [ids[p], ids[i]];
      i = p;
    }
  }
  pop(): number {
    const ids = this.ids;
    const top = ids[0];
    const last = ids.pop()!;
    if (ids.length > 0) {
      ids[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < ids.length && this.before(ids[l], ids[m])) m = l;
        if (r < ids.length && this.before(ids[r], ids[m])) m = r;
        if (m === i) break;
        [ids[i], ids[m]] = [ids[m], ids[i]];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The driver: devices, their clocks, links and cards, the messages in flight, and the programs.
 * Build one, `start` a program per device, then `run`.
 */
export class Timeline {
  /** The machine it runs on. */
  readonly machine: TimelineMachine;
  /** Messages and bytes every call has sent, counted as the threaded cluster counts them. */
  readonly traffic: TrafficCount = { messages: 0, bytes: 0 };
  // Tasks: one main program per device, plus lanes while a call runs them.
  private readonly clock: number[] = [];
  private readonly tie: number[] = [];
  private readonly deviceOf: number[] = [];
  private readonly program: (Program<unknown> | undefined)[] = [];
  private readonly state: number[] = [];
  private readonly parent: number[] = [];
  private readonly openLanes: number[] = [];
  private readonly waitOf: (Wait | undefined)[] = [];
  private readonly heap: TaskHeap;
  private current = -1;
  private readonly mainTask: Int32Array;
  private readonly lanesOfDevice: Int32Array;
  // Physical resources.
  private readonly intraFree: Float64Array;
  private readonly netFree: Float64Array;
  private readonly cardFree: Float64Array;
  // Calls and messages.
  private readonly calls: Int32Array;
  private readonly sent: Map<number, Message>[];
  private readonly waiters: Map<number, number[]>[];
  private readonly scratchOf: Float64Array[][] = [];
  /** Programs parked on a message of each sender (to skip the waiter look-up when none is). */
  private readonly parkedOn: Int32Array;

  /**
   * @param machine devices, node size, network cards per node and reduction cost
   * @throws RangeError when the machine is malformed (the cost model checks user input first)
   */
  constructor(machine: TimelineMachine) {
    const { devices, nodeSize, nicsPerNode, gamma } = machine;
    if (!(Number.isSafeInteger(devices) && devices >= 1))
      throw new RangeError(`devices must be a whole number >= 1, got ${devices}`);
    if (!(Number.isSafeInteger(nodeSize) && nodeSize >= 1))
      throw new RangeError(`nodeSize must be a whole number >= 1, got ${nodeSize}`);
    if (!(Number.isSafeInteger(nicsPerNode) && nicsPerNode >= 1))
      throw new RangeError(`nicsPerNode must be a whole number >= 1, got ${nicsPerNode}`);
    if (!(Number.isFinite(gamma) && gamma >= 0))
      throw new RangeError(`gamma must be a finite number >= 0, got ${gamma}`);
    this.machine = machine;
    this.heap = new TaskHeap(this.clock, this.tie);
    this.mainTask = new Int32Array(devices).fill(-1);
    this.lanesOfDevice = new Int32Array(devices);
    this.intraFree = new Float64Array(devices);
    this.netFree = new Float64Array(devices);
    this.cardFree = new Float64Array(Math.ceil(devices / nodeSize) * nicsPerNode);
    this.calls = new Int32Array(devices);
    this.sent = Array.from({ length: devices }, () => new Map());
    this.waiters = Array.from({ length: devices }, () => new Map());
    this.parkedOn = new Int32Array(devices);
  }

  /**
   * Gives device `rank` its program, starting at virtual time `at`.
   * @param rank global rank
   * @param program what the device runs (collectives through `allReduce` / `allGather`)
   * @param at start time, seconds
   */
  start(rank: number, program: Program<unknown>, at = 0): void {
    if (this.mainTask[rank] >= 0) throw new RangeError(`device ${rank} already has a program`);
    this.mainTask[rank] = this.addTask(rank, rank * LANE_SPAN, program, at, -1);
  }

  /**
   * Runs every program to its end.
   * @returns the clock of every device when its program ended, by rank
   * @throws TimelineDeadlockError when programs wait for messages nobody will send
   */
  run(): Float64Array {
    const heap = this.heap;
    while (heap.size > 0) {
      const task = heap.pop();
      this.current = task;
      this.state[task] = RUNNABLE;
      const step: IteratorResult<Wait, unknown> = (this.program[task] as Program<unknown>).next();
      if (step.done) {
        this.finish(task);
        continue;
      }
      this.waitOf[task] = step.value;
      const s = this.state[task];
      if (s === REQUEUE) heap.push(task);
      else if (s !== PARKED && s !== JOINING)
        throw new TimelineDeadlockError(
          `device ${this.deviceOf[task]} waited for rank ${step.value.peer} outside a timeline call`,
        );
    }
    this.current = -1;
    const stuck = this.state.findIndex((s) => s !== DONE);
    if (stuck >= 0) {
      const w = this.waitOf[stuck];
      throw new TimelineDeadlockError(
        `device ${this.deviceOf[stuck]} waits for rank ${w?.peer} (tag ${w?.tag}), which never sends it`,
      );
    }
    const ends = new Float64Array(this.machine.devices);
    for (let r = 0; r < ends.length; r++) ends[r] = this.mainTask[r] >= 0 ? this.clock[this.mainTask[r]] : 0;
    return ends;
  }

  /**
   * The clock of the program running now (for a device program between collectives).
   * @returns seconds
   */
  now(): number {
    return this.clock[this.current];
  }

  /**
   * Advances the running program's clock by compute it does between collectives.
   * @param seconds time computed (>= 0)
   */
  compute(seconds: number): void {
    this.clock[this.current] += seconds;
  }

  /**
   * One all-reduce of `data` by device `rank` among `comm`, with the costs of one protocol.
   * @param rank global rank of the calling device
   * @param comm the communicator (consecutive ranks)
   * @param algorithm the generator to run (its lanes side by side when it has any)
   * @param data the device's vector, reduced in place
   * @param reducer how values combine
   * @param costs launch and hop costs of the call
   * @returns the device's program for the call
   */
  *allReduce(
    rank: number,
    comm: Communicator,
    algorithm: AllReduceAlgorithm,
    data: Float64Array,
    reducer: Reducer,
    costs: CallCosts,
  ): Program {
    const call = this.beginCall(rank, comm, reducer.bytesPerValue, costs);
    const timed = this.timedReducer(reducer);
    if (!isLaned(algorithm) || algorithm.lanes(comm.size) === 1) {
      yield* isLaned(algorithm)
        ? (algorithm as LanedAllReduce).lane(call(0), data, timed, 0)
        : algorithm.run(call(0), data, timed);
      return;
    }
    const lanes = algorithm.lanes(comm.size);
    yield* this.inParallel(Array.from({ length: lanes }, (_, i) => algorithm.lane(call(i), data, timed, i)));
  }

  /**
   * One all-gather by device `rank` among `comm`.
   * @param rank global rank of the calling device
   * @param comm the communicator
   * @param algorithm the all-gather generator
   * @param blocks every rank's block, in rank order (the device's own filled in)
   * @param blockValues values per block
   * @param bytesPerValue bytes of one value on the wire
   * @param costs launch and hop costs of the call
   * @returns the device's program for the call
   */
  *allGather(
    rank: number,
    comm: Communicator,
    algorithm: AllGatherAlgorithm,
    blocks: Float64Array,
    blockValues: number,
    bytesPerValue: number,
    costs: CallCosts,
  ): Program {
    const call = this.beginCall(rank, comm, bytesPerValue, costs);
    const lanes = algorithm.lanes(comm.size);
    if (lanes === 1) {
      yield* algorithm.lane(call(0), blocks, blockValues, 0);
      return;
    }
    yield* this.inParallel(Array.from({ length: lanes }, (_, i) => algorithm.lane(call(i), blocks, blockValues, i)));
  }

  // ---- internals ------------------------------------------------------------------------------

  private addTask(device: number, tie: number, program: Program<unknown>, at: number, parent: number): number {
    const id = this.clock.length;
    this.clock.push(at);
    this.tie.push(tie);
    this.deviceOf.push(device);
    this.program.push(program);
    this.state.push(RUNNABLE);
    this.parent.push(parent);
    this.openLanes.push(0);
    this.waitOf.push(undefined);
    this.heap.push(id);
    return id;
  }

  private finish(task: number): void {
    this.state[task] = DONE;
    this.program[task] = undefined;
    const parent = this.parent[task];
    if (parent < 0) return;
    this.clock[parent] = Math.max(this.clock[parent], this.clock[task]);
    if (--this.openLanes[parent] === 0) {
      this.state[parent] = RUNNABLE;
      this.heap.push(parent);
    }
  }

  /** Runs `programs` as lanes of the running task and resumes it when all have ended. */
  private *inParallel(programs: Program[]): Program {
    const task = this.current;
    const device = this.deviceOf[task];
    this.openLanes[task] = programs.length;
    for (const p of programs) {
      const lane = ++this.lanesOfDevice[device];
      if (lane >= LANE_SPAN) throw new RangeError(`device ${device} ran more than ${LANE_SPAN - 1} lanes`);
      this.addTask(device, device * LANE_SPAN + lane, p, this.clock[task], task);
    }
    this.state[task] = JOINING;
    yield { kind: 'message', peer: device, tag: -1 };
    this.lanesOfDevice[device] = 0;
  }

  /** Starts a call: its number on the device, its launch latency; returns lane endpoints. */
  private beginCall(
    rank: number,
    comm: Communicator,
    bytesPerValue: number,
    costs: CallCosts,
  ): (lane: number) => Endpoint {
    const task = this.current;
    if (task < 0 || this.deviceOf[task] !== rank)
      throw new RangeError(`device ${rank} called a collective outside its own program`);
    const local = rank - comm.first;
    if (local < 0 || local >= comm.size) throw new RangeError(`rank ${rank} is not a member of its own communicator`);
    const call = ++this.calls[rank];
    this.clock[task] += costs.base;
    return () => new TimelineEndpoint(this, comm, local, call, bytesPerValue, costs);
  }

  private timedReducer(reducer: Reducer): Reducer {
    const bytes = reducer.bytesPerValue * this.machine.gamma;
    return {
      width: reducer.width,
      bytesPerValue: reducer.bytesPerValue,
      combine: (a, b, out, start, end) => {
        reducer.combine(a, b, out, start, end);
        this.clock[this.current] += (end - start) * bytes;
      },
    };
  }

  /**
   * Whether a post by the running task must wait for a program that could act earlier.
   * @returns true when another program's clock is earlier (or equal with a lower tie)
   */
  mustYield(): boolean {
    return this.heap.size > 0 && this.heap.before(this.heap.top(), this.current);
  }

  /** The running task stops here and runs again at its clock. */
  requeue(): void {
    this.state[this.current] = REQUEUE;
  }

  /**
   * Sends one message: a copy per reader over the links, ports and cards; wakes its waiters.
   * @internal for TimelineEndpoint
   * @param sender - global rank of the sender
   * @param call - the sender's call number
   * @param tag - the message's tag
   * @param data - the vector
   * @param start - first value sent
   * @param end - end of the values sent
   * @param to - readers, communicator ranks
   * @param first - global rank of communicator rank 0
   * @param bytes - bytes of one copy
   * @param costs - hop costs of the call
   */
  send(
    sender: number,
    call: number,
    tag: number,
    data: Float64Array,
    start: number,
    end: number,
    to: readonly number[],
    first: number,
    bytes: number,
    costs: CallCosts,
  ): void {
    const { nodeSize, nicsPerNode } = this.machine;
    const t = this.clock[this.current];
    const node = Math.floor(sender / nodeSize);
    const card = node * nicsPerNode + Math.floor(((sender - node * nodeSize) * nicsPerNode) / nodeSize);
    const readers = new Array<number>(to.length);
    const arrival = to.length === 1 ? 0 : new Float64Array(to.length);
    let single = 0;
    for (let k = 0; k < to.length; k++) {
      const reader = first + to[k];
      readers[k] = reader;
      let at: number;
      if (Math.floor(reader / nodeSize) === node) {
        const until = Math.max(t, this.intraFree[sender]) + bytes * costs.intra.secondsPerByte;
        this.intraFree[sender] = until;
        at = until + costs.intra.latency;
      } else {
        const until = Math.max(t, this.netFree[sender], this.cardFree[card]) + bytes * costs.inter.secondsPerByte;
        this.netFree[sender] = until;
        this.cardFree[card] = until;
        at = until + costs.inter.latency;
      }
      if (typeof arrival === 'number') single = at;
      else arrival[k] = at;
    }
    const key = keyOf(call, tag);
    const message: Message = {
      values: data.slice(start, end),
      readers,
      arrival: typeof arrival === 'number' ? single : arrival,
      remaining: readers.length,
    };
    this.sent[sender].set(key, message);
    if (this.parkedOn[sender] === 0) return;
    const waiting = this.waiters[sender].get(key);
    if (waiting) {
      this.waiters[sender].delete(key);
      this.parkedOn[sender] -= waiting.length;
      for (const task of waiting) {
        this.clock[task] = Math.max(
          this.clock[task],
          arrivalOf(message, this.readerIndex(message, this.deviceOf[task])),
        );
        this.state[task] = RUNNABLE;
        this.heap.push(task);
      }
    }
  }

  /**
   * Takes a message if it was sent: copies it and moves the running task's clock to its arrival.
   * @internal for TimelineEndpoint
   * @param sender - global rank of the sender
   * @param receiver - global rank of the receiver
   * @param call - the call number
   * @param tag - the tag
   * @param out - where the values go
   * @param start - where in `out` they start
   * @returns false (and the task parked on it) when it was not sent yet
   */
  take(sender: number, receiver: number, call: number, tag: number, out: Float64Array, start: number): boolean {
    const key = keyOf(call, tag);
    const message = this.sent[sender].get(key);
    if (!message) {
      const list = this.waiters[sender].get(key);
      if (list) list.push(this.current);
      else this.waiters[sender].set(key, [this.current]);
      this.parkedOn[sender]++;
      this.state[this.current] = PARKED;
      return false;
    }
    const at = arrivalOf(message, this.readerIndex(message, receiver));
    const task = this.current;
    if (at > this.clock[task]) this.clock[task] = at;
    const v = message.values;
    for (let i = 0; i < v.length; i++) out[start + i] = v[i];
    if (--message.remaining === 0) this.sent[sender].delete(key);
    return true;
  }

  /**
   * Scratch buffer `index` of device `rank`, kept from call to call. Lanes of one device share it:
   * every algorithm uses what it receives into scratch before it yields again.
   * @internal for TimelineEndpoint
   * @param rank - global rank
   * @param index - buffer index
   * @param length - values needed
   * @returns the buffer
   */
  scratch(rank: number, index: number, length: number): Float64Array {
    this.scratchOf[rank] ??= [];
    const buffers = this.scratchOf[rank];
    let b = buffers[index];
    if (!b || b.length < length) {
      b = new Float64Array(Math.max(length, 2 * (b?.length ?? 0)));
      buffers[index] = b;
    }
    return b.length === length ? b : b.subarray(0, length);
  }

  private readerIndex(message: Message, reader: number): number {
    const readers = message.readers;
    if (readers.length === 1 && readers[0] === reader) return 0;
    if (readers.length <= 8) {
      const k = readers.indexOf(reader);
      if (k >= 0) return k;
    } else {
      if (!message.index) message.index = new Map(readers.map((r, i) => [r, i]));
      const k = message.index.get(reader);
      if (k !== undefined) return k;
    }
    throw new TimelineDeadlockError(`device ${reader} reads a message not sent to it`);
  }
}

/** One device's end of one call (or of one lane of it) on a timeline. */
class TimelineEndpoint implements Endpoint {
  readonly rank: number;
  readonly size: number;
  readonly pending: { kind: Wait['kind']; peer: number; tag: number } = { kind: 'message', peer: -1, tag: -1 };
  private readonly me: number;

  constructor(
    private readonly timeline: Timeline,
    private readonly comm: Communicator,
    rank: number,
    private readonly call: number,
    private readonly bytesPerValue: number,
    private readonly costs: CallCosts,
  ) {
    this.rank = rank;
    this.size = comm.size;
    this.me = comm.first + rank;
  }

  post(tag: number, data: Float64Array, start: number, end: number, to: readonly number[]): boolean {
    if (tag < 0 || tag >= TAG_SPAN) throw new RangeError(`tag ${tag} out of range`);
    if (this.timeline.mustYield()) {
      this.pending.kind = 'slot';
      this.pending.peer = this.me;
      this.pending.tag = tag;
      this.timeline.requeue();
      return false;
    }
    const bytes = (end - start) * this.bytesPerValue;
    this.timeline.send(this.me, this.call, tag, data, start, end, to, this.comm.first, bytes, this.costs);
    this.timeline.traffic.messages += to.length;
    this.timeline.traffic.bytes += to.length * bytes;
    return true;
  }

  recv(from: number, tag: number, out: Float64Array, start: number, _end: number): boolean {
    const sender = this.comm.first + from;
    if (this.timeline.take(sender, this.me, this.call, tag, out, start)) return true;
    this.pending.kind = 'message';
    this.pending.peer = sender;
    this.pending.tag = tag;
    return false;
  }

  scratch(index: number, length: number): Float64Array {
    return this.timeline.scratch(this.me, index, length);
  }
}
