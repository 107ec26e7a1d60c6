import { EventEmitter } from 'eventemitter3';
import { DEFAULT_MAX_MESSAGE_BYTES, LineFramer, type QmpMessage } from '../framing.js';
import {
  AbortedError,
  ConnectError,
  CommandNotSentError,
  ConnectionClosedError,
  MonitorBusyError,
  QmpTimeoutError,
  ProtocolError,
  QmpCommandError,
  QmpError,
  StateError,
} from '../errors.js';
import { PendingCommands } from './pending.js';
import { beforeGreeting, GREETING_LIMIT_BYTES, isGreeting, unexpectedFirstMessage } from './greeting.js';
import { watchLiveness, type LivenessOptions } from './liveness.js';
import { ConnectionState, type CommandOptions, type QmpClientEvents, type QmpClientOptions, type TrafficSink } from './client-options.js';
import { EventHub, toEvent, type EventStreamOptions, type EventWaitOptions } from './event-hub.js';
import type { CommandArgs, CommandReturn, QmpCommandName, QmpEvent, QmpEventMap, QmpEventName, QmpGreeting, TypedEvent, KnownQmpEvent } from '../qapi/types.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type Transport } from '../transport/transport.js';
import { checkTimeoutMs } from '../util/timers.js';
import { debug } from '../util/debug.js';
import { boundedWait } from '../util/wait.js';

/** Default timeout of a command that gives none: long enough for any sane QMP command, short of "forever". */
export const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

export {
  ConnectionState,
  type TrafficDirection,
  type TrafficSink,
  type QmpClientOptions,
  type CommandOptions,
  type QmpClientEvents,
} from './client-options.js';
export type { EventStreamOptions, EventWaitOptions };

export class QmpClient extends EventEmitter<QmpClientEvents> {
  private readonly transport: Transport;
  private readonly framer: LineFramer;
  private readonly maxMessageBytes: number;
  private readonly hub: EventHub;
  private readonly pending: PendingCommands;
  private readonly traffic: TrafficSink | undefined;
  private nextId = 1;
  private stateValue: ConnectionState = ConnectionState.Greeting;
  private greetingValue: QmpGreeting | undefined;
  private greetingWaiter: ((greeting: QmpGreeting) => void) | undefined;
  private oobEnabled = false;
  private closeReason: Error | undefined;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  private constructor(transport: Transport, options: QmpClientOptions) {
    super();
    this.transport = transport;
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.framer = new LineFramer(Math.min(this.maxMessageBytes, GREETING_LIMIT_BYTES));
    this.hub = new EventHub(options.eventHistory ?? 1000, transport.peer);
    this.traffic = options.traffic;
    const commandTimeoutMs = checkTimeoutMs(options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS, 'commandTimeoutMs');
    this.pending = new PendingCommands(commandTimeoutMs, transport.peer);
    this.closedPromise = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
  }

  /**
   * Speaks QMP over an open transport: waits for the greeting and negotiates capabilities.
   * `connectTimeoutMs` (default 10 s) bounds the whole sequence. Choosing and opening the transport
   * (socket, TCP, libvirt) is `connect()`'s job (src/connect.ts).
   */
  static async open(transport: Transport, options: QmpClientOptions = {}): Promise<QmpClient> {
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const startedAt = Date.now();
    const client = new QmpClient(transport, options);
    transport.start({
      onData: (chunk) => client.onData(chunk),
      // A transport that has whole messages (virsh) hands them over as the framer would emit them.
      onMessage: (message) => client.onData(message),
      onClose: (error) => client.onTransportClose(error),
    });
    const remaining = (): number => Math.max(1, timeoutMs - (Date.now() - startedAt));
    const greetingLimit = options.greetingTimeoutMs !== undefined && options.greetingTimeoutMs < remaining() ? options.greetingTimeoutMs : undefined;
    try {
      const greeting = await boundedWait<QmpGreeting>(
        `waiting for the QMP greeting from ${transport.peer}`,
        { timeoutMs: greetingLimit ?? remaining(), signal: options.signal },
        (resolve, reject) => {
          if (client.greetingValue) resolve(client.greetingValue);
          client.greetingWaiter = resolve;
          // A peer we dropped for what it sent (not QMP, too big) says so; else it just went away.
          const onClose = (error: Error | undefined): void =>
            reject(
              error instanceof ProtocolError ? error : new ConnectionClosedError(`${transport.peer} closed before sending a QMP greeting`, { cause: error }),
            );
          client.once('close', onClose);
          return () => {
            client.greetingWaiter = undefined;
            client.off('close', onClose);
          };
        },
      );
      if (options.negotiate === false) {
        client.stateValue = ConnectionState.Running;
        return client;
      }
      client.stateValue = ConnectionState.Negotiating;
      const offered = greeting.QMP.capabilities;
      const enable = options.oob && offered.includes('oob') ? (['oob'] as const) : [];
      await client.send('qmp_capabilities', enable.length ? { enable: [...enable] } : undefined, {
        timeoutMs: remaining(),
        signal: options.signal,
      });
      client.oobEnabled = enable.length > 0;
      client.stateValue = ConnectionState.Running;
      return client;
    } catch (error) {
      transport.destroy();
      await client.closedPromise;
      if (error instanceof AbortedError) throw error;
      if (error instanceof QmpTimeoutError && !client.greetingValue && greetingLimit !== undefined)
        throw new MonitorBusyError(transport.peer, greetingLimit, { cause: error });
      throw new ConnectError(transport.peer, error instanceof Error ? error.message : String(error), { cause: error });
    }
  }

