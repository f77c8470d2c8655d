/**
 * One error hierarchy: every error class the package defines extends SyncBnError and carries its
 * own code from ERROR_CODES; the table maps each code to the CLI's exit code; the README lists
 * every code; and a representative throw of each class from the library carries its code (the
 * cluster's hang, missing and timeout failures, divergence, interruption and the in-thread
 * timeouts are checked where their own tests provoke them).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { unknownCommandError } from '../src/cli/usage-error.js';
import { builtWorkerFile } from '../src/cluster/device-pool.js';
import { InjectedCrashError } from '../src/cluster/device-programs.js';
import { type Program, UnexpectedWaitError, runWithoutPeers } from '../src/collectives/endpoint.js';
import { DeviceProgramError, PeerWaitAbortedError, PeerWaitTimeoutError } from '../src/collectives/errors.js';
import { OutboxEndpoint, SlotOverflowError } from '../src/collectives/outbox-endpoint.js';
import { allocateOutbox, outboxViews } from '../src/collectives/outbox.js';
import { Scheduler } from '../src/collectives/scheduler.js';
import { Doorbells, allocateDoorbells } from '../src/collectives/doorbells.js';
import { UsageError } from '../src/cli/usage-error.js';
import * as experiments from '../src/experiments/index.js';
import { startTorchBnPeer } from '../src/experiments/torch-bn-peer.js';
import * as main from '../src/index.js';
import { writeFilesAtomically } from '../src/io/atomic-write.js';
import { instantiateKernels } from '../src/kernels/wasm-module.js';
import { fansOf } from '../src/nn/init.js';
import * as collectives from '../src/collectives/index.js';
import * as nn from '../src/nn/index.js';
import * as tensor from '../src/tensor/index.js';
import * as train from '../src/train/index.js';
import { ROOT, tempDir } from './helpers.js';

const { ERROR_CODES, SyncBnError, exitCodeOf } = main;
type AnyErrorClass = abstract new (...args: never[]) => Error;

/** Error classes thrown inside device threads or by the CLI: never exported, still in the hierarchy. */
const INTERNAL_CLASSES: Record<string, AnyErrorClass> = {
  PeerWaitTimeoutError,
  PeerWaitAbortedError,
  DeviceProgramError,
  UnexpectedWaitError,
  SlotOverflowError,
  InjectedCrashError,
  UsageError,
};

/** Every error class: what the entries export, and the internal ones. */
function errorClasses(): Map<string, AnyErrorClass> {
  const classes = new Map<string, AnyErrorClass>(Object.entries(INTERNAL_CLASSES));
  for (const entry of [main, tensor, collectives, nn, train, experiments]) {
    for (const [name, value] of Object.entries(entry)) {
      if (typeof value === 'function' && value.prototype instanceof Error) classes.set(name, value as AnyErrorClass);
    }
  }
  return classes;
}

/** An instance of each concrete class, built with plausible arguments. */
const EXAMPLES: Record<string, () => Error> = {
  InputError: () => new main.InputError('x'),
  InternalError: () => new main.InternalError('x'),
  NotBuiltError: () => new main.NotBuiltError('x'),
  OutputWriteError: () => new main.OutputWriteError('x'),
  ExternalProcessError: () => new main.ExternalProcessError('x'),
  WasmKernelError: () => new main.WasmKernelError('x'),
  DeviceCrashError: () => new main.DeviceCrashError('crash', 0, 'idle', 'x'),
  DeviceHangError: () => new main.DeviceHangError('hang', 0, 'idle', 'x'),
  DeviceMissingError: () => new main.DeviceMissingError('missing', 0, 'idle', 'x'),
  CollectiveTimeoutError: () => new main.CollectiveTimeoutError('timeout', 0, 'idle', 'x'),
  ClusterClosedError: () => new main.ClusterClosedError('x'),
  DivergedError: () => new experiments.DivergedError('sync W=2', 1, 1, 'loss NaN'),
  InterruptedError: () => new experiments.InterruptedError(),
  PeerWaitTimeoutError: () => new PeerWaitTimeoutError(0, 1, 5),
  PeerWaitAbortedError: () => new PeerWaitAbortedError(0, 1),
  DeviceProgramError: () => new DeviceProgramError(0, new Error('x')),
  UnexpectedWaitError: () => new UnexpectedWaitError('x'),
  SlotOverflowError: () => new SlotOverflowError('x'),
  InjectedCrashError: () => new InjectedCrashError('x'),
  UsageError: () => new UsageError('x'),
};
const ABSTRACT = new Set(['SyncBnError', 'DeviceFailureError']);

