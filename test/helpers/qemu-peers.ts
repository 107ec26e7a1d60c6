// QEMU's own Python QMP clients as test peers: python/qemu/qmp from Debian's QEMU source package of
// the stack under test, fetched by ci/qemu-python.sh and named by QMPBJ_QEMU_PYTHON (never
// committed, never a dependency). Unset: the tests skip and say why; under CI=true a missing peer fails.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
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
