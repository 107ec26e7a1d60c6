import { statSync } from 'node:fs';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { AbortedError, ConnectError, QmpTimeoutError, StateError } from '../errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, type ConnectOptions, type Transport, type TransportHandlers } from './transport.js';
import { setLongTimeout, timeoutSignal } from '../util/timers.js';

export type SocketAddress = { path: string } | { host: string; port: number };

export function describeAddress(address: SocketAddress): string {
  return 'path' in address ? `unix:${address.path}` : `tcp:${address.host}:${address.port}`;
}

/** Errors that mean "QEMU is not listening yet": worth another try until the deadline. */
const RETRYABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EAGAIN']);

const retryable = (error: unknown): boolean => !(error instanceof ConnectError) && RETRYABLE.has((error as NodeJS.ErrnoException).code ?? '');

/**
 * connect(2) on a path that is no socket says ECONNREFUSED, which would be retried until the deadline
 * as "QEMU still starting". A path that exists and is not a socket never will be one: say so at once.
 */
function notASocket(address: SocketAddress, error: unknown): ConnectError | undefined {
  if (!('path' in address) || (error as NodeJS.ErrnoException).code !== 'ECONNREFUSED') return undefined;
  let stats;
  try {
    stats = statSync(address.path); // a symbolic link to a socket is fine: connect follows it
  } catch {
    return undefined;
  }
  if (stats.isSocket()) return undefined;
  const kind = stats.isDirectory() ? 'a directory' : stats.isFile() ? 'a regular file' : 'something else';
  return new ConnectError(describeAddress(address), `ENOTSOCK: ${address.path} is ${kind}, not a socket`, { cause: error });
}

/** A UNIX or TCP socket (or any open duplex stream) carrying QMP. The only place that touches node:net on the client side. */
export class SocketTransport implements Transport {
  readonly peer: string;
  private readonly socket: Duplex;
  private handlers: TransportHandlers | undefined;
  private readonly early: Buffer[] = [];
  private closed = false;
  private closeError: Error | undefined;
  private closedPromise: Promise<void>;

