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
import { ConnectionClosedError, ProtocolError, QmpTimeoutError, AbortedError, ConnectError } from '../../errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type ConnectOptions, type Transport, type TransportHandlers } from '../transport.js';
import { MAX_BUFFERED, VirshEventStream, VirshShell } from './children.js';
import { runCommand, shellCommand } from './commands.js';
import { describeVirshTarget, oneLine, type VirshTarget } from './exec.js';
import { lookUpDomain, proveEventsFlow } from './handshake.js';
import { isJsonObject } from '../../util/json.js';
import { timeoutSignal } from '../../util/timers.js';

export interface VirshTransportOptions extends VirshTarget, ConnectOptions {
  /** Domain name, id or UUID. */
  domain: string;
  /**
   * Called once, the first time a command that changes the block graph (commit, snapshot, mirror,
   * job completion, blockdev-add/del, transaction…) is sent: libvirt's view of the domain goes
   * stale (see docs/libvirt.md). The CLI prints it on stderr.
   */
  onWarning?: ((message: string) => void) | undefined;
}

/** What the transport learned while connecting (for diagnostics and the design notes). */
export interface VirshConnectInfo {
  domainName: string;
  domainUuid: string;
  /** Probe rounds until the event stream was seen to deliver (1 whenever libvirt said it registered the stream). */
  probeRounds: number;
  /** Milliseconds from the start of connect until the event stream was proven live. */
  eventsReadyMs: number;
  /** Milliseconds for the whole connect. */
  connectMs: number;
}

/** Commands after which libvirt's idea of the disk chain no longer matches QEMU's. */
const GRAPH_CHANGING = new Set([
  'block-commit',
  'block-stream',
  'block-job-complete',
  'job-complete',
  'blockdev-snapshot-sync',
  'blockdev-snapshot',
  'transaction',
  'blockdev-mirror',
  'drive-mirror',
  'change-backing-file',
  'blockdev-reopen',
  'x-blockdev-reopen',
  'blockdev-add',
  'blockdev-del',
  'block-job-finalize',
  'job-finalize',
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

/**
 * A Transport that reaches QEMU through libvirt. Use `VirshTransport.connect(...)`, then
 * `QmpClient.open(transport)` (or `connect({ domain })`, which does both).
 */
export class VirshTransport implements Transport {
  readonly peer: string;
  readonly info: VirshConnectInfo;
  private readonly target: VirshTarget;
  private readonly shell: VirshShell;
  private readonly events: VirshEventStream;
  private readonly onWarning: ((message: string) => void) | undefined;
  private handlers: TransportHandlers | undefined;
  private readonly early: Array<Record<string, unknown>> = [];
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
   * Finds the domain while starting the command shell and the event stream, proves the event stream
   * is delivering (a probe event on a private null-co node once libvirt registered the stream's
   * callback, repeated until seen where libvirt does not say so), and queues a
   * greeting built from query-version. Throws ConnectError (AbortedError for the signal) and
   * leaves no child process behind on failure. `connectTimeoutMs` (default 10 s) bounds it all.
   */
  static async connect(options: VirshTransportOptions): Promise<VirshTransport> {
    const started = Date.now();
    const target: VirshTarget = { uri: options.uri, virshPath: options.virshPath, env: options.env };
    const where = `libvirt domain ${JSON.stringify(options.domain)} (${describeVirshTarget(target)})`;
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = timeoutSignal(timeoutMs);
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
      // All three virsh processes start at once: each pays virsh's start and its own libvirt
      // connection, and the event child's registration is the longest of them (docs/design.md).
      events = new VirshEventStream(target, options.domain);
      shell = new VirshShell(target);
      const domain = await lookUpDomain(target, options.domain, { timeoutMs: remaining(), signal });
      const peer = `libvirt:${describeVirshTarget(target)}:${domain.name}`;
      events.knowDomain(domain.name);
      await shell.ready({ timeoutMs: remaining(), signal });
      // Asked first, while the event child may still be registering: the probe waits for that anyway.
      const versionReply = shellCommand(shell, domain.uuid, { execute: 'query-version' });
      versionReply.catch(() => undefined); // a failure is the probe's too, and reported by it first
      const probe = await proveEventsFlow(shell, events, domain.uuid, { timeoutMs: remaining(), signal });
      const eventsReadyMs = Date.now() - started;
      const version = await versionReply;
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
    for (const message of this.early.splice(0)) handlers.onMessage(message);
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

  /** A message for the client, as it is: no bytes made up for the client to parse again. */
  private deliver(message: Record<string, unknown>): void {
    if (this.handlers) this.handlers.onMessage(message);
    else this.early.push(message);
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
    if (!isJsonObject(message)) {
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