  get state(): ConnectionState {
    return this.stateValue;
  }

  /** The greeting QEMU sent (version and offered capabilities). */
  get greeting(): QmpGreeting {
    if (!this.greetingValue) throw new StateError('no greeting received yet');
    return this.greetingValue;
  }

  get peer(): string {
    return this.transport.peer;
  }

  /** Whether out-of-band execution was negotiated. */
  get oob(): boolean {
    return this.oobEnabled;
  }

  /** The timeout of commands that give none (`commandTimeoutMs`; Infinity: none). */
  get commandTimeoutMs(): number {
    return this.pending.timeoutMs;
  }

  /** Probes the monitor during a long wait; rejects with MonitorUnresponsiveError when it goes silent (see liveness.ts). */
  watchLiveness(options?: LivenessOptions): Promise<void> {
    return watchLiveness(
      {
        peer: this.peer,
        commandTimeoutMs: this.commandTimeoutMs,
        probe: (timeoutMs, signal) => this.execute('query-status', undefined, { timeoutMs, ...(signal ? { signal } : {}) }),
        closed: () => this.closed(),
      },
      options,
    );
  }

  /** Commands sent and not yet answered. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** The names of the commands sent and not yet answered, oldest first. */
  get pendingCommands(): string[] {
    return this.pending.names();
  }

  /** A position in the event stream; pass it as `since` to see events that arrive after this point. */
  eventCursor(): number {
    return this.hub.history.cursor;
  }

  /** Buffered recent events from `since` on (oldest first). */
  recentEvents(since = 0): QmpEvent[] {
    return this.hub.history.since(since);
  }

  /**
   * Executes a QMP command this library knows (QmpCommandMap) and resolves with its typed `return`
   * value: only its typed arguments compile. Any other command goes through executeUntyped().
   */
  execute<K extends QmpCommandName>(name: K, args?: CommandArgs<K>, options?: CommandOptions): Promise<CommandReturn<K>> {
    return this.executeUntyped(name, args as Record<string, unknown> | undefined, options) as Promise<CommandReturn<K>>;
  }

  /** Executes any QMP command by name, arguments unchecked; its `return` value is `unknown` until the caller checks it. */
  executeUntyped(name: string, args?: Record<string, unknown>, options: CommandOptions = {}): Promise<unknown> {
    if (this.stateValue !== ConnectionState.Running) {
      return Promise.reject(this.stateErrorFor(name));
    }
    return this.send(name, args, options);
  }

  /** Executes a command out of band (`exec-oob`); needs `oob: true` at connect and QEMU's consent. */
  executeOob(name: string, args?: Record<string, unknown>, options: CommandOptions = {}): Promise<unknown> {
    if (this.stateValue !== ConnectionState.Running) return Promise.reject(this.stateErrorFor(name));
    if (!this.oobEnabled) {
      return Promise.reject(new StateError(`cannot send ${name} out of band: OOB was not negotiated with ${this.peer}`));
    }
    return this.send(name, args, options, 'exec-oob');
  }

