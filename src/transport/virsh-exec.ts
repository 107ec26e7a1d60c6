import { spawn } from 'node:child_process';
import { AbortedError, QmpError, QmpTimeoutError } from '../protocol/errors.js';
import { setLongTimeout } from '../util/timers.js';

/** Where and how to run virsh. Shared by the virsh transport and the libvirt helpers. */
export interface VirshTarget {
  /** libvirt connection URI passed as `-c` (e.g. qemu:///system, qemu+ssh://host/system). Default: virsh's own default. */
  uri?: string;
  /** The virsh binary. Default "virsh" (looked up on PATH). */
  virshPath?: string;
  /** Extra environment for virsh (e.g. XDG_RUNTIME_DIR for a session daemon). */
  env?: Readonly<Record<string, string>>;
}

/** A virsh run that failed: exit code and virsh's own stderr ("error: …" lines). */
export class VirshError extends QmpError {
  readonly args: readonly string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(args: readonly string[], exitCode: number | null, stderr: string, options?: { cause?: unknown }) {
    super(`virsh ${args.join(' ')} failed (${exitCode === null ? 'not run' : `exit ${exitCode}`}): ${oneLine(stderr) || 'no message'}`, options);
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
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
    const child = spawn(target.virshPath ?? 'virsh', fullArgs, { env: virshEnv(target), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      timer.clear();
      options.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = (): void => {
      child.kill('SIGKILL');
      finish(() => reject(new AbortedError(`virsh ${args.join(' ')}`, { cause: options.signal?.reason })));
    };
    const timer = setLongTimeout(() => {
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
      else finish(() => reject(new VirshError(args, code, stderr)));
    });
  });
}

export function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' | ');
}
