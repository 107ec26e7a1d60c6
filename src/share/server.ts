/*
 * One QMP connection, many clients: a server on a UNIX socket (or TCP) that greets each client as
 * QEMU would and passes its commands through the one upstream connection (QEMU's monitor serves
 * one client at a time). Used by every qmp-blockjob command that holds a monitor (automatically,
 * on a private rendezvous socket) and by `qmp-blockjob share --listen` for any QMP tool.
 */
import { chmodSync } from 'node:fs';
import type { QmpClient } from '../protocol/client.js';
import type { QmpEvent } from '../qapi/types.js';
import { listenStreams, type StreamListener } from '../transport/byte-stream.js';
import type { SocketAddress } from '../transport/socket.js';
import { boundedWait } from '../util/wait.js';
import { ClientSession, type SessionHooks, type Upstream } from './session.js';

export interface ShareOptions {
  /** Where to listen. A UNIX socket is made mode 0600: only its owner (and root) may connect. */
  listen: SocketAddress;
  /** Sees each client's traffic: `client` numbers them from 1. */
  traffic?: (client: number, direction: 'in' | 'out', message: Record<string, unknown>) => void;
  /**
   * When the upstream connection closes: a new one to go on with (clients keep their connections;
   * a command in flight at that moment fails), or undefined to stop sharing. Without it, sharing
   * stops when the upstream connection closes.
   */
  reconnect?: () => Promise<QmpClient | undefined>;
}

export class ShareServer implements Upstream {
  private reconnecting: Promise<QmpClient | undefined> | undefined;
  private markClosed: () => void = () => {};
  /** Resolves once sharing stops (close() was called, or the upstream went and was not replaced). */
  readonly closed = new Promise<void>((resolve) => { this.markClosed = resolve; });
  private readonly sessions = new Set<ClientSession>();
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private clientCount = 0;
  private closing = false;

  private constructor(
    private upstream: QmpClient,
    private readonly listener: StreamListener,
    private readonly options: ShareOptions,
  ) {
    this.attach(upstream);
  }

  get client(): QmpClient {
    return this.upstream;
  }

  async ready(): Promise<QmpClient> {
    return (await this.reconnecting) ?? this.upstream;
  }

  private attach(upstream: QmpClient): void {
    this.upstream = upstream;
    upstream.on('event', (event: QmpEvent) => this.broadcast(event));
    upstream.once('close', () => void this.lost());
  }

  /** The upstream connection closed: go on with a new one where the caller gives one, else stop. */
  private async lost(): Promise<void> {
    if (this.closing) return;
    const reconnect = this.options.reconnect;
    if (!reconnect) return void this.close();
    this.reconnecting = reconnect().catch(() => undefined);
    const next = await this.reconnecting;
    this.reconnecting = undefined;
    if (next && !this.closing) this.attach(next);
    else void this.close();
  }

  /** Starts serving `upstream` (a connected, negotiated client) at `options.listen`. */
  static async start(upstream: QmpClient, options: ShareOptions): Promise<ShareServer> {
    let server: ShareServer | undefined;
    const pending: Array<Parameters<Parameters<typeof listenStreams>[1]>[0]> = [];
    const listener = await listenStreams(options.listen, (stream) => {
      if (server) server.accept(stream, options);
      else pending.push(stream);
    });
    if ('path' in options.listen) chmodSync(options.listen.path, 0o600);
    server = new ShareServer(upstream, listener, options);
    for (const stream of pending) server.accept(stream, options);
    return server;
  }

  get address(): SocketAddress {
    return this.listener.address;
  }

  /** Clients connected now. */
  get clients(): number {
    return this.sessions.size;
  }

  /**
   * Stops accepting, waits (bounded by `graceMs`) for the commands clients have in flight, then
   * closes every client connection: they see it close, as when QEMU's monitor goes.
   */
  async close(graceMs = 30_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.markClosed();
    if (this.inFlight > 0) {
      await boundedWait<void>('waiting for shared-connection clients\' commands', { timeoutMs: graceMs }, (resolve) => {
        this.idleWaiters.push(resolve);
        return () => { this.idleWaiters = this.idleWaiters.filter((w) => w !== resolve); };
      }).catch(() => undefined);
    }
    for (const session of [...this.sessions]) session.close();
    await this.listener.close();
  }

  private accept(stream: Parameters<Parameters<typeof listenStreams>[1]>[0], options: ShareOptions): void {
    if (this.closing) {
      stream.destroy();
      return;
    }
    const n = ++this.clientCount;
    const hooks: SessionHooks = {
      started: () => { this.inFlight++; },
      finished: () => {
        this.inFlight--;
        if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
      },
      closed: (session) => { this.sessions.delete(session); },
      ...(options.traffic ? { traffic: (direction: 'in' | 'out', message: Record<string, unknown>) => options.traffic?.(n, direction, message) } : {}),
    };
    this.sessions.add(new ClientSession(stream, this, hooks));
  }

  private broadcast(event: QmpEvent): void {
    for (const session of this.sessions) session.event(event);
  }
}
