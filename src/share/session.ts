/*
 * One client of a shared monitor, answered as QEMU answers: greeted with the upstream QEMU's own
 * version, in capabilities-negotiation mode until qmp_capabilities, then every command forwarded
 * through the one upstream connection with the client's own id put back on the reply (as libvirt
 * swaps its ids), and every upstream event delivered.
 */
import { LineFramer, type QmpMessage } from '../framing.js';
import { ProtocolError, QmpCommandError } from '../errors.js';
import type { QmpClient } from '../protocol/client.js';
import type { QmpEvent } from '../qapi/types.js';
import type { ByteStream } from '../transport/byte-stream.js';
import { isJsonObject } from '../util/json.js';

/** A client that falls this far behind reading (bytes queued towards it) is dropped, not buffered without bound. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;
/** The largest command a client may send. */
const MAX_COMMAND_BYTES = 1024 * 1024;

export interface SessionHooks {
  /** A command goes upstream / its answer is back (the server counts what is in flight). */
  started(): void;
  finished(): void;
  /** The client left; `error` when it was dropped for what it sent. */
  closed(session: ClientSession, error?: Error): void;
  /** Sees the client's traffic (for --trace): direction as the client sees it. */
  traffic?: (direction: 'in' | 'out', message: QmpMessage) => void;
}

export class ClientSession {
  private negotiated = false;
  private queuedBytes = 0;
  private readonly framer = new LineFramer(MAX_COMMAND_BYTES);
  private gone = false;

  constructor(
    private readonly stream: ByteStream,
    private readonly upstream: QmpClient,
    private readonly hooks: SessionHooks,
  ) {
    stream.start({
      onData: (chunk) => this.onData(chunk),
      onClose: (error) => this.close(error),
    });
    const { version, capabilities } = upstream.greeting.QMP;
    // OOB only where the upstream connection has it: we cannot pass on what we did not negotiate.
    this.send({ QMP: { version, capabilities: upstream.oob ? capabilities : [] } });
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

  private onData(chunk: Buffer): void {
    try {
      this.framer.push(chunk, (message) => void this.handle(message));
    } catch (error) {
      // QEMU answers input it cannot parse with an id-less error; a broken stream cannot be resynchronised.
      this.send({ error: { class: 'GenericError', desc: error instanceof ProtocolError ? `JSON parse error, ${error.message}` : 'JSON parse error' } });
      this.stream.end();
      this.close(error instanceof Error ? error : undefined);
    }
  }

  private async handle(message: QmpMessage): Promise<void> {
    this.hooks.traffic?.('out', message);
    const id = 'id' in message ? { id: message.id } : {};
    const refuse = (cls: string, desc: string): void => this.send({ error: { class: cls, desc }, ...id });
    const command = message.execute ?? message['exec-oob'];
    if (typeof command !== 'string') return refuse('GenericError', "QMP input lacks member 'execute'");
    const args = message.arguments;
    if (args !== undefined && !isJsonObject(args)) return refuse('GenericError', "QMP input member 'arguments' must be an object");
    if (command === 'qmp_capabilities') {
      if (this.negotiated) return refuse('CommandNotFound', 'Capabilities negotiation is already complete, command ignored');
      const enable = (args?.enable ?? []) as unknown[];
      if (enable.some((c) => c !== 'oob' || !this.upstream.oob)) return refuse('GenericError', `Capability '${String(enable.find((c) => c !== 'oob' || !this.upstream.oob))}' not available`);
      this.negotiated = true;
      return this.send({ return: {}, ...id });
    }
    if (!this.negotiated) return refuse('CommandNotFound', "Expecting capabilities negotiation with 'qmp_capabilities'");
    this.hooks.started();
    try {
      const value = await this.upstream.execute(command as 'query-status', args as never, { timeoutMs: Infinity });
      this.send({ return: value ?? {}, ...id });
    } catch (error) {
      if (error instanceof QmpCommandError) refuse(error.errorClass, error.desc);
      else refuse('GenericError', `the shared connection could not pass the command on: ${(error as Error).message}`);
    } finally {
      this.hooks.finished();
    }
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
    this.stream.send(line, () => { this.queuedBytes -= line.length; });
  }
}
