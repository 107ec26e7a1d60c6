import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { QmpClient, type QmpClientOptions } from '../protocol/client.js';
import { AbortedError, ConnectError, ConnectionClosedError, ProtocolError, QmpTimeoutError } from '../protocol/errors.js';
import type { ConnectOptions, Transport, TransportHandlers } from './transport.js';
import {
  describeVirshTarget,
  oneLine,
  runVirsh,
  uriArgs,
  VirshError,
  spawnVirsh,
  virshChildError,
  type VirshTarget,
} from './virsh-exec.js';

/*
 * QMP through libvirt (docs/design.md, "virsh transport").
 *
 * libvirt owns the domain's QMP socket, so we cannot connect to it. Instead two virsh children
 * stand in for the socket:
 *   - commands: ONE interactive `virsh -q [-c URI]` shell reading `qemu-monitor-command` lines on
 *     stdin (measured 1.8 ms per command vs 22 ms for one virsh process per command, and 7 ms vs
 *     636 ms over qemu+ssh://); commands are strictly serialized, one in flight at a time.
 *   - events: one `virsh [-c URI] qemu-monitor-event --domain UUID --loop` whose lines carry QEMU's
 *     own timestamp (`at SECONDS.MICROSECONDS`), turned back into QMP event messages.
 * From these the transport synthesises the byte stream QEMU would have sent: a greeting built from
 * query-version, a local answer to qmp_capabilities (libvirt negotiated long ago), and replies
 * whose libvirt id ("libvirt-411") is swapped back for the client's own id.
 */

export interface VirshTransportOptions extends VirshTarget, ConnectOptions {
  /** Domain name, id or UUID. */
  domain: string;
  /**
   * Called once, the first time a command that changes the block graph (commit, snapshot, mirror,
   * job completion, blockdev-add/del, transaction…) is sent: libvirt's view of the domain goes
   * stale (see docs/libvirt.md). The CLI prints it on stderr.
   */
  onWarning?: (message: string) => void;
}

/** What the transport learned while connecting (for diagnostics and the design notes). */
export interface VirshConnectInfo {
  domainName: string;
  domainUuid: string;
  /** Probe rounds until the event stream was seen to deliver (1 when it was already listening). */
  probeRounds: number;
  /** Milliseconds from the start of connect until the event stream was proven live. */
  eventsReadyMs: number;
  /** Milliseconds for the whole connect. */
  connectMs: number;
}

/** The prompt of a read-write virsh shell (`virsh > ` is the read-only one; we never pass -r). */
const PROMPT = 'virsh # ';
/**
 * Longest command line sent through the shell. readline redraws as it reads, ~10 µs per character
 * (measured: 1 KB 18 ms, 8 KB 80 ms, 1 MB ~7 s), so past ~4 KB a one-shot virsh process (~25-45 ms)
 * is faster. Typical QMP commands are 50-500 bytes.
 */
const SHELL_LINE_LIMIT = 4 * 1024;
/** Linux MAX_ARG_STRLEN (32 pages) bounds one argv word for the one-shot fallback. */
const ARGV_WORD_LIMIT = 128 * 1024 - 1;
/** Bound on anything a virsh child prints that we have not consumed yet. */
const MAX_BUFFERED = 64 * 1024 * 1024;
/** How long one probe round waits for its event before it triggers the next one. */
const PROBE_ROUND_MS = 250;
const CHILD_EXIT_GRACE_MS = 1000;

/** Commands after which libvirt's idea of the disk chain no longer matches QEMU's. */
const GRAPH_CHANGING = new Set([
  'block-commit', 'block-stream', 'block-job-complete', 'job-complete', 'blockdev-snapshot-sync',
  'blockdev-snapshot', 'transaction', 'blockdev-mirror', 'drive-mirror', 'change-backing-file',
  'blockdev-reopen', 'x-blockdev-reopen', 'blockdev-add', 'blockdev-del', 'block-job-finalize', 'job-finalize',
]);

/** virsh errors meaning the monitor is gone for good, not that one command failed. */
const FATAL_VIRSH_ERROR =
  /failed to get domain|domain is not running|Domain not found|not connected|Disconnected from|client socket is closed|Failed to reconnect|no connection driver|end of file|Cannot recv data|Cannot write data|Broken pipe/i;

