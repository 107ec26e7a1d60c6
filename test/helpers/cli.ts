import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './qemu.js';

/** The command as shipped: package.json's bin (the bundle `npm run build` makes), not tsc's output. */
export const cliPath = path.join(repoRoot, (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin['qmp-blockjob']!);

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

export function startCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

export function finished(child: ChildProcess, timeoutMs = 60_000): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
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
      for (const line of buffered.split('\n')) {
        if (test(line)) {
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

/** Parses --json output: every stdout line must be one JSON object. */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Runs the real mock-qmp binary (`serve`, `record`) with its output piped. */
export function startMockQmpCli(args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [path.join(repoRoot, 'dist', 'mock-qmp', 'cli.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}
