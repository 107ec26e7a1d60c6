/*
 * The two virsh children that stand in for QEMU's monitor socket: one interactive `virsh -q` shell
 * that runs one command line at a time, and one `virsh qemu-monitor-event --loop` whose lines are
 * QMP events. Both are started in a process group of their own (see exec.ts).
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { AbortedError } from '../../errors.js';
import { spawnVirsh, uriArgs, virshChildError, type VirshTarget } from './exec.js';
import { classifyEventChildStderr, EVENT_CHILD_LOG_ENV, parseEventLine } from './wire.js';
import { noteOwnEpipe } from '../../util/own-epipe.js';
import { setLongTimeout } from '../../util/timers.js';

/** The prompt of a read-write virsh shell (`virsh > ` is the read-only one; we never pass -r). */
const PROMPT = 'virsh # ';
/** Bound on anything a virsh child prints that we have not consumed yet. */
export const MAX_BUFFERED = 64 * 1024 * 1024;
const CHILD_EXIT_GRACE_MS = 1000;

export type ShellOutcome = { ok: true; output: string } | { ok: false; stderr: string };

/** Cuts a child's output into lines, keeping the unfinished tail; a tail past MAX_BUFFERED is refused. */
class LineBuffer {
  private pending = '';

  get hasPending(): boolean {
    return this.pending !== '';
  }

  /** Hands each complete line to `onLine`; false when the unfinished tail grew past MAX_BUFFERED. */
  push(text: string, onLine: (line: string) => void): boolean {
    this.pending += text;
    if (this.pending.length > MAX_BUFFERED) return false;
    for (let newline = this.pending.indexOf('\n'); newline !== -1; newline = this.pending.indexOf('\n')) {
      const line = this.pending.slice(0, newline);
      this.pending = this.pending.slice(newline + 1);
      onLine(line);
    }
    return true;
  }
}

export abstract class VirshChild {
  protected readonly child: ChildProcessWithoutNullStreams;
  protected stderrText = '';
  protected exited = false;
  private exitError: Error | undefined;
  private readonly exitPromise: Promise<void>;
  /** Set once the transport owns the child: an unexpected exit tears the transport down. */
  onExit: ((error: Error) => void) | undefined;
  private expectingExit = false;

  constructor(
    target: VirshTarget,
    args: string[],
    protected readonly label: string,
  ) {
    this.child = spawnVirsh(target, [...uriArgs(target), ...args], ['pipe', 'pipe', 'pipe']) as ChildProcessWithoutNullStreams;
    const decoder = new StringDecoder('utf8');
    this.child.stdout.on('data', (chunk: Buffer) => this.onStdout(decoder.write(chunk)));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => this.onStderr(text));
    this.child.stdin.on('error', noteOwnEpipe); // EPIPE when virsh died first: reported through 'close'.
    this.exitPromise = new Promise((resolve) => {
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        this.exitError = virshChildError(args, `the ${label}`, { kind: 'spawn', reason: `${error.code ?? ''} ${error.message}`.trim() }, '', error);
        this.exited = true;
        this.died();
        resolve();
      });
      this.child.once('close', (code, signal) => {
        this.flushStderr();
        this.exitError ??= virshChildError(args, `the ${label}`, signal ? { kind: 'signal', signal } : { kind: 'exit', code: code ?? -1 }, this.stderrText);
        this.exited = true;
        this.died();
        resolve();
      });
    });
  }

  protected abstract onStdout(text: string): void;

  /** Called when the child's pipes closed, before its exit becomes an error. */
  protected flushStderr(): void {}

  /** What virsh says on stderr, kept for the error when it fails. */
  protected onStderr(text: string): void {
    if (this.stderrText.length < MAX_BUFFERED) this.stderrText += text;
  }
  protected abstract onDeath(error: Error): void;

  get deathError(): Error | undefined {
    return this.exited ? this.exitError : undefined;
  }

  private died(): void {
    const error = this.exitError ?? new Error(`${this.label} exited`);
    this.onDeath(error);
    if (!this.expectingExit) this.onExit?.(error);
  }

  /** Asks the child to stop (`polite`), then SIGKILLs it after a grace period. */
  protected async stop(polite: () => void): Promise<void> {
    this.expectingExit = true;
    if (!this.exited) {
      polite();
      const force = setLongTimeout(() => this.child.kill('SIGKILL'), CHILD_EXIT_GRACE_MS);
      await this.exitPromise;
      force.clear();
    }
  }

  kill(): Promise<void> {
    this.expectingExit = true;
    if (!this.exited) this.child.kill('SIGKILL');
    return this.exitPromise;
  }
}