interface QueuedCommand {
  /** The client's id, returned verbatim in the reply (any JSON value, or absent). */
  id: unknown;
  hasId: boolean;
  message: Record<string, unknown>;
}

type ShellOutcome = { ok: true; output: string } | { ok: false; stderr: string };

/**
 * A Transport that reaches QEMU through libvirt. Use `VirshTransport.connect(...)`, then
 * `QmpClient.connect({ transport })` (or `connectVirsh` which does both).
 */
export class VirshTransport implements Transport {
  readonly peer: string;
  readonly info: VirshConnectInfo;
  private readonly target: VirshTarget;
  private readonly shell: VirshShell;
  private readonly events: VirshEventStream;
  private readonly onWarning: ((message: string) => void) | undefined;
  private handlers: TransportHandlers | undefined;
  private readonly early: Buffer[] = [];
  private inputBuffer = '';
  private readonly queue: QueuedCommand[] = [];
  private pumping = false;
  private warned = false;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closeError: Error | undefined;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  private closeReported = false;

  private constructor(
    target: VirshTarget,
    peer: string,
    info: VirshConnectInfo,
    shell: VirshShell,
    events: VirshEventStream,
    onWarning: ((message: string) => void) | undefined,
  ) {
    this.target = target;
    this.peer = peer;
    this.info = info;
    this.shell = shell;
    this.events = events;
    this.onWarning = onWarning;
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /**
   * Finds the domain, starts the command shell and the event stream, proves the event stream is
   * delivering (a probe event on a private null-co node, repeated until seen), and queues a
   * greeting built from query-version. Throws ConnectError (AbortedError for the signal) and
   * leaves no child process behind on failure. `connectTimeoutMs` (default 10 s) bounds it all.
   */
  static async connect(options: VirshTransportOptions): Promise<VirshTransport> {
    const started = Date.now();
    const target: VirshTarget = { uri: options.uri, virshPath: options.virshPath, env: options.env };
    const where = `libvirt domain ${JSON.stringify(options.domain)} (${describeVirshTarget(target)})`;
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    const remaining = (): number => Math.max(1, timeoutMs - (Date.now() - started));
    let shell: VirshShell | undefined;
    let events: VirshEventStream | undefined;
    const fail = async (error: unknown): Promise<never> => {
      await Promise.all([shell?.kill(), events?.kill()]);
      if (options.signal?.aborted) throw new AbortedError(`connecting to ${where}`, { cause: options.signal.reason });
      if (error instanceof ConnectError) throw error;
      if (deadline.aborted || error instanceof QmpTimeoutError) {
        throw new ConnectError(where, `no answer within ${timeoutMs} ms`, { cause: error });
      }
      throw new ConnectError(where, error instanceof Error ? error.message : String(error), { cause: error });
    };
    try {
      const domain = await lookUpDomain(target, options.domain, { timeoutMs: remaining(), signal });
      const peer = `libvirt:${describeVirshTarget(target)}:${domain.name}`;
      shell = new VirshShell(target);
      events = new VirshEventStream(target, domain.uuid, domain.name);
      await shell.ready({ timeoutMs: remaining(), signal });
      const probe = await proveEventsFlow(shell, events, domain.uuid, { timeoutMs: remaining(), signal });
      const eventsReadyMs = Date.now() - started;
      const version = await shellCommand(shell, domain.uuid, { execute: 'query-version' });
      if (!('return' in version)) {
        throw new ConnectError(where, `query-version failed: ${JSON.stringify(version.error ?? version)}`);
      }
      const info: VirshConnectInfo = {
        domainName: domain.name,
        domainUuid: domain.uuid,
        probeRounds: probe.rounds,
        eventsReadyMs,
        connectMs: Date.now() - started,
      };
      const transport = new VirshTransport(target, peer, info, shell, events, options.onWarning);
      transport.attach();
      // libvirt already negotiated with QEMU and does not enable OOB for its own monitor, so none is offered.
      transport.deliver({ QMP: { version: version.return, capabilities: [] } });
      return transport;
    } catch (error) {
      return fail(error);
    }
  }

  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
    for (const chunk of this.early.splice(0)) handlers.onData(chunk);
    if (this.state === 'closed') this.reportClose();
  }