/** What `run` throws (or rejects with). */
async function thrown(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('one hierarchy, one code per class', () => {
  const classes = errorClasses();

  it('every error class extends SyncBnError, and every concrete one has an example here', () => {
    for (const [name, cls] of classes) {
      expect(cls.prototype instanceof SyncBnError || cls === SyncBnError, name).toBe(true);
      if (!ABSTRACT.has(name)) expect(EXAMPLES[name], `no example of ${name}`).toBeDefined();
    }
  });

  it('each concrete class has its own code from ERROR_CODES, its name, and every code belongs to a class', () => {
    const owner = new Map<string, string>();
    for (const [name] of classes) {
      if (ABSTRACT.has(name)) continue;
      const error = EXAMPLES[name]() as InstanceType<typeof SyncBnError>;
      expect(error).toBeInstanceOf(classes.get(name)!);
      expect(error.name).toBe(name);
      expect(Object.hasOwn(ERROR_CODES, error.code), `${name}: ${error.code}`).toBe(true);
      expect(owner.get(error.code), `${error.code} of ${name} is also ${owner.get(error.code)}'s`).toBeUndefined();
      owner.set(error.code, name);
    }
    expect([...owner.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('exitCodeOf: 2 for bad input or usage, 130 for an interruption, 1 for everything else', () => {
    expect(exitCodeOf(EXAMPLES.InputError())).toBe(2);
    expect(exitCodeOf(EXAMPLES.UsageError())).toBe(2);
    expect(exitCodeOf(EXAMPLES.InterruptedError())).toBe(130);
    for (const name of ['DeviceHangError', 'DivergedError', 'WasmKernelError', 'InternalError', 'OutputWriteError'])
      expect(exitCodeOf(EXAMPLES[name]()), name).toBe(1);
    expect(exitCodeOf(new TypeError('x'))).toBe(1);
    expect(exitCodeOf(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe(1);
    expect(exitCodeOf('E_INPUT')).toBe(1);
  });

  it("the README's table of errors lists every code with its class and exit code", () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [name, example] of Object.entries(EXAMPLES)) {
      const { code } = example() as InstanceType<typeof SyncBnError>;
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${code}\``));
      expect(row, `README has no row for ${code}`).toBeDefined();
      expect(row).toContain(`\`${name}\``);
      expect(row).toMatch(new RegExp(`\\|\\s*${ERROR_CODES[code]}\\s*\\|`)); // cells may be padded (the formatter aligns tables)
    }
  });
});

describe('what the library throws carries its code', () => {
  const expectCode = (error: unknown, cls: AnyErrorClass, code: string) => {
    expect(error).toBeInstanceOf(cls);
    expect(error).toBeInstanceOf(SyncBnError);
    expect((error as { code: string }).code).toBe(code);
  };

  it('InputError: a bad argument', async () => {
    expectCode(
      await thrown(() => main.batchNorm({ data: new Float32Array(3), shape: [3] })),
      main.InputError,
      'E_INPUT',
    );
  });

  it('InternalError: an invariant of the layers broken (a weight of one dimension has no fans)', async () => {
    expectCode(await thrown(() => fansOf([3])), main.InternalError, 'E_INTERNAL');
  });

  it('NotBuiltError: no compiled device worker', async () => {
    expectCode(await thrown(() => builtWorkerFile(tempDir('syncbn-unbuilt-'))), main.NotBuiltError, 'E_NOT_BUILT');
  });

  it('OutputWriteError: a rename fails half-way through a commit', async () => {
    const dir = tempDir('syncbn-errors-');
    const files = [{ name: 'a.txt', bytes: 'a' }];
    const fs = {
      rename() {
        throw Object.assign(new Error('EXDEV: cross-device link'), { code: 'EXDEV' });
      },
    };
    expectCode(await thrown(() => writeFilesAtomically(dir, files, { fs })), main.OutputWriteError, 'E_OUTPUT_WRITE');
  });

  it('WasmKernelError: a module WebAssembly.validate rejects', async () => {
    expectCode(
      await thrown(() => instantiateKernels(new Uint8Array([0, 97, 115, 109, 9]), 'corrupt.wasm')),
      main.WasmKernelError,
      'E_WASM_KERNEL',
    );
  });

  it('DeviceCrashError, then ClusterClosedError: a device crashes, and the cluster is closed', async () => {
    const cluster = main.Cluster.start({ devices: 2, fault: { kind: 'crash', rank: 1 } });
    const x = { data: new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]), shape: [4, 2] };
    const crash = await thrown(() => cluster.forward(x));
    expectCode(crash, main.DeviceCrashError, 'E_DEVICE_CRASH');
    expect(crash).toBeInstanceOf(main.DeviceFailureError);
    // What the device threw in its thread (an InjectedCrashError) crossed as data: its message.
    expect((crash as Error).message).toMatch(/injected fault: crash on rank 1/);
    expectCode(await thrown(() => cluster.forward(x)), main.ClusterClosedError, 'E_CLUSTER_CLOSED');
  });

  it('UsageError: an unknown command', () => {
    const program = new Command('syncbn-sim');
    program.command('compare');
    expectCode(unknownCommandError(program, ['frob']), UsageError, 'E_USAGE');
  });

  it('UnexpectedWaitError: a program that must run without peers waits for one', async () => {
    function* waits(): Program<number> {
      yield { kind: 'message', peer: 1, tag: 0 };
      return 0;
    }
    expectCode(await thrown(() => runWithoutPeers(waits(), 'the test')), UnexpectedWaitError, 'E_UNEXPECTED_WAIT');
  });

  it('SlotOverflowError: a message longer than its outbox slot (an internal error)', async () => {
    const outbox = outboxViews(allocateOutbox({ devices: 2, slots: 1, slotValues: 2 }));
    const router = { hosts: () => true, posted() {}, slotFreed() {} };
    const endpoint = new OutboxEndpoint(outbox, { first: 0, size: 2 }, 0, 8, router);
    const error = await thrown(() => endpoint.post(0, new Float64Array(3), 0, 3, [1]));
    expectCode(error, SlotOverflowError, 'E_SLOT_OVERFLOW');
    expect(error).toBeInstanceOf(main.InternalError);
  });

  it('PeerWaitAbortedError: the abort flag rises while a device waits', async () => {
    const abort = new Int32Array(1);
    const scheduler = new Scheduler({
      thread: 0,
      threadOfRank: new Int32Array(2),
      doorbells: new Doorbells(allocateDoorbells(1)),
      abort: { array: abort, index: 0 },
      timeoutMs: 5000,
    });
    function* waitsForever(): Program {
      Atomics.store(abort, 0, 1);
      for (;;) yield { kind: 'message', peer: 1, tag: 0 };
    }
    function* ends(): Program {}
    expectCode(
      await thrown(() => scheduler.run([0, 1], [waitsForever(), ends()])),
      PeerWaitAbortedError,
      'E_PEER_WAIT_ABORTED',
    );
  });

  it('ExternalProcessError: the PyTorch peer answers a command it does not know (when PyTorch is installed)', async (context) => {
    const peer = await startTorchBnPeer([4, 2], 1);
    if ('reason' in peer) return context.skip(peer.reason);
    try {
      expectCode(
        await thrown(() => peer.round('1 2' as unknown as number)),
        main.ExternalProcessError,
        'E_EXTERNAL_PROCESS',
      );
    } finally {
      peer.close();
    }
  }, 60_000);
});
