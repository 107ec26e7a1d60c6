/*
 * The one way this project runs a program to its end (virsh, qemu-img, qemu-io): an argument
 * vector (never a shell), a timeout and an AbortSignal that kill it, a cap on what it may print,
 * and one error shape that says what ran and how it ended.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { QmpError, type QmpErrorOptions } from '../errors.js';
import { setLongTimeout } from '../util/timers.js';

/** How a run ended when it did not succeed. */
export type ProcessEnd =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: NodeJS.Signals }
  | { kind: 'spawn'; reason: string }
  | { kind: 'timeout'; ms: number }
  | { kind: 'aborted' }
  | { kind: 'output'; limit: number };

function describeEnd(end: ProcessEnd): string {
  switch (end.kind) {
    case 'exit':
      return `failed (exit ${end.code})`;
    case 'signal':
      return `was killed by ${end.signal}`;
    case 'spawn':
      return `could not run (${end.reason})`;
    case 'timeout':
      return `did not finish within ${end.ms} ms`;
    case 'aborted':
      return 'was interrupted';
    case 'output':
      return `printed more than ${end.limit} characters`;
  }
}

/** A program run that did not succeed: what ran, how it ended, and what it said on stderr. */
export class ProcessError extends QmpError {
  readonly file: string;
  readonly args: readonly string[];
  readonly end: ProcessEnd;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  readonly stdout: string;
  /** `what` names the program in the message (default: the command line). */
  constructor(
    facts: { file: string; args: readonly string[]; end: ProcessEnd; stderr: string; stdout?: string | undefined; what?: string | undefined },
    options?: QmpErrorOptions,
  ) {
    const said = oneLine(facts.stderr);
    super(`${facts.what ?? [facts.file, ...facts.args].join(' ')} ${describeEnd(facts.end)}${said ? `: ${said}` : ''}`, options);
    this.file = facts.file;
    this.args = facts.args;
    this.end = facts.end;
    this.exitCode = facts.end.kind === 'exit' ? facts.end.code : null;
    this.signal = facts.end.kind === 'signal' ? facts.end.signal : null;
    this.stderr = facts.stderr;
    this.stdout = facts.stdout ?? '';
  }
}

export function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' | ');
}

export interface RunOptions {
  file: string;
  args: readonly string[];
  /** Default 30 s; the child is killed when it runs out. */
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  /** Most characters kept of stdout (more is an error) and of stderr (more is cut). Default 64 Mi. */
  maxOutput?: number;
  env?: NodeJS.ProcessEnv;
  /** Exit codes that count as success. Default [0]. */
  okCodes?: readonly number[];
  /** How to start the child (see spawnChild). */
  spawner?: (file: string, args: readonly string[], stdio: StdioOptions, env: NodeJS.ProcessEnv | undefined) => ChildProcess;
  /** Names the program in error messages. */
  what?: string;
  /** Builds the error (a subclass with its own name) from the facts. */
  error?: (facts: ConstructorParameters<typeof ProcessError>[0], options?: QmpErrorOptions) => ProcessError;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs `file args…` to its end. Rejects with ProcessError (or `options.error`'s subclass) however it fails. */
export function runProcess(options: RunOptions): Promise<RunResult> {
  const { file, args } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxOutput = options.maxOutput ?? 64 * 1024 * 1024;
  const okCodes = options.okCodes ?? [0];
  const makeError = options.error ?? ((facts, errorOptions) => new ProcessError(facts, errorOptions));
  return new Promise((resolve, reject) => {
    const fail = (end: ProcessEnd, cause?: unknown): ProcessError =>
      makeError({ file, args, end, stderr, stdout, ...(options.what ? { what: options.what } : {}) }, cause === undefined ? undefined : { cause });
    let stdout = '';
    let stderr = '';
    if (options.signal?.aborted) {
      reject(fail({ kind: 'aborted' }, options.signal.reason));
      return;
    }
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe'];
    const child = options.spawner
      ? options.spawner(file, args, stdio, options.env)
      : spawn(file, [...args], { stdio, ...(options.env ? { env: options.env } : {}) });
    const out = child.stdout as Readable;
    const err = child.stderr as Readable;
    let settled = false;
    const finish = (settle: () => void): void => {
      if (settled) return;
      settled = true;
      timer.clear();
      options.signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const kill = (end: ProcessEnd, cause?: unknown): void => {
      child.kill('SIGKILL');
      finish(() => reject(fail(end, cause)));
    };
    const onAbort = (): void => kill({ kind: 'aborted' }, options.signal?.reason);
    const timer = setLongTimeout(() => kill({ kind: 'timeout', ms: timeoutMs }), timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    out.setEncoding('utf8');
    err.setEncoding('utf8');
    out.on('data', (text: string) => {
      stdout += text;
      if (stdout.length > maxOutput) kill({ kind: 'output', limit: maxOutput });
    });
    err.on('data', (text: string) => {
      if (stderr.length < maxOutput) stderr += text;
    });
    child.once('error', (error: NodeJS.ErrnoException) =>
      finish(() => reject(fail({ kind: 'spawn', reason: `${error.code ?? ''} ${error.message}`.trim() }, error))),
    );
    child.once('close', (code, signal) => {
      if (code !== null && okCodes.includes(code)) finish(() => resolve({ stdout, stderr, code }));
      else finish(() => reject(fail(signal ? { kind: 'signal', signal } : { kind: 'exit', code: code ?? -1 })));
    });
  });
}

/** `name` as found on PATH (or as given, when it holds a slash and exists); null when absent. */
export function onPath(name: string): string | null {
  if (name.includes('/')) return existsSync(name) ? name : null;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir || '.', name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}
