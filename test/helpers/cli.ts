import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { cliRecord, cliRecords } from './cli-records.js';
import { repoRoot } from './qemu.js';

/** The command as shipped: package.json's bin (the bundle `npm run build` makes), not tsc's output. */
export const cliPath = path.join(
  repoRoot,
  (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['qmp-blockjob']!,
);

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real qmp-blockjob binary to the end (killed after `timeoutMs`). */
export function runCli(args: readonly string[], timeoutMs = 60_000): Promise<CliResult> {
  return finished(startCli(args), timeoutMs);
}

/** The children started with `--json`: what they print is checked against the schema (./cli-records.ts). */
const jsonChildren = new WeakSet<ChildProcess>();

export function startCli(args: readonly string[]): ChildProcess {
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (args.includes('--json')) jsonChildren.add(child);
  return child;
}

export function finished(child: ChildProcess, timeoutMs = 60_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // Every --json line is a record of the schema: a test that does not look at it checks it too.
      if (jsonChildren.has(child)) {
        try {
          cliRecords(stdout);
        } catch (error) {
          reject(error as Error);
          return;
        }
      }
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Resolves with the first stdout line matching `test` (the child keeps running). */
export function waitForLine(child: ChildProcess, test: (line: string) => boolean, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.stdout?.off('data', onData);
      reject(new Error(`no matching line within ${timeoutMs} ms; got: ${buffered.slice(0, 500)}`));
    }, timeoutMs);
    const onData = (chunk: Buffer | string): void => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      for (const [i, line] of lines.entries()) {
        if (test(line)) {
          // A line cut by the chunking (no newline yet) is checked when the child's end is awaited.
          if (jsonChildren.has(child) && i < lines.length - 1) {
            try {
              cliRecord(line);
            } catch (error) {
              clearTimeout(timer);
              child.stdout?.off('data', onData);
              reject(error as Error);
              return;
            }
          }
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          resolve(line);
          return;
        }
      }
    };
    child.stdout?.on('data', onData);
  });
}

/** QEMU arguments for a second QMP monitor at `socketPath`: the CLI gets its own, the test keeps the first. */
export function extraMonitorArgs(socketPath: string, id = 'cli'): string[] {
  return ['-chardev', `socket,id=${id},path=${socketPath},server=on,wait=off`, '-mon', `chardev=${id},mode=control`];
}

/** Parses --json output: every stdout line must be one record of the schema (./cli-records.ts). */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return cliRecords(stdout.endsWith('\n') ? stdout : `${stdout}\n`);
}

/**
 * Resolves once a started `mock-qmp serve` says on stderr that it listens ("serving"); rejects when it
 * exits first or says nothing of it within `ms`, with what it did say.
 */
export function mockQmpListening(server: ChildProcess, ms = 15_000): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let said = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`mock-qmp serve ${why}: ${said}`));
    };
    const timer = setTimeout(() => fail(`did not listen within ${ms / 1000} s`), ms);
    server.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before listening`));
    server.stderr?.on('data', (chunk: Buffer | string) => {
      said += chunk.toString();
      if (said.includes('serving')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Runs the real mock-qmp binary (`serve`, `record`) with its output piped. */
export function startMockQmpCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [path.join(repoRoot, 'dist', 'mock-qmp', 'cli.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}