  write(data: string): void {
    if (this.state !== 'open') throw new ConnectionClosedError(`${this.peer} is ${this.state}`);
    this.inputBuffer += data;
    if (this.inputBuffer.length > MAX_BUFFERED) {
      this.destroy(new ProtocolError(`more than ${MAX_BUFFERED} bytes written without a newline`));
      return;
    }
    let newline = this.inputBuffer.indexOf('\n');
    while (newline !== -1) {
      const line = this.inputBuffer.slice(0, newline).trim();
      this.inputBuffer = this.inputBuffer.slice(newline + 1);
      if (line) this.accept(line);
      newline = this.inputBuffer.indexOf('\n');
    }
  }

  async close(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'closing';
      await Promise.all([this.shell.close(), this.events.close()]);
      this.finishClose(undefined);
    }
    return this.closedPromise;
  }

  destroy(error?: Error): void {
    if (this.state === 'closed') return;
    if (error) this.closeError ??= error;
    this.state = 'closing';
    void Promise.all([this.shell.kill(), this.events.kill()]).then(() => this.finishClose(this.closeError));
  }

  // ---------------------------------------------------------------- internals

  /** Once per transport, after the first block-graph change QEMU accepted. */
  private warnOnce(command: string): void {
    if (this.warned) return;
    this.warned = true;
    this.onWarning?.(
      `${command} went to QEMU behind libvirt's back: libvirt's view of domain '${this.info.domainName}' ` +
        `(virsh domblklist/dumpxml, vda[N] indices, the disk source after a pivot) is now stale, and libvirt ` +
        `has marked the domain tainted (custom-monitor). See docs/libvirt.md.`,
    );
  }

  private attach(): void {
    this.events.onEvent = (event) => this.deliver(event);
    const onDeath = (what: string) => (error: Error) => {
      if (this.state === 'open') this.destroy(new ConnectionClosedError(`${what} ended: ${error.message}`, { cause: error }));
    };
    this.events.onExit = onDeath('the virsh event stream');
    this.shell.onExit = onDeath('the virsh command shell');
  }

  private finishClose(error: Error | undefined): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeError ??= error;
    if (this.handlers) this.reportClose();
    this.resolveClosed();
  }

  private reportClose(): void {
    if (this.closeReported) return;
    this.closeReported = true;
    this.handlers?.onClose(this.closeError);
  }

  private deliver(message: Record<string, unknown>): void {
    const chunk = Buffer.from(`${JSON.stringify(message)}\r\n`);
    if (this.handlers) this.handlers.onData(chunk);
    else this.early.push(chunk);
  }

  private accept(line: string): void {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      // What QEMU answers to bytes that are not JSON: an error without an id.
      this.deliver({ error: { class: 'GenericError', desc: 'JSON parse error' } });
      return;
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      this.deliver({ error: { class: 'GenericError', desc: 'QMP input must be a JSON object' } });
      return;
    }
    const { id, ...rest } = message as Record<string, unknown>;
    this.queue.push({ id, hasId: 'id' in message, message: rest });
    void this.pump();
  }

  /** Runs queued commands one at a time: the shell is sequential, and so is libvirt's monitor. */
  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.state === 'open') {
        const command = this.queue.shift();
        if (!command) break;
        const reply = await this.execute(command.message);
        if (this.state !== 'open') break;
        if (reply === undefined) continue;
        const { id: _libvirtId, ...body } = reply;
        this.deliver(command.hasId ? { ...body, id: command.id } : body);
      }
    } catch (error) {
      this.destroy(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.pumping = false;
    }
  }

  /** One command → its reply (libvirt's id still in it), or undefined when the transport died. */
  private async execute(message: Record<string, unknown>): Promise<Record<string, unknown> | undefined> {
    const name = message.execute;
    if ('exec-oob' in message) {
      return { error: { class: 'GenericError', desc: 'out-of-band execution is not available through libvirt' } };
    }
    if (typeof name !== 'string') {
      // libvirt would wrap a non-command into {"execute": …}; answer as QEMU itself would.
      return { error: { class: 'GenericError', desc: "QMP input lacks member 'execute'" } };
    }
    if (name === 'qmp_capabilities') return { return: {} };
    const outcome = await runCommand(this.shell, this.target, this.info.domainUuid, message);
    if (outcome.kind === 'reply') {
      if (GRAPH_CHANGING.has(name) && !('error' in outcome.reply)) this.warnOnce(name);
      return outcome.reply;
    }
    if (FATAL_VIRSH_ERROR.test(outcome.stderr)) {
      this.destroy(new ConnectionClosedError(`libvirt lost domain '${this.info.domainName}': ${oneLine(outcome.stderr)}`));
      return undefined;
    }
    // libvirt refused the command itself (e.g. a libvirt job holds the domain): a per-command error.
    return { error: { class: 'LibvirtError', desc: oneLine(outcome.stderr) || 'virsh failed without a message' } };
  }
}