  /**
   * Resolves with the first event named `name` whose data matches `match` (a shallow pattern or a
   * predicate). With `since`, events already buffered from that cursor on count too.
   */
  waitForEvent<K extends QmpEventName>(
    name: K,
    match?: Partial<QmpEventMap[K]> | ((event: TypedEvent<K>) => boolean),
    options?: EventWaitOptions,
  ): Promise<TypedEvent<K>>;
  waitForEvent(name: string, match?: Record<string, unknown> | ((event: QmpEvent) => boolean), options?: EventWaitOptions): Promise<QmpEvent>;
  waitForEvent(name: string, match?: Record<string, unknown> | ((event: QmpEvent) => boolean), options: EventWaitOptions = {}): Promise<QmpEvent> {
    return this.hub.waitFor(name, match, options);
  }

  /**
   * An async iterator of events matching `filter`, listening from the moment it is created.
   * It ends when the client is closed by us or return() is called (a for-await's break); it throws
   * AbortedError when the signal fires and ConnectionClosedError when the connection is lost (each
   * after the events already queued).
   */
  events<K extends QmpEventName>(options: EventStreamOptions & { names: readonly K[] }): AsyncIterableIterator<KnownQmpEvent<K>>;
  events(options?: EventStreamOptions): AsyncIterableIterator<QmpEvent>;
  events(options: EventStreamOptions = {}): AsyncIterableIterator<QmpEvent> {
    return this.hub.stream(options);
  }

  /** Closes the connection. Pending commands are rejected with ConnectionClosedError. */
  async close(): Promise<void> {
    if (this.stateValue === ConnectionState.Closed) return;
    if (this.stateValue !== ConnectionState.Closing) {
      this.stateValue = ConnectionState.Closing;
      await this.transport.close();
    }
    await this.closedPromise;
  }