  private constructor(socket: Duplex, peer: string) {
    this.socket = socket;
    this.peer = peer;
    if (socket instanceof net.Socket) socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.handlers) this.handlers.onData(chunk);
      else this.early.push(chunk);
    });
    socket.on('error', (error) => {
      this.closeError ??= error;
    });
    this.closedPromise = new Promise((resolve) => {
      socket.once('close', () => {
        this.closed = true;
        this.handlers?.onClose(this.closeError);
        resolve();
      });
    });
  }

  /**
   * Connects, retrying while the socket does not exist or refuses (QEMU still starting). A path that
   * exists but is no socket (a regular file, a directory) fails at once, as does EACCES; a timeout
   * names the last attempt's error (ENOENT with the path, ECONNREFUSED).
   */
  static async connect(address: SocketAddress, options: ConnectOptions & { peer?: string } = {}): Promise<SocketTransport> {
    const peer = options.peer ?? describeAddress(address);
    const timeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const deadline = timeoutSignal(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    let last: unknown;
    const attempt = (): Promise<net.Socket> =>
      connectOnce(address, signal).catch((error: unknown) => {
        if (!(error instanceof AbortedError)) last = error;
        throw notASocket(address, error) ?? error;
      });
    try {
      // Most connects succeed at once; p-retry is loaded only when QEMU is not listening yet.
      const socket = await attempt().catch(async (first: unknown) => {
        if (!retryable(first)) throw first;
        const { default: pRetry } = await import('p-retry');
        return pRetry(attempt, {
          // Back off from 5 ms to 100 ms, then keep trying every 100 ms until the deadline signal fires.
          retries: 20,
          forever: true,
          minTimeout: 5,
          maxTimeout: 100,
          factor: 1.5,
          signal,
          shouldRetry: retryable,
        });
      });
      return new SocketTransport(socket, peer);
    } catch (error) {
      if (options.signal?.aborted) throw new AbortedError(`connecting to ${peer}`, { cause: options.signal.reason });
      if (deadline.aborted) {
        const why = last instanceof Error ? ` (last attempt: ${last.message})` : '';
        throw new ConnectError(peer, `no QMP monitor answered within ${timeoutMs} ms${why}`, {
          cause: new QmpTimeoutError(`connect to ${peer}`, timeoutMs, { cause: last ?? error }),
        });
      }
      if (error instanceof ConnectError) throw error;
      const code = (error as NodeJS.ErrnoException).code;
      throw new ConnectError(
        peer,
        code && !(error as Error).message.includes(code) ? `${code}: ${(error as Error).message}` : ((error as Error).message ?? String(error)),
        { cause: error },
      );
    }
  }

  /**
   * A socket or duplex stream the caller opened (a net.Socket, a TLS or SSH channel, one end of a
   * pair in a test): QMP is spoken over it from its current position; closing the client ends it.
   */
  static fromStream(stream: Duplex, peer?: string): SocketTransport {
    const address =
      stream instanceof net.Socket ? (stream.remoteAddress ?? (stream.remotePort === undefined ? undefined : String(stream.remotePort))) : undefined;
    return new SocketTransport(stream, peer ?? `an open ${stream instanceof net.Socket ? 'socket' : 'stream'}${address ? ` (${address})` : ''}`);
  }

  /**
   * A socket another process handed over (src/share/keeper.ts), with the bytes that process had read
   * and not used yet: they are delivered first.
   */
  static adopt(socket: net.Socket, peer: string, unread: Buffer): SocketTransport {
    const transport = new SocketTransport(socket, peer);
    if (unread.length) transport.early.push(unread);
    return transport;
  }

  /**
   * Stops reading at once and gives the socket up, with what was read and not delivered yet, so that
   * another process can go on with it and no byte is lost: after this the transport delivers nothing.
   */
  release(): { socket: net.Socket; unread: Buffer } {
    if (!(this.socket instanceof net.Socket)) throw new StateError(`cannot hand over ${this.peer}: only a net.Socket can be passed to another process`);
    this.handlers = undefined;
    const unread = stopReading(this.socket);
    return { socket: this.socket, unread: Buffer.concat([...this.early.splice(0), unread]) };
  }

  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
    for (const chunk of this.early.splice(0)) handlers.onData(chunk);
    if (this.closed) handlers.onClose(this.closeError);
  }

  write(data: string): void {
    if (this.closed || this.socket.destroyed) throw new Error(`${this.peer} is closed`);
    this.socket.write(data);
  }

  close(): Promise<void> {
    if (!this.closed) this.socket.end();
    // A peer that never closes its side must not keep us waiting forever.
    const force = setLongTimeout(() => this.socket.destroy(), 1000).unref();
    return this.closedPromise.finally(() => force.clear());
  }

  destroy(error?: Error): void {
    if (error) this.closeError ??= error;
    this.socket.destroy();
  }
}

/**
 * Stops the socket's reads in the kernel's buffer (libuv reads ahead even while the stream is paused)
 * and takes what node had read already: bytes that arrive later wait for whoever gets the socket.
 */
export function stopReading(socket: Duplex): Buffer {
  socket.pause();
  // read() emits 'data' too: nobody here may see these bytes but the caller.
  socket.removeAllListeners('data');
  const handle = (socket as unknown as { _handle?: { readStop?: () => number; reading?: boolean } })._handle;
  handle?.readStop?.();
  // node's _read starts reading again unless the handle says it is reading: it must not.
  if (handle) handle.reading = true;
  const chunks: Buffer[] = [];
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function connectOnce(address: SocketAddress, signal: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new AbortedError('connect'));
      return;
    }
    const socket = net.connect(address);
    const onAbort = (): void => {
      socket.destroy();
      reject(new AbortedError('connect'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(error);
    });
  });
}