/**
 * A QmpClient that talks to a libvirt domain: `VirshTransport.connect` + `QmpClient.connect({ transport })`.
 * The client behaves as over a socket (same API, errors and event objects).
 */
export async function connectVirsh(options: VirshTransportOptions, clientOptions: QmpClientOptions = {}): Promise<QmpClient> {
  const started = Date.now();
  const timeoutMs = options.connectTimeoutMs ?? clientOptions.connectTimeoutMs ?? 10_000;
  const transport = await VirshTransport.connect({ ...options, connectTimeoutMs: timeoutMs });
  return QmpClient.connect(
    { transport },
    { ...clientOptions, signal: clientOptions.signal ?? options.signal, connectTimeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) },
  );
}

// ------------------------------------------------------------------ connect steps

async function lookUpDomain(
  target: VirshTarget,
  domain: string,
  wait: { timeoutMs: number; signal: AbortSignal },
): Promise<{ name: string; uuid: string }> {
  const { stdout } = await runVirsh(target, ['dominfo', '--domain', domain], wait);
  // dominfo: "Name:           vm1" / "UUID:           …" / "State:          running" (LC_ALL=C).
  const field = (key: string): string | undefined => stdout.match(new RegExp(`^${key}:[ \\t]+(.*)$`, 'm'))?.[1];
  const name = field('Name');
  const uuid = field('UUID');
  const state = field('State');
  if (name === undefined || uuid === undefined || !/^[0-9a-f-]{36}$/i.test(uuid)) {
    throw new ProtocolError(`cannot read the domain's name and UUID from virsh dominfo: ${oneLine(stdout)}`);
  }
  if (state !== 'running' && state !== 'paused') {
    throw new ConnectError(`libvirt domain ${JSON.stringify(domain)}`, `the domain is ${state ?? 'in an unknown state'}, not running`);
  }
  return { name, uuid };
}

/**
 * Proves that the event stream delivers before any client command is sent. libvirt registers
 * the event callback asynchronously inside the event process and prints nothing when it is done,
 * so we make QEMU emit an event of our own and wait for it: a BLOCK_WRITE_THRESHOLD on a private
 * 4 KiB null-co node (writes are discarded; the node is attached to nothing the guest or libvirt
 * uses, and libvirt ignores threshold events for nodes it does not know). Re-armed each round
 * until the event arrives; the node is deleted afterwards and its events are never delivered.
 */
async function proveEventsFlow(
  shell: VirshShell,
  events: VirshEventStream,
  uuid: string,
  wait: { timeoutMs: number; signal: AbortSignal },
): Promise<{ rounds: number }> {
  const node = `qbj-probe-${randomBytes(6).toString('hex')}`;
  events.hiddenNodes.add(node);
  const must = async (message: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const reply = await shellCommand(shell, uuid, message);
    if ('error' in reply) throw new ProtocolError(`event probe: ${String(message.execute)} failed: ${JSON.stringify(reply.error)}`);
    return reply;
  };
  await must({ execute: 'blockdev-add', arguments: { driver: 'null-co', 'node-name': node, size: 4096 } });
  try {
    let rounds = 0;
    const stop = wait.signal;
    while (!stop.aborted) {
      rounds++;
      const seen = events.waitForProbe(node, PROBE_ROUND_MS, stop);
      await must({ execute: 'block-set-write-threshold', arguments: { 'node-name': node, 'write-threshold': 1 } });
      await must({ execute: 'human-monitor-command', arguments: { 'command-line': `qemu-io ${node} "write -q 0 512"` } });
      if (await seen) return { rounds };
      events.throwIfDead();
    }
    throw stop.reason instanceof Error ? stop.reason : new QmpTimeoutError('waiting for the event stream', wait.timeoutMs);
  } finally {
    await shellCommand(shell, uuid, { execute: 'blockdev-del', arguments: { 'node-name': node } }).catch(() => undefined);
  }
}

