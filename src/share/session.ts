/*
 * One client of a shared monitor, answered as QEMU answers: greeted with the upstream QEMU's own
 * version, in capabilities-negotiation mode until qmp_capabilities, then every command forwarded
 * through the one upstream connection with the client's own id put back on the reply (as libvirt
 * swaps its ids), and every upstream event delivered.
 */
import type { QmpMessage } from '../framing.js';
import { ProtocolError, QmpCommandError } from '../errors.js';
import type { QmpClient } from '../protocol/client.js';
import { jsonDialectOf, type JsonStreamState } from '../json-stream.js';
import { QmpInputReader, type QmpRefusal, type QmpRequest } from '../protocol/request.js';
import type { QmpEvent } from '../qapi/types.js';
import type { ByteStream } from '../transport/byte-stream.js';

/** A client that falls this far behind reading (bytes queued towards it) is dropped, not buffered without bound. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

/** The one upstream connection, which a share may replace (see ShareServer's `reconnect`). */
export interface Upstream {
  /** The connection now (its greeting, whether it has OOB). */
  readonly client: QmpClient;
  /** The connection to send on: waits while the share is connecting again. */
  ready(): Promise<QmpClient>;
}

export interface SessionHooks {
  /** A command goes upstream / its answer is back (the server counts what is in flight). */
  started(): void;
  finished(): void;
  /** A command was answered and its answer handed to the OS, or the client went (the server waits for idle clients). */
  settled?(): void;
  /** A command the monitor accepted (the share keeps track of the jobs its clients started). */
  ran?(command: string, args: Record<string, unknown> | undefined): void;
  /** The client left; `error` when it was dropped for what it sent. */
  closed(session: ClientSession, error?: Error): void;
  /** Sees the client's traffic (for --trace): direction as the client sees it. */
  traffic?: (direction: 'in' | 'out', message: QmpMessage) => void;
}

/** What another process needs to go on serving a client (src/share/keeper.ts). */
export interface SessionState {
  negotiated: boolean;
  oob: boolean;
  /** Input not complete yet, and whether the reader was skipping bad input. */
  unfinished: JsonStreamState;
  /** The client sent EOF: answer what is left, then end. */
  ended: boolean;
}

export class ClientSession {
  private negotiated = false;
  private oob = false;
  private queuedBytes = 0;
  /** Commands of this client not answered yet; after the client's EOF the session ends when none is left. */
  private inFlight = 0;
  private inputEnded = false;
  private order: Promise<void> = Promise.resolve();
  private negotiation: Promise<void> = Promise.resolve();
  // QEMU's own reading of client input (values with or without newlines, its errors, its limits).
  private readonly input: QmpInputReader;
  private gone = false;
  /** Set when the session is being handed to another process: input read since waits there. */
  private frozen: { socket: unknown; unread: Buffer; ended: boolean } | undefined;

  /** `adopted`: a client another process served until now (greeted, perhaps negotiated, perhaps mid-value). */
  constructor(
    private readonly stream: ByteStream,
    private readonly upstream: Upstream,
    private readonly hooks: SessionHooks,
    adopted?: SessionState,
  ) {
    if (adopted) {
      this.negotiated = adopted.negotiated;
      this.oob = adopted.oob;
      this.inputEnded = adopted.ended;
    }
    // QEMU's own reading, in the dialect of the QEMU behind the share (its greeting says which).
    const dialect = jsonDialectOf(upstream.client.greeting.QMP.version.qemu);
    this.input = new QmpInputReader(
      (request) => void this.handle(request),
      () => this.oob,
      { dialect, ...(adopted ? { from: adopted.unfinished } : {}) },
    );
    stream.start({
      onData: (chunk) => this.input.push(chunk),
      // As QEMU: what the client sent before its EOF is answered, then the connection ends.
      onEnd: () => {
        this.inputEnded = true;
        this.endIfDone();
      },
      onClose: (error) => this.close(error),
    });
    if (adopted) {
      this.endIfDone();
      return;
    }
    const { version, capabilities } = upstream.client.greeting.QMP;
    // OOB only where the upstream connection has it: we cannot pass on what we did not negotiate.
    this.send({ QMP: { version, capabilities: upstream.client.oob ? capabilities : [] } });
  }

  /** Stops reading this client (what it sends waits in the socket); answers in flight still go out. */
  freeze(): void {
    this.frozen ??= this.stream.release();
  }

  /** Nothing of this client in flight and every answer handed to the OS. */
  get idle(): boolean {
    return this.inFlight === 0 && this.queuedBytes === 0 && this.stream.unsent === 0;
  }