  /** Resolves when the connection has closed, for whatever reason. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  // ------------------------------------------------------------------ internals

  private stateErrorFor(command: string): QmpError {
    if (this.stateValue === ConnectionState.Closed || this.stateValue === ConnectionState.Closing) {
      return new CommandNotSentError(`cannot execute ${command}: connection to ${this.peer} is ${this.stateValue}`, {
        cause: this.closeReason,
      });
    }
    return new StateError(`cannot execute ${command}: connection is in state ${this.stateValue}`);
  }

  private send(name: string, args: Record<string, unknown> | undefined, options: CommandOptions, verb: 'execute' | 'exec-oob' = 'execute'): Promise<unknown> {
    const id = this.nextId++;
    // Serialised by hand: one JSON.stringify of a whole message object fewer per command on the hot path.
    const line = `{"${verb}":${JSON.stringify(name)}${args === undefined ? '' : `,"arguments":${JSON.stringify(args)}`},"id":${id}}\n`;
    if (options.timeoutMs === undefined && options.signal === undefined) {
      // Hot path (most commands): no timer of its own, no abort listener; the default timeout is one
      // shared deadline check (CommandDeadlines), so cleanup is two map deletions.
      return new Promise((resolve, reject) => {
        this.pending.add(id, { command: name, args, resolve, reject }, true);
        this.write(id, verb, name, args, line, reject);
      });
    }
    const timeoutMs = options.timeoutMs ?? this.pending.timeoutMs;
    return boundedWait<unknown>(`${name} on ${this.peer}`, { timeoutMs, signal: options.signal }, (resolve, reject) => {
      this.pending.add(id, { command: name, args, resolve, reject }, false);
      this.write(id, verb, name, args, line, reject);
      // Still pending here means we gave up (timeout/abort): its late reply is dropped quietly.
      return () => this.pending.abandon(id);
    });
  }

  private write(
    id: number,
    verb: 'execute' | 'exec-oob',
    name: string,
    args: Record<string, unknown> | undefined,
    line: string,
    reject: (error: Error) => void,
  ): void {
    try {
      if (this.traffic) this.traffic('out', args === undefined ? { [verb]: name, id } : { [verb]: name, arguments: args, id });
      if (debug.enabled) debug('%s <- %s', this.peer, line.trimEnd());
      this.transport.write(line);
    } catch (error) {
      this.pending.drop(id);
      reject(new CommandNotSentError(`cannot send ${name} to ${this.peer}`, { cause: error }));
    }
  }

  private onData(chunk: Buffer | QmpMessage): void {
    try {
      if (Buffer.isBuffer(chunk)) this.framer.push(chunk, (message) => this.dispatch(message));
      else this.dispatch(chunk);
    } catch (error) {
      const protocolError = error instanceof QmpError ? error : new ProtocolError(String(error), { cause: error });
      this.fatal(this.greetingValue ? protocolError : beforeGreeting(protocolError));
    }
  }

  private fatal(error: QmpError): void {
    this.closeReason ??= error;
    this.transport.destroy(error);
  }

  private dispatch(message: QmpMessage): void {
    if (debug.enabled) debug('%s -> %j', this.peer, message);
    this.traffic?.('in', message);
    if ('event' in message) {
      this.onEvent(message);
      return;
    }
    if (!this.greetingValue && !('QMP' in message)) {
      this.fatal(unexpectedFirstMessage(message));
      return;
    }
    if ('return' in message || 'error' in message) {
      this.onReply(message);
      return;
    }
    if ('QMP' in message) {
      this.onGreeting(message);
      return;
    }
    this.emit('warning', new ProtocolError(`dropped a message that is not QMP: ${JSON.stringify(message).slice(0, 200)}`));
  }

  private onGreeting(message: QmpMessage): void {
    if (!isGreeting(message)) {
      this.fatal(new ProtocolError(`malformed QMP greeting: ${JSON.stringify(message).slice(0, 200)}`));
      return;
    }
    if (this.greetingValue) {
      this.emit('warning', new ProtocolError('dropped a second QMP greeting'));
      return;
    }
    this.greetingValue = message;
    this.framer.limit = this.maxMessageBytes;
    this.greetingWaiter?.(this.greetingValue);
  }

  private onEvent(message: QmpMessage): void {
    const event = toEvent(message);
    if (!event) {
      this.emit('warning', new ProtocolError(`dropped an event without a name: ${JSON.stringify(message).slice(0, 200)}`));
      return;
    }
    this.hub.deliver(event);
    this.emit('event', event);
  }

  private onReply(message: QmpMessage): void {
    const id = message.id;
    if (id === undefined) {
      // QEMU answers without an id only when it could not parse what we sent: the stream is out of step.
      const error = message.error as { class?: string; desc?: string } | undefined;
      this.fatal(new ProtocolError(`QEMU replied without an id${error ? `: ${error.class}: ${error.desc}` : ''}`));
      return;
    }
    const key = typeof id === 'number' ? id : NaN;
    const pending = this.pending.take(key);
    if (pending === undefined) this.emit('warning', new ProtocolError(`dropped a reply with unknown id ${JSON.stringify(id)}`));
    if (pending === undefined || pending === 'abandoned') return;
    if ('error' in message) {
      const error = (message.error ?? {}) as { class?: unknown; desc?: unknown };
      pending.reject(
        new QmpCommandError(
          pending.command,
          pending.args,
          typeof error.class === 'string' ? error.class : 'GenericError',
          typeof error.desc === 'string' ? error.desc : JSON.stringify(error),
        ),
      );
    } else {
      pending.resolve(message.return);
    }
  }

  /** Gives the open connection up (nothing in flight) with QEMU's bytes not handled yet, for src/share/keeper.ts; this client closes, the connection does not. */
  release(): { socket: unknown; unread: Buffer; greeting: QmpGreeting } {
    const { greetingValue: greeting, transport } = this;
    const why =
      this.stateValue !== ConnectionState.Running || !greeting
        ? `it is ${this.stateValue}`
        : this.pending.size
          ? `${this.pending.size} commands in flight`
          : transport.release
            ? undefined
            : 'its transport is no socket';
    if (why !== undefined || !greeting || !transport.release) throw new StateError(`cannot hand over the connection to ${this.peer}: ${why}`);
    const { socket, unread } = transport.release();
    const rest = Buffer.concat([this.framer.takePending(), unread]);
    this.stateValue = ConnectionState.Closing;
    this.onTransportClose(undefined);
    return { socket, unread: rest, greeting };
  }

  private onTransportClose(error: Error | undefined): void {
    if (this.stateValue === ConnectionState.Closed) return;
    const byUs = this.stateValue === ConnectionState.Closing && this.closeReason === undefined && error === undefined;
    const reason = this.closeReason ?? error;
    this.closeReason = reason;
    this.stateValue = ConnectionState.Closed;
    this.framer.reset();
    const closed = (what: string): ConnectionClosedError =>
      new ConnectionClosedError(
        reason ? `connection to ${this.peer} lost during ${what}: ${reason.message}` : `connection to ${this.peer} closed during ${what}`,
        { cause: reason },
      );
    this.pending.rejectAll(closed);
    this.hub.close(byUs, reason, closed('an event stream'));
    this.emit('close', byUs ? undefined : (reason ?? new ConnectionClosedError(`${this.peer} closed the connection`)));
    this.resolveClosed();
  }
}