/** A command through the shell that must succeed at the virsh level (used while connecting). */
async function shellCommand(shell: VirshShell, uuid: string, message: Record<string, unknown>): Promise<Record<string, unknown>> {
  const outcome = await shell.run(monitorCommandLine(uuid, message));
  if (!outcome.ok) throw new VirshError({ file: 'virsh', args: ['qemu-monitor-command', uuid], end: { kind: 'exit', code: 1 }, stderr: outcome.stderr, what: 'virsh qemu-monitor-command' });
  return parseReply(outcome.output);
}

type CommandOutcome = { kind: 'reply'; reply: Record<string, unknown> } | { kind: 'virsh-error'; stderr: string };

async function runCommand(shell: VirshShell, target: VirshTarget, uuid: string, message: Record<string, unknown>): Promise<CommandOutcome> {
  const line = monitorCommandLine(uuid, message);
  if (line.length <= SHELL_LINE_LIMIT) {
    const outcome = await shell.run(line);
    return outcome.ok ? { kind: 'reply', reply: parseReply(outcome.output) } : { kind: 'virsh-error', stderr: outcome.stderr };
  }
  const json = asciiJson(message);
  if (json.length > ARGV_WORD_LIMIT) {
    return { kind: 'reply', reply: { error: { class: 'GenericError', desc: `command of ${json.length} bytes is too long for virsh (limit ${ARGV_WORD_LIMIT})` } } };
  }
  try {
    const { stdout } = await runVirsh(target, ['qemu-monitor-command', '--domain', uuid, '--cmd', json], { timeoutMs: 600_000 });
    return { kind: 'reply', reply: parseReply(stdout) };
  } catch (error) {
    if (error instanceof VirshError) return { kind: 'virsh-error', stderr: error.stderr };
    throw error;
  }
}

/**
 * The shell line for one command. The UUID is hex and dashes; the JSON is made pure ASCII
 * (\uXXXX for the rest) so readline echoes it byte for byte, and single-quoted by virsh's rules
 * (as in sh: no escapes inside '…', a quote is written '\'' ).
 */
function monitorCommandLine(uuid: string, message: Record<string, unknown>): string {
  return `qemu-monitor-command --domain ${uuid} --cmd ${singleQuote(asciiJson(message))}\n`;
}

function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function singleQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

function parseReply(output: string): Record<string, unknown> {
  const text = output.trim();
  let reply: unknown;
  try {
    reply = JSON.parse(text);
  } catch (error) {
    throw new ProtocolError(`virsh printed something that is not a QMP reply: ${text.slice(0, 200)}`, { cause: error });
  }
  if (reply === null || typeof reply !== 'object' || Array.isArray(reply) || !('return' in reply || 'error' in reply)) {
    throw new ProtocolError(`virsh printed something that is not a QMP reply: ${text.slice(0, 200)}`);
  }
  return reply as Record<string, unknown>;
}

// ------------------------------------------------------------------ child processes

abstract class VirshChild {
  protected readonly child: ChildProcessWithoutNullStreams;
  protected stderrText = '';
  protected exited = false;
  private exitError: Error | undefined;
  private readonly exitPromise: Promise<void>;
  /** Set once the transport owns the child: an unexpected exit tears the transport down. */
  onExit: ((error: Error) => void) | undefined;
  private expectingExit = false;

  constructor(target: VirshTarget, args: string[], protected readonly label: string) {
    this.child = spawnVirsh(target, [...uriArgs(target), ...args], ['pipe', 'pipe', 'pipe']) as ChildProcessWithoutNullStreams;
    const decoder = new StringDecoder('utf8');
    this.child.stdout.on('data', (chunk: Buffer) => this.onStdout(decoder.write(chunk)));
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text: string) => {
      if (this.stderrText.length < MAX_BUFFERED) this.stderrText += text;
    });
    this.child.stdin.on('error', () => {}); // EPIPE when virsh died first: reported through 'close'.
    this.exitPromise = new Promise((resolve) => {
      this.child.once('error', (error: NodeJS.ErrnoException) => {
        this.exitError = virshChildError(args, `the ${label}`, { kind: 'spawn', reason: `${error.code ?? ''} ${error.message}`.trim() }, '', error);
        this.exited = true;
        this.died();
        resolve();
      });
      this.child.once('close', (code, signal) => {
        this.exitError ??= virshChildError(args, `the ${label}`, signal ? { kind: 'signal', signal } : { kind: 'exit', code: code ?? -1 }, this.stderrText);
        this.exited = true;
        this.died();
        resolve();
      });
    });
  }

  protected abstract onStdout(text: string): void;
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
      const force = setTimeout(() => this.child.kill('SIGKILL'), CHILD_EXIT_GRACE_MS);
      await this.exitPromise;
      clearTimeout(force);
    }
  }

  kill(): Promise<void> {
    this.expectingExit = true;
    if (!this.exited) this.child.kill('SIGKILL');
    return this.exitPromise;
  }
}

