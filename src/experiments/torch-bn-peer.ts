/**
 * PyTorch's CPU BatchNorm as a long-lived peer process (scripts/bench_torch_bn.py under Debian's
 * python), so that the kernel benchmark can alternate rounds of ours and rounds of PyTorch's in one
 * run: a slow spell of the shared machine then hits both alike. The peer speaks snake_case JSON;
 * its answers are read into camelCase where they are parsed.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ExternalProcessError } from '../errors.js';
import { TORCH_PYTHON, packageRoot } from './torch-python.js';

/** One round of PyTorch's timings, in milliseconds per repetition. */
export interface TorchBnRound {
  /** The forward alone, one sample per repetition (the peer's `forward_ms`). */
  readonly forwardMs: readonly number[];
  /** Forward then backward, one sample per repetition (the peer's `forward_backward_ms`). */
  readonly forwardBackwardMs: readonly number[];
}

/** A running peer. */
export interface TorchBnPeer {
  /** PyTorch's intra-op threads, as it reports them. */
  readonly threads: number;
  /** PyTorch's version. */
  readonly version: string;
  /**
   * Times `reps` repetitions of the forward and of forward+backward.
   * @param reps - repetitions of each.
   * @returns the samples.
   * @throws ExternalProcessError when the peer answers with something else or has ended.
   */
  round(reps: number): Promise<TorchBnRound>;
  /** Ends the process. */
  close(): void;
}

/**
 * Starts the peer on `shape` with `threads` intra-op threads.
 * @param shape - [N,C] or [N,C,H,W].
 * @param threads - PyTorch's intra-op threads (`torch.set_num_threads`).
 * @returns the peer, or the reason it cannot run (no python, no torch, no script).
 */
export async function startTorchBnPeer(
  shape: readonly number[],
  threads: number,
): Promise<TorchBnPeer | { readonly reason: string }> {
  const root = packageRoot();
  const script = root && join(root, 'scripts', 'bench_torch_bn.py');
  if (!script || !existsSync(script)) return { reason: 'scripts/bench_torch_bn.py not found beside the package' };
  if (!existsSync(TORCH_PYTHON)) return { reason: `${TORCH_PYTHON} not found` };
  const child = spawn(TORCH_PYTHON, [script, shape.join(','), String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown> | undefined> => {
    const line = await lines.next();
    if (line.done) return undefined;
    try {
      return JSON.parse(line.value) as Record<string, unknown>;
    } catch {
      return { error: `unexpected output: ${line.value.slice(0, 200)}` };
    }
  };
  const spawnError = new Promise<{ reason: string }>((resolve) =>
    child.once('error', (e) => resolve({ reason: `${TORCH_PYTHON} failed: ${e.message}` })),
  );
  const hello = await Promise.race([next(), spawnError]);
  if (!hello || 'reason' in hello || typeof hello.threads !== 'number') {
    child.kill();
    if (hello && 'reason' in hello && typeof hello.reason === 'string') return { reason: hello.reason };
    const last = stderr.trim().split('\n').pop() ?? 'no output';
    return { reason: /No module named .?torch/.test(stderr) ? `torch is not installed for ${TORCH_PYTHON}` : last };
  }
  return {
    threads: hello.threads,
    version: String(hello.torch),
    async round(reps: number): Promise<TorchBnRound> {
      child.stdin.write(`round ${reps}\n`);
      const r = await next();
      if (!r || !Array.isArray(r.forward_ms) || !Array.isArray(r.forward_backward_ms)) {
        throw new ExternalProcessError(
          `PyTorch peer: ${r ? JSON.stringify(r).slice(0, 200) : (stderr.trim().split('\n').pop() ?? 'ended')}`,
        );
      }
      return { forwardMs: r.forward_ms as number[], forwardBackwardMs: r.forward_backward_ms as number[] };
    },
    close(): void {
      child.stdin.end();
      child.kill();
    },
  };
}