  /** A frozen, idle session's socket and state, for another process; this session is done. */
  release(): { socket: unknown; state: SessionState } {
    if (!this.frozen) throw new Error('release() before freeze()');
    const reading = this.input.unfinished();
    const state: SessionState = {
      negotiated: this.negotiated,
      oob: this.oob,
      unfinished: { ...reading, bytes: Buffer.concat([reading.bytes, this.frozen.unread]) },
      ended: this.inputEnded || this.frozen.ended,
    };
    this.gone = true;
    this.hooks.closed(this);
    return { socket: this.frozen.socket, state };
  }

  /** An upstream event, for negotiated clients (QEMU sends none before qmp_capabilities). */
  event(event: QmpEvent): void {
    if (this.negotiated) this.send(event as unknown as QmpMessage);
  }

  /** Ends the session: the client sees the connection close. */
  close(error?: Error): void {
    if (this.gone) return;
    this.gone = true;
    this.stream.destroy(error);
    this.hooks.closed(this, error);
  }

  private endIfDone(): void {
    if (this.inputEnded && this.inFlight === 0) this.stream.end();
  }

  /** Answers go out in the order the requests came, as QEMU's monitor answers them (no OOB here). */
  private handle(request: QmpRequest | QmpRefusal): void {
    this.inFlight++;
    const answer = this.answer(request);
    this.order = this.order.then(async () => {
      // Nothing a request does may stop the answers behind it.
      this.send(
        await answer.catch((error: unknown) => ({
          error: { class: 'GenericError', desc: `the shared connection failed on this command: ${(error as Error).message}` },
        })),
      );
      this.inFlight--;
      this.endIfDone();
      this.hooks.settled?.();
    });
  }

  private async answer(request: QmpRequest | QmpRefusal): Promise<QmpMessage> {
    if ('refusal' in request) {
      if (request.message) this.hooks.traffic?.('out', request.message);
      return request.refusal;
    }
    const { message, command } = request;
    const args = request.arguments;
    this.hooks.traffic?.('out', message);
    const id = request.hasId ? { id: request.id } : {};
    const refuse = (cls: string, desc: string): QmpMessage => ({ ...id, error: { class: cls, desc } });
    if (command === 'qmp_capabilities') {
      const previous = this.negotiation;
      const answer = previous.then(() => this.capabilities(args, refuse, id));
      this.negotiation = answer.then(() => undefined);
      return answer;
    }
    // A command right behind qmp_capabilities waits for it, as QEMU runs them one after the other.
    await this.negotiation;
    if (!this.negotiated) return refuse('CommandNotFound', "Expecting capabilities negotiation with 'qmp_capabilities'");
    this.hooks.started();
    try {
      const value = await (await this.upstream.ready()).executeUntyped(command, args, { timeoutMs: Infinity });
      this.hooks.ran?.(command, args);
      return { return: value ?? {}, ...id };
    } catch (error) {
      if (error instanceof QmpCommandError) return refuse(error.errorClass, error.desc);
      return refuse('GenericError', `the shared connection could not pass the command on: ${(error as Error).message}`);
    } finally {
      this.hooks.finished();
    }
  }

  private async capabilities(
    args: Record<string, unknown> | undefined,
    refuse: (cls: string, desc: string) => QmpMessage,
    id: { id?: unknown },
  ): Promise<QmpMessage> {
    if (this.negotiated) return refuse('CommandNotFound', 'Capabilities negotiation is already complete, command ignored');
    if (args !== undefined) {
      // QEMU checks the arguments (an unknown capability, a wrong type) before it sees it is negotiated
      // already: asking it gives this client QEMU's own words for what is wrong with them.
      const check = await (await this.upstream.ready()).execute('qmp_capabilities', args as never, { timeoutMs: Infinity }).then(
        () => undefined,
        (error: unknown) => error,
      );
      if (check instanceof QmpCommandError && check.errorClass !== 'CommandNotFound') return refuse(check.errorClass, check.desc);
    }
    const enable = (args?.enable ?? []) as unknown[];
    const oob = this.upstream.client.oob;
    if (enable.some((c) => c !== 'oob' || !oob)) return refuse('GenericError', `Capability '${String(enable.find((c) => c !== 'oob' || !oob))}' not available`);
    this.negotiated = true;
    this.oob = enable.length > 0;
    return { return: {}, ...id };
  }

  private send(message: QmpMessage): void {
    if (this.gone || this.stream.closed) return;
    this.hooks.traffic?.('in', message);
    const line = `${JSON.stringify(message)}\r\n`;
    this.queuedBytes += line.length;
    if (this.queuedBytes > MAX_QUEUED_BYTES) {
      this.close(new ProtocolError(`a client of the shared monitor fell ${MAX_QUEUED_BYTES} bytes behind reading`));
      return;
    }
    this.stream.send(line, () => {
      this.queuedBytes -= line.length;
      this.hooks.settled?.();
    });
  }
}
