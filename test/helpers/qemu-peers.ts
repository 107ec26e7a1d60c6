// QEMU's own Python QMP clients as test peers: python/qemu/qmp from Debian's QEMU source package of
// the stack under test, fetched by ci/qemu-python.sh and named by QMPBJ_QEMU_PYTHON (never
// committed, never a dependency). Unset: the tests skip and say why; under CI=true a missing peer fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Test } from 'tap';
import { repoRoot } from './qemu.js';

/** The python dir holding qemu/qmp, or undefined after skipping (or failing, under CI) `t`. */
export function qemuPython(t: Test): string | undefined {
  const dir = process.env.QMPBJ_QEMU_PYTHON;
  const missing = !dir
    ? 'QMPBJ_QEMU_PYTHON is not set (export QMPBJ_QEMU_PYTHON=$(bash ci/qemu-python.sh SUITE))'
    : !existsSync(path.join(dir, 'qemu', 'qmp', 'qmp_client.py'))
      ? `QMPBJ_QEMU_PYTHON=${dir} holds no qemu/qmp/qmp_client.py`
      : undefined;
  if (!missing) return dir;
  if (process.env.CI === 'true') t.fail(`QEMU's Python clients are needed in CI: ${missing}`);
  else t.plan(0, `skipped: QEMU's Python clients are not here: ${missing}`);
  return undefined;
}

/** Runs python3 with QEMU's python dir on PYTHONPATH. */
export function python(dir: string, args: readonly string[], input?: string): ChildProcess {
  const child = spawn('python3', args, { env: { ...process.env, PYTHONPATH: dir }, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (input !== undefined) child.stdin?.end(input);
  return child;
}

/** Our driver of QEMU's clients (test/helpers/qemu-peers.py). */
export const peersScript = path.join(repoRoot, 'test', 'helpers', 'qemu-peers.py');

/** Runs to the end (bounded): exit code, stdout, stderr. */
export function completed(child: ChildProcess, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** The JSON objects a peer printed, one per line (qmp-shell's prompts stripped). */
export function printed(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .map((l) => l.replace(/^(\(QEMU\) )+/, '').trim())
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * A peer that takes one job a line on stdin and tags every line it prints with the job's name
 * (`qemu-peers.py replay`): `next(name)` sends a job and resolves with that job's lines once it
 * printed {"done"} or {"failed"}, or with `failed` set when the peer died or took over `timeoutMs`.
 */
export interface BatchPeer {
  next(name: string, job: Record<string, unknown>, timeoutMs?: number): Promise<{ lines: Array<Record<string, unknown>>; failed?: string }>;
  /** Ends stdin and waits (bounded) for the exit. */
  end(timeoutMs?: number): Promise<{ code: number | null; stderr: string }>;
}

export function batchPeer(dir: string, args: readonly string[]): BatchPeer {
  const child = spawn('python3', args, { env: { ...process.env, PYTHONPATH: dir }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  child.stdin?.on('error', () => {}); // a dead peer is said by next(), not by an EPIPE
  const exit = new Promise<number | null>((resolve) => child.once('close', resolve));
  const reader = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async next(name, job, timeoutMs = 90_000) {
      child.stdin?.write(`${JSON.stringify({ ...job, name })}\n`);
      const lines: Array<Record<string, unknown>> = [];
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeoutMs);
      });
      try {
        for (;;) {
          const read = await Promise.race([reader.next(), late]);
          if (read === 'late') {
            child.kill('SIGKILL');
            return { lines, failed: `no end within ${timeoutMs} ms; stderr: ${stderr.slice(-600)}` };
          }
          if (read.done) return { lines, failed: `the peer exited (${await exit}) before the end; stderr: ${stderr.slice(-600)}` };
          const [line] = printed(read.value);
          if (!line) continue;
          const { transcript, ...rest } = line;
          if (transcript !== name) return { lines, failed: `a line of ${String(transcript)} while ${name} ran: ${read.value}` };
          if ('failed' in rest) return { lines, failed: String(rest.failed) };
          if ('done' in rest) return { lines };
          lines.push(rest);
        }
      } finally {
        clearTimeout(timer);
      }
    },
    async end(timeoutMs = 30_000) {
      child.stdin?.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exit;
      clearTimeout(timer);
      return { code, stderr };
    },
  };
}