/** The interactive `virsh -q` shell that runs one command line at a time. */
export class VirshShell extends VirshChild {
  private buffer = '';
  private prompted = false;
  private promptWaiter: (() => void) | undefined;
  private current: { echoed: boolean; resolve: (outcome: ShellOutcome) => void } | undefined;
  private readonly waiting: Array<{ line: string; resolve: (outcome: ShellOutcome) => void; reject: (error: Error) => void }> = [];

  constructor(target: VirshTarget) {
    super(target, ['-q'], 'virsh shell');
  }

  ready(wait: { timeoutMs: number; signal: AbortSignal }): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(wait.signal.reason instanceof Error ? wait.signal.reason : new AbortedError('starting virsh'));
      if (wait.signal.aborted) return onAbort();
      wait.signal.addEventListener('abort', onAbort, { once: true });
      const done = (): void => {
        wait.signal.removeEventListener('abort', onAbort);
        const death = this.deathError;
        if (death) reject(death);
        else resolve();
      };
      if (this.prompted || this.exited) done();
      else this.promptWaiter = done;
    });
  }

  /** Sends one command line (ending in \n); resolves with its stdout, or the stderr when it printed nothing. */
  run(line: string): Promise<ShellOutcome> {
    return new Promise((resolve, reject) => {
      const death = this.deathError;
      if (death) return reject(death);
      this.waiting.push({ line, resolve, reject });
      this.next();
    });
  }

  close(): Promise<void> {
    return this.stop(() => this.child.stdin.end());
  }

  private next(): void {
    if (this.current || !this.prompted) return;
    const job = this.waiting.shift();
    if (!job) return;
    this.current = { echoed: false, resolve: job.resolve };
    this.stderrText = ''; // whatever it says from now on belongs to this command
    this.child.stdin.write(job.line);
  }

  protected onStdout(text: string): void {
    this.buffer += text;
    if (this.buffer.length > MAX_BUFFERED) {
      this.child.kill('SIGKILL');
      return;
    }
    if (!this.prompted) {
      const at = this.buffer.indexOf(PROMPT);
      if (at === -1) return;
      this.buffer = this.buffer.slice(at + PROMPT.length);
      this.prompted = true;
      this.promptWaiter?.();
      this.promptWaiter = undefined;
      this.next();
      return;
    }
    const current = this.current;
    if (!current) return;
    if (!current.echoed) {
      // readline echoes the command line we wrote, up to its newline.
      const newline = this.buffer.indexOf('\n');
      if (newline === -1) return;
      this.buffer = this.buffer.slice(newline + 1);
      current.echoed = true;
    }
    // The command's output (always "\n"-terminated for the commands we send) ends at the next prompt;
    // the command printed nothing at all when it failed (its message is on stderr).
    let outcome: 'output' | 'failed' | undefined;
    if (this.buffer.startsWith(PROMPT)) outcome = 'failed';
    else if (this.buffer.endsWith(`\n${PROMPT}`)) outcome = 'output';
    if (!outcome) return;
    const output = outcome === 'output' ? this.buffer.slice(0, -PROMPT.length) : '';
    this.buffer = outcome === 'output' ? '' : this.buffer.slice(PROMPT.length);
    this.current = undefined;
    if (outcome === 'output') {
      current.resolve({ ok: true, output });
      this.next();
    } else {
      // virsh wrote the error to stderr before it wrote the prompt to stdout, so the bytes are already
      // in the stderr pipe; two turns of the event loop let Node deliver them.
      setImmediate(() =>
        setImmediate(() => {
          current.resolve({ ok: false, stderr: this.stderrText });
          this.next();
        }),
      );
    }
  }

  protected onDeath(error: Error): void {
    this.promptWaiter?.();
    this.promptWaiter = undefined;
    const current = this.current;
    this.current = undefined;
    if (current) current.resolve({ ok: false, stderr: this.stderrText || error.message });
    for (const job of this.waiting.splice(0)) job.reject(error);
  }
}

