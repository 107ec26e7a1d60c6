import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { onPath, oneLine, ProcessError, runProcess, type ProcessEnd } from '../process.js';

/** Where and how to run virsh. Shared by the virsh transport and the libvirt helpers. */
export interface VirshTarget {
  /** libvirt connection URI passed as `-c` (e.g. qemu:///system, qemu+ssh://host/system). Default: virsh's own default. */
  uri?: string | undefined;
  /** The virsh binary. Default "virsh" (looked up on PATH). */
  virshPath?: string | undefined;
  /** Extra environment for virsh (e.g. XDG_RUNTIME_DIR for a session daemon). */
  env?: Readonly<Record<string, string>> | undefined;
}

/** A virsh run that failed: how it ended, and virsh's own stderr ("error: …" lines). */
export class VirshError extends ProcessError {}

/** The VirshError for a virsh child (shell or event stream) that ended: `what` names it. */
export function virshChildError(args: readonly string[], what: string, end: ProcessEnd, stderr: string, cause?: unknown): VirshError {
  return new VirshError({ file: 'virsh', args, end, stderr, what }, cause === undefined ? undefined : { cause });
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
 * Rejects with VirshError however it fails: a non-zero exit, a missing binary, the timeout
 * (`timeoutMs`, the child is killed), the signal, or more output than a reply or a domain's XML.
 */
export async function runVirsh(
  target: VirshTarget,
  args: readonly string[],
  options: { timeoutMs?: number; signal?: AbortSignal | undefined } = {},
): Promise<VirshResult> {
  const { stdout, stderr } = await runProcess({
    file: 'virsh',
    args: [...uriArgs(target), ...args],
    timeoutMs: options.timeoutMs ?? 30_000,
    signal: options.signal,
    what: `virsh ${args.join(' ')}`,
    spawner: (_file, fullArgs, stdio) => spawnVirsh(target, fullArgs, stdio),
    error: (facts, errorOptions) => new VirshError(facts, errorOptions),
  });
  return { stdout, stderr };
}
export { oneLine };
