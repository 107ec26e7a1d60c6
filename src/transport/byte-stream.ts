import { lstatSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { ConnectError, QmpError } from '../errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './transport.js';
import { describeAddress, type SocketAddress } from './socket.js';
import { setLongTimeout } from '../util/timers.js';
import { noteOwnEpipe } from '../util/own-epipe.js';
import { stopReading } from './socket.js';

/**
 * A raw, byte-exact socket for the QMP mock server and the recorder (mock-qmp/): they must
 * forward and emit bytes exactly, which the string-based Transport does not promise.
 */
export interface ByteStreamHandlers {
  onData(chunk: Buffer): void;
  /**
   * The peer half-closed (sent all it will send): the handler ends the stream when it has answered.
   * Without this handler the stream is ended at once.
   */
  onEnd?(): void;
  /** Once, when the stream is gone; `error` when it ended abnormally. */
  onClose(error?: Error): void;
}

export class ByteStream {
  readonly peer: string;
  private readonly socket: net.Socket;
  private handlers: ByteStreamHandlers | undefined;
  private readonly early: Buffer[] = [];
  private closeError: Error | undefined;
  private isClosed = false;
  private ended = false;

  constructor(socket: net.Socket, peer: string) {
    this.socket = socket;
    this.peer = peer;
    socket.setNoDelay?.(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.handlers) this.handlers.onData(chunk);
      else this.early.push(chunk);
    });
    // Servers listen with allowHalfOpen, so that a client's last command is answered after its EOF.
    socket.once('end', () => {
      this.ended = true;
      if (this.handlers) this.peerEnded();
    });
    socket.on('error', (error) => {
      noteOwnEpipe(error);
      this.closeError ??= error;
    });
    socket.once('close', () => {
      this.isClosed = true;
      this.handlers?.onClose(this.closeError);
    });
  }

  get closed(): boolean {
    return this.isClosed || this.socket.destroyed;
  }

  /** Starts delivering data; what arrived before is delivered first. */
  start(handlers: ByteStreamHandlers): void {
    this.handlers = handlers;
    for (const chunk of this.early.splice(0)) handlers.onData(chunk);
    if (this.ended && !this.isClosed) this.peerEnded();
    if (this.isClosed) handlers.onClose(this.closeError);
  }

  private peerEnded(): void {
    if (this.handlers?.onEnd) this.handlers.onEnd();
    else this.socket.end();
  }

  /** Writes bytes; resolves when they were handed to the OS (false if the stream is closed). */
  write(data: Uint8Array | string): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => this.socket.write(data, (error) => resolve(!error)));
  }

  /** Writes without a promise (the hot path of a shared connection); `done` runs once the OS has the bytes. */
  send(data: string, done: () => void): void {
    if (this.closed) return done();
    this.socket.write(data, done);
  }

  /** Bytes written and not yet handed to the OS. */
  get unsent(): number {
    return this.socket.writableLength;
  }

  /**
   * Stops reading at once and gives the socket up, with the bytes read and not delivered, for another
   * process to go on with (src/share/keeper.ts): this stream delivers nothing afterwards.
   */
  release(): { socket: net.Socket; unread: Buffer; ended: boolean } {
    const unread = Buffer.concat([...this.early.splice(0), stopReading(this.socket)]);
    this.handlers = { onData: () => undefined, onEnd: () => undefined, onClose: () => undefined };
    return { socket: this.socket, unread, ended: this.ended };
  }

  /** Stops reading (the peer's writes then block in its kernel buffer: backpressure). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Half-closes after pending writes. */
  end(): void {
    if (!this.closed) this.socket.end();
  }

  destroy(error?: Error): void {
    if (error) this.closeError ??= error;
    this.socket.destroy();
  }
}

export interface StreamListener {
  /** The bound address (for TCP port 0, the port the OS chose). */
  readonly address: SocketAddress;
  /** Stops listening and destroys every open connection (`keepConnections`: leaves them open). */
  close(options?: { keepConnections?: boolean }): Promise<void>;
}

/** A server cannot listen where it was told; says where and why. */
export class ListenError extends QmpError {
  readonly address: string;
  readonly reason: string;
  constructor(address: string, reason: string, options?: { cause?: unknown }) {
    super(`cannot listen on ${address}: ${reason}`, options);
    this.address = address;
    this.reason = reason;
  }
}

/**
 * Makes room for a UNIX socket at `path`: removes a stale socket (one nobody listens on, left by a
 * server that died), and refuses anything else — a regular file, a directory, a link, a live socket.
 */
async function clearStaleSocket(path: string): Promise<void> {
  let stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ListenError(`unix:${path}`, (error as Error).message, { cause: error });
  }
  if (!stats.isSocket()) {
    const kind = stats.isFile() ? 'a regular file' : stats.isDirectory() ? 'a directory' : stats.isSymbolicLink() ? 'a symbolic link' : 'not a socket';
    throw new ListenError(`unix:${path}`, `${path} exists and is ${kind}; refusing to remove it`);
  }
  const listening = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (listening) throw new ListenError(`unix:${path}`, 'another process is listening on it');
  unlinkSync(path);
}

/** Listens on a UNIX socket path (replacing a stale socket, nothing else) or TCP host:port. */
export async function listenStreams(address: SocketAddress, onConnection: (stream: ByteStream) => void): Promise<StreamListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    onConnection(new ByteStream(socket, `client of ${describeAddress(address)}`));
  });
  if ('path' in address) await clearStaleSocket(address.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if ('path' in address) server.listen(address.path, resolve);
    else server.listen(address.port, address.host, resolve);
  });
  const bound = server.address();
  const actual: SocketAddress = 'path' in address ? address : { host: address.host, port: typeof bound === 'object' && bound ? bound.port : address.port };
  return {
    address: actual,
    close: (options = {}) =>
      new Promise<void>((resolve) => {
        if (!options.keepConnections) for (const socket of sockets) socket.destroy();
        // Kept connections may stay open long after: listening has stopped, which is what is waited for.
        server.close(options.keepConnections ? undefined : () => resolve());
        if (options.keepConnections) resolve();
      }),
  };
}

/** Connects once (no retries: the recorder's upstream QEMU is already listening). */
export function connectStream(address: SocketAddress, timeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Promise<ByteStream> {
  const peer = describeAddress(address);
  return new Promise((resolve, reject) => {
    const socket = net.connect(address);
    const timer = setLongTimeout(() => {
      socket.destroy();
      reject(new ConnectError(peer, `no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      timer.clear();
      socket.removeAllListeners('error');
      resolve(new ByteStream(socket, peer));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      timer.clear();
      socket.destroy();
      reject(new ConnectError(peer, `${error.code ?? ''} ${error.message}`.trim(), { cause: error }));
    });
  });
}