/**
 * `virsh qemu-monitor-event --domain DOMAIN --loop`, parsed into QMP event messages. Started with
 * the domain as the user named it, at the same time as the shell and `dominfo`, so that its
 * registration overlaps theirs; its lines are read once `knowDomain` gave the name they carry.
 */
export class VirshEventStream extends VirshChild {
  private readonly stdoutLines = new LineBuffer();
  private readonly stderrLines = new LineBuffer();
  /** Private probe nodes: their events are ours, not the client's. */
  readonly hiddenNodes = new Set<string>();
  onEvent: ((event: Record<string, unknown>) => void) | undefined;
  private probeWaiters = new Map<string, () => void>();
  private domainName: string | undefined;
  private registered = false;
  private registrationWaiters = new Set<() => void>();

  constructor(target: VirshTarget, domain: string) {
    super({ ...target, env: { ...target.env, ...EVENT_CHILD_LOG_ENV } }, ['qemu-monitor-event', '--domain', domain, '--loop'], 'virsh qemu-monitor-event');
  }

  /** The domain's name as libvirt prints it in event lines (from dominfo). */
  knowDomain(name: string): void {
    this.domainName = name;
  }

  /**
   * Resolves true once libvirt has registered this child's event callback (see wire.ts), false when
   * the child died, the signal fired, or no notice came within `ms` (a libvirt that does not log it).
   */
  waitForRegistration(ms: number, signal: AbortSignal): Promise<boolean> {
    if (this.registered) return Promise.resolve(true);
    if (this.exited || signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (): void => {
        timer.clear();
        signal.removeEventListener('abort', finish);
        this.registrationWaiters.delete(finish);
        resolve(this.registered);
      };
      const timer = setLongTimeout(finish, ms);
      signal.addEventListener('abort', finish, { once: true });
      this.registrationWaiters.add(finish);
    });
  }

  protected override onStderr(text: string): void {
    const within = this.stderrLines.push(text, (line) => {
      const sorted = classifyEventChildStderr(line);
      if (sorted.kind === 'virsh') super.onStderr(`${sorted.text}\n`);
      else if (sorted.kind === 'registered' && !this.registered) {
        this.registered = true;
        for (const wake of [...this.registrationWaiters]) wake();
      }
    });
    if (!within) this.child.kill('SIGKILL');
  }

  close(): Promise<void> {
    return this.stop(() => this.child.kill('SIGTERM'));
  }

  throwIfDead(): void {
    const death = this.deathError;
    if (death) throw death;
  }

  /** Resolves true when a probe event for `node` arrives within `ms`, false otherwise. */
  waitForProbe(node: string, ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const finish = (seen: boolean): void => {
        timer.clear();
        signal.removeEventListener('abort', onAbort);
        this.probeWaiters.delete(node);
        resolve(seen);
      };
      const onAbort = (): void => finish(false);
      const timer = setLongTimeout(() => finish(false), ms);
      signal.addEventListener('abort', onAbort, { once: true });
      this.probeWaiters.set(node, () => finish(true));
    });
  }

  protected onStdout(text: string): void {
    if (!this.stdoutLines.push(text, (line) => this.onLine(line))) this.child.kill('SIGKILL');
  }

  private onLine(line: string): void {
    // Before dominfo answered no probe was sent and no client listens: nothing to deliver yet.
    if (this.domainName === undefined) return;
    const event = parseEventLine(line, this.domainName);
    if (!event) return; // "events received: N", "event loop interrupted", blank lines
    const node = event.data?.['node-name'];
    if (typeof node === 'string' && this.hiddenNodes.has(node)) {
      this.probeWaiters.get(node)?.();
      return;
    }
    this.onEvent?.(event);
  }

  protected override flushStderr(): void {
    // virsh's last words without a newline still belong in the error.
    if (this.stderrLines.hasPending) this.onStderr('\n');
  }

  protected onDeath(): void {
    for (const wake of [...this.registrationWaiters]) wake();
    for (const wake of this.probeWaiters.values()) wake();
  }
}
