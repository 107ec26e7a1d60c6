import { spawn, type ChildProcess, type ChildProcessByStdio, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AbortedError, QmpError, QmpTimeoutError } from '../protocol/errors.js';

/** Where and how to run virsh. Shared by the virsh transport and the libvirt helpers. */
export interface VirshTarget {
  /** libvirt connection URI passed as `-c` (e.g. qemu:///system, qemu+ssh://host/system). Default: virsh's own default. */
  uri?: string;
  /** The virsh binary. Default "virsh" (looked up on PATH). */
  virshPath?: string;
  /** Extra environment for virsh (e.g. XDG_RUNTIME_DIR for a session daemon). */
  env?: Readonly<Record<string, string>>;
}

export interface VirshErrorOptions {
  cause?: unknown;
  /** The signal that ended it, if one did. */
  signal?: NodeJS.Signals | null;
  /** How to name it instead of `virsh ARGS` (e.g. "the virsh shell"). */
  what?: string;
}

/** A virsh run that failed: exit code or signal, and virsh's own stderr ("error: …" lines). */
export class VirshError extends QmpError {
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  constructor(args: readonly string[], exitCode: number | null, stderr: string, options: VirshErrorOptions = {}) {
    const how = options.signal ? `was killed by ${options.signal}` : exitCode === null ? 'could not run' : `failed (exit ${exitCode})`;
    super(`${options.what ?? `virsh ${args.join(' ')}`} ${how}: ${oneLine(stderr) || 'no message'}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.args = args;
    this.exitCode = exitCode;
    this.signal = options.signal ?? null;
    this.stderr = stderr;
  }
}

/**
 * How virsh children are started. In a process group of their own, so a Ctrl-C at the terminal
 * (SIGINT to the whole foreground group) reaches only us: we still need them to send the cancel
 * that a Ctrl-C asks for. They must not outlive us either: every child is killed when this process
 * exits, and where util-linux's setpriv is there, the kernel kills it if we die without exiting
 * (SIGKILL), through the parent-death signal.
 */
const children = new Set<ChildProcess>();
let exitHook = false;
let setpriv: string | null | undefined;

function onPath(name: string): string | null {
  if (name.includes('/')) return existsSync(name) ? name : null;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const candidate = path.join(dir || '.', name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export function spawnVirsh(target: VirshTarget, args: readonly string[], stdio: StdioOptions): ChildProcess {
  setpriv ??= onPath('setpriv');
  const binary = target.virshPath ?? 'virsh';
  // A missing virsh is spawned directly, so the error is node's own ENOENT rather than setpriv's exit 127.
  const [file, argv] = setpriv && onPath(binary) ? [setpriv, ['--pdeathsig', 'KILL', '--', binary, ...args]] : [binary, [...args]];
  const child = spawn(file, argv, { env: virshEnv(target), stdio, detached: true });
  children.add(child);
  child.once('close', () => children.delete(child));
  child.once('error', () => children.delete(child));
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const c of children) c.kill('SIGKILL');
    });
  }
  return child;
}

export interface VirshResult {
  stdout: string;
  stderr: string;
}

/**
 * The environment every virsh child gets: untranslated messages (we parse them), and for the
 * interactive shell a readline that echoes a command line verbatim: TERM=dumb plus a huge COLUMNS
 * stops horizontal-scroll escapes, INPUTRC=/dev/null ignores the user's key bindings, and
 * VIRSH_HISTSIZE=0 keeps our commands out of the user's virsh history.
 */
export function virshEnv(target: VirshTarget): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LC_ALL: 'C',
    LANG: 'C',
    TERM: 'dumb',
    COLUMNS: '1000000',
    INPUTRC: '/dev/null',
    VIRSH_HISTSIZE: '0',
    ...target.env,
  };
}

/** `[-c URI]` prefix for a virsh argument vector. */
export function uriArgs(target: VirshTarget): string[] {
  return target.uri === undefined ? [] : ['-c', target.uri];
}

export function describeVirshTarget(target: VirshTarget): string {
  return target.uri ?? 'default URI';
}

/**
 * Runs `virsh [-c URI] ARGS…` (an argument vector, never a shell) and resolves with its output.
 * Rejects with VirshError on a non-zero exit or a missing binary, QmpTimeoutError after
 * `timeoutMs` (the child is killed), AbortedError when the signal fires.
 */
/** Cap on what one virsh run may print (as the QMP client caps one message). */
const MAX_OUTPUT_CHARS = 64 * 1024 * 1024;

export function runVirsh(
  target: VirshTarget,
  args: readonly string[],
  options: { timeoutMs?: number; signal?: AbortSignal | undefined } = {},
): Promise<VirshResult> {
  const fullArgs = [...uriArgs(target), ...args];
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new AbortedError(`virsh ${args.join(' ')}`, { cause: options.signal.reason }));
      return;
    }
    const child = spawnVirsh(target, fullArgs, ['ignore', 'pipe', 'pipe']) as ChildProcessByStdio<null, Readable, Readable>;
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      child.kill('SIGKILL');
      finish(() => reject(new AbortedError(`virsh ${args.join(' ')}`, { cause: options.signal?.reason })));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(() => reject(new QmpTimeoutError(`virsh ${args.join(' ')}`, timeoutMs)));
    }, timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    // virsh's output is small (a reply, a domain's XML); a runaway one is an error, not unbounded memory.
    const tooMuch = (): void => {
      child.kill('SIGKILL');
      finish(() => reject(new VirshError(args, null, `output exceeded ${MAX_OUTPUT_CHARS} characters`)));
    };
    child.stdout.on('data', (text: string) => {
      stdout += text;
      if (stdout.length > MAX_OUTPUT_CHARS) tooMuch();
    });
    child.stderr.on('data', (text: string) => {
      if (stderr.length < MAX_OUTPUT_CHARS) stderr += text;
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      finish(() => reject(new VirshError(args, null, `${error.code ?? ''} ${error.message}`.trim(), { cause: error })));
    });
    child.once('close', (code) => {
      if (code === 0) finish(() => resolve({ stdout, stderr }));
      else finish(() => reject(new VirshError(args, code, stderr, { signal: child.signalCode })));
    });
  });
}

export function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' | ');
}