/** The interactive `virsh -q` shell that runs one command line at a time. */
class VirshShell extends VirshChild {
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

/** `virsh qemu-monitor-event --domain UUID --loop`, parsed into QMP event messages. */
class VirshEventStream extends VirshChild {
  private lineBuffer = '';
  /** Private probe nodes: their events are ours, not the client's. */
  readonly hiddenNodes = new Set<string>();
  onEvent: ((event: Record<string, unknown>) => void) | undefined;
  private probeWaiters = new Map<string, () => void>();
  private readonly domainName: string;

  constructor(target: VirshTarget, uuid: string, domainName: string) {
    super(target, ['qemu-monitor-event', '--domain', uuid, '--loop'], 'virsh qemu-monitor-event');
    this.domainName = domainName;
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
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.probeWaiters.delete(node);
        resolve(seen);
      };
      const onAbort = (): void => finish(false);
      const timer = setTimeout(() => finish(false), ms);
      signal.addEventListener('abort', onAbort, { once: true });
      this.probeWaiters.set(node, () => finish(true));
    });
  }

  protected onStdout(text: string): void {
    this.lineBuffer += text;
    if (this.lineBuffer.length > MAX_BUFFERED) {
      this.child.kill('SIGKILL');
      return;
    }
    let newline = this.lineBuffer.indexOf('\n');
    while (newline !== -1) {
      const line = this.lineBuffer.slice(0, newline);
      this.lineBuffer = this.lineBuffer.slice(newline + 1);
      this.onLine(line);
      newline = this.lineBuffer.indexOf('\n');
    }
  }

  private onLine(line: string): void {
    const event = parseEventLine(line, this.domainName);
    if (!event) return; // "events received: N", "event loop interrupted", blank lines
    const node = event.data?.['node-name'];
    if (typeof node === 'string' && this.hiddenNodes.has(node)) {
      this.probeWaiters.get(node)?.();
      return;
    }
    this.onEvent?.(event);
  }

  protected onDeath(): void {
    for (const wake of this.probeWaiters.values()) wake();
  }
}

export interface ParsedEventLine extends Record<string, unknown> {
  event: string;
  data?: Record<string, unknown>;
  timestamp: { seconds: number; microseconds: number };
}

/**
 * Parses one line of `virsh qemu-monitor-event` (without --timestamp, whose libvirt-local
 * millisecond time would replace QEMU's own microsecond timestamp):
 *   event NAME at SECONDS.MICROSECONDS for domain 'DOMAIN': {json}|<null>
 * Knowing the domain's name makes the split exact even when the name contains "': ".
 * Returns undefined for lines that are not events.
 */
export function parseEventLine(line: string, domainName: string): ParsedEventLine | undefined {
  const head = /^event (\S+) at (\d+)\.(\d{1,6}) for domain '/.exec(line);
  if (!head) return undefined;
  const rest = line.slice(head[0].length);
  const nameEnd = `${domainName}': `;
  if (!rest.startsWith(nameEnd)) return undefined;
  const payload = rest.slice(nameEnd.length).trim();
  const timestamp = { seconds: Number(head[2]), microseconds: Number((head[3] ?? '0').padEnd(6, '0')) };
  if (payload === '<null>') return { event: head[1] ?? '', timestamp };
  let data: unknown;
  try {
    data = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return undefined;
  return { event: head[1] ?? '', data: data as Record<string, unknown>, timestamp };
}

export { VirshError } from './virsh-exec.js';
export type { VirshTarget } from './virsh-exec.js';
