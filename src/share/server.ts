/*
 * One QMP connection, many clients: a server on a UNIX socket (or TCP) that greets each client as
 * QEMU would and passes its commands through the one upstream connection (QEMU's monitor serves
 * one client at a time). Used by every qmp-blockjob command that holds a monitor (automatically,
 * on a private rendezvous socket) and by `qmp-blockjob share --listen` for any QMP tool.
 */
import { chmodSync } from 'node:fs';
import type { QmpClient } from '../protocol/client.js';
import type { QmpEvent } from '../qapi/types.js';
import { ByteStream, listenStreams, type StreamListener } from '../transport/byte-stream.js';
import type { SocketAddress } from '../transport/socket.js';
import { boundedWait } from '../util/wait.js';
import { StartedJobs } from './jobs.js';
import { ClientSession, type SessionHooks, type SessionState, type Upstream } from './session.js';

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
  /** Events the upstream had before the share listened, from this cursor on, go to the clients first (a handed-over connection). */
  replayFrom?: number;
  /** The last client left (the keeper then looks whether a job started here still runs). */
  onNoClients?: () => void;
}

export class ShareServer implements Upstream {
  private reconnecting: Promise<QmpClient | undefined> | undefined;
  private markClosed: () => void = () => {};
  /** Resolves once sharing stops (close() was called, or the upstream went and was not replaced). */
  readonly closed = new Promise<void>((resolve) => {
    this.markClosed = resolve;
  });
  private readonly sessions = new Set<ClientSession>();
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private clientCount = 0;
  private closing = false;
  private listening: Promise<void> | undefined;
  /** Jobs the clients started (kept with the connection when it is handed over). */
  readonly jobs = new StartedJobs();

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
  static async start(upstream: QmpClient, options: ShareOptions, adopted: Array<{ stream: ByteStream; state: SessionState }> = []): Promise<ShareServer> {
    let server: ShareServer | undefined;
    const pending: Array<Parameters<Parameters<typeof listenStreams>[1]>[0]> = [];
    const listener = await listenStreams(options.listen, (stream) => {
      if (server) server.accept(stream, options);
      else pending.push(stream);
    });
    if ('path' in options.listen) chmodSync(options.listen.path, 0o600);
    server = new ShareServer(upstream, listener, options);
    for (const { stream, state } of adopted) server.accept(stream, options, state);
    for (const stream of pending) server.accept(stream, options);
    if (options.replayFrom !== undefined) for (const event of upstream.recentEvents(options.replayFrom)) server.broadcast(event);
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
      await boundedWait<void>("waiting for shared-connection clients' commands", { timeoutMs: graceMs }, (resolve) => {
        const check = (): void => {
          if (this.inFlight === 0) resolve();
        };
        this.idleWaiters.push(check);
        return () => {
          this.idleWaiters = this.idleWaiters.filter((w) => w !== check);
        };
      }).catch(() => undefined);
    }
    for (const session of [...this.sessions]) session.close();
    await this.stopListening();
    await this.listener.close();
  }

  /** Stops accepting clients; those connected stay (close() or handOver() decides about them). */
  stopListening(): Promise<void> {
    this.listening ??= this.listener.close({ keepConnections: true });
    return this.listening;
  }

  /**
   * Stops serving here so that another process can go on (src/share/keeper.ts): stops accepting and
   * reading, lets the commands in flight be answered (bounded by `graceMs`), and gives each client's
   * socket up with its state. The upstream connection is the caller's to hand over.
   */
  async handOver(graceMs = 30_000): Promise<Array<{ socket: unknown; state: SessionState }>> {
    this.closing = true;
    this.markClosed();
    await this.stopListening();
    for (const session of this.sessions) session.freeze();
    const idle = (): boolean => [...this.sessions].every((session) => session.idle);
    if (!idle()) {
      await boundedWait<void>("waiting for shared-connection clients' answers", { timeoutMs: graceMs }, (resolve) => {
        const check = (): void => {
          if (idle()) resolve();
        };
        this.idleWaiters.push(check);
        return () => {
          this.idleWaiters = this.idleWaiters.filter((w) => w !== check);
        };
      });
    }
    return [...this.sessions].map((session) => session.release());
  }

  private accept(stream: ByteStream, options: ShareOptions, adopted?: SessionState): void {
    if (this.closing) {
      stream.destroy();
      return;
    }
    const n = ++this.clientCount;
    const hooks: SessionHooks = {
      started: () => {
        this.inFlight++;
      },
      finished: () => {
        this.inFlight--;
      },
      settled: () => {
        if (this.inFlight === 0) for (const wake of [...this.idleWaiters]) wake();
      },
      ran: (command, args) => this.jobs.note(command, args),
      closed: (session) => {
        this.sessions.delete(session);
        if (this.sessions.size === 0 && !this.closing) options.onNoClients?.();
      },
      ...(options.traffic ? { traffic: (direction: 'in' | 'out', message: Record<string, unknown>) => options.traffic?.(n, direction, message) } : {}),
    };
    this.sessions.add(new ClientSession(stream, this, hooks, adopted));
  }

  /** Sends `event` to every negotiated client (events the upstream had before the share listened). */
  broadcast(event: QmpEvent): void {
    const data = event.data as { id?: unknown; status?: unknown } | undefined;
    if (event.event === 'JOB_STATUS_CHANGE') this.jobs.seen(data?.id, data?.status);
    for (const session of this.sessions) session.event(event);
  }
}
