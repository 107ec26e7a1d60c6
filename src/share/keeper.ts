/*
 * A share that outlives the command that started it. A qmp-blockjob command that holds the monitor
 * and ends while clients of its share are still connected, or while a job started through it still
 * runs, hands its open QMP connection and its clients' sockets to a detached process (this file,
 * run as `qmp-blockjob --share-keeper`) over node's IPC channel, with every byte read and not used
 * yet: QEMU's bytes (replies, events) and each client's unfinished input. Nothing is lost and no
 * command is cut off. The keeper serves the same rendezvous socket and ends when its last client and
 * the last job started through it are gone (or QEMU goes). Why this and not a share process from the
 * start: docs/design.md, "A share outlives the command that started it".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import { QmpClient } from '../protocol/client.js';
import type { QmpEvent } from '../qapi/types.js';
import { ByteStream } from '../transport/byte-stream.js';
import { SocketTransport } from '../transport/socket.js';
import type { ShareServer } from './server.js';
import type { SessionState } from './session.js';
import { setLongTimeout } from '../util/timers.js';
import type { JsonStreamState } from '../json-stream.js';

/** The argument that runs a keeper (hidden: only this file spawns it). */
export const KEEPER_ARGUMENT = '--share-keeper';

/** How long the keeper may take to take everything over; then the hand-over failed. */
const TAKE_OVER_MS = 10_000;

type KeeperMessage =
  | { kind: 'upstream'; peer: string; greeting: unknown; unread: string }
  | { kind: 'client'; state: Omit<SessionState, 'unfinished'> & { unfinished: Omit<JsonStreamState, 'bytes'> & { bytes: string } } }
  | { kind: 'go'; rendezvous: string; jobs: string[] };

/**
 * Hands the holder's connection (`client`, nothing in flight) and its share's clients to a new
 * detached keeper process (`entry`: the CLI script that runs it). Resolves once the keeper serves
 * them; this process's copies of the sockets are closed then.
 */
export async function handOverToKeeper(entry: string, client: QmpClient, share: ShareServer | undefined, rendezvous: string, jobs: string[]): Promise<void> {
  const sessions = share ? await share.handOver() : [];
  const { socket, unread, greeting } = client.release();
  const sockets = [socket as net.Socket, ...sessions.map((s) => s.socket as net.Socket)];
  const child = spawn(process.execPath, [entry, KEEPER_ARGUMENT], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  try {
    const ready = waitReady(child);
    // keepOpen: our copies stay open until the keeper says it has its own (a handle in transit is not yet anybody's).
    await sendTo(child, { kind: 'upstream', peer: client.peer, greeting, unread: unread.toString('base64') }, socket as net.Socket);
    for (const { socket: clientSocket, state } of sessions) {
      const { bytes, ...reading } = state.unfinished;
      // An accepted socket would make node track it for a cluster worker: it is the keeper's alone.
      (clientSocket as { server?: unknown }).server = null;
      await sendTo(child, { kind: 'client', state: { ...state, unfinished: { ...reading, bytes: bytes.toString('base64') } } }, clientSocket as net.Socket);
    }
    await sendTo(child, { kind: 'go', rendezvous, jobs });
    await ready;
  } catch (error) {
    child.kill();
    throw error;
  } finally {
    for (const s of sockets) s.destroy();
    if (child.connected) child.disconnect();
    child.unref();
  }
}

function sendTo(child: ChildProcess, message: KeeperMessage, handle?: net.Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    child.send(message, handle, { keepOpen: true }, (error) => (error ? reject(error) : resolve()));
  });
}

function waitReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setLongTimeout(() => reject(new Error(`the share keeper did not take over within ${TAKE_OVER_MS} ms`)), TAKE_OVER_MS);
    const done = (error?: Error): void => {
      timer.clear();
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    };
    const onMessage = (message: unknown): void => {
      if ((message as { kind?: string }).kind === 'ready') done();
      else if ((message as { kind?: string }).kind === 'failed')
        done(new Error(`the share keeper could not take over: ${(message as { error?: string }).error}`));
    };
    const onExit = (code: number | null): void => done(new Error(`the share keeper exited (${code}) before taking over`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/** The keeper process: takes the connection over, serves it, ends with its last client and job. */
export function runShareKeeper(): void {
  let upstream: { socket: net.Socket; peer: string; greeting: unknown; unread: Buffer } | undefined;
  const clients: Array<{ stream: ByteStream; state: SessionState }> = [];
  const onMessage = (message: KeeperMessage, handle: unknown): void => {
    if (message.kind === 'upstream')
      upstream = { socket: handle as net.Socket, peer: message.peer, greeting: message.greeting, unread: Buffer.from(message.unread, 'base64') };
    else if (message.kind === 'client') {
      const { unfinished, ...rest } = message.state;
      clients.push({
        stream: new ByteStream(handle as net.Socket, `client of unix:shared`),
        state: { ...rest, unfinished: { ...unfinished, bytes: Buffer.from(unfinished.bytes, 'base64') } },
      });
    } else if (message.kind === 'go') {
      process.off('message', onMessage);
      void serve(message.rendezvous, message.jobs).then(
        () => process.send?.({ kind: 'ready' }, () => process.disconnect?.()),
        (error: unknown) => {
          process.send?.({ kind: 'failed', error: (error as Error).message }, () => process.exit(1));
        },
      );
    }
  };
  process.on('message', onMessage);

  async function serve(rendezvous: string, jobs: string[]): Promise<void> {
    if (!upstream) throw new Error('no upstream connection was handed over');
    const greetingLine = Buffer.from(`${JSON.stringify(upstream.greeting)}\n`);
    const transport = SocketTransport.adopt(upstream.socket, upstream.peer, Buffer.concat([greetingLine, upstream.unread]));
    // Negotiated by the holder already; no command timeout of ours: the clients have theirs.
    const client = await QmpClient.open(transport, { negotiate: false, commandTimeoutMs: Infinity });
    const { ShareServer } = await import('./server.js');
    let ending = false;
    let server: ShareServer | undefined;
    const endIfUnused = async (): Promise<void> => {
      if (!server || ending || server.clients > 0) return;
      const running = await server.jobs.running(client).catch(() => []);
      if (running.length > 0 || server.clients > 0 || ending) return;
      ending = true;
      // No client may come in between: listening stops first, then a last look.
      await server.stopListening();
      if (server.clients > 0) {
        ending = false;
        return;
      }
      await server.close();
      await client.close();
    };
    server = await ShareServer.start(client, { listen: { path: rendezvous }, replayFrom: 0, onNoClients: () => void endIfUnused() }, clients);
    for (const id of jobs) server.jobs.add(id);
    client.on('event', (event: QmpEvent) => {
      if (event.event === 'JOB_STATUS_CHANGE') void endIfUnused();
    });
    // QEMU went: nothing left to keep.
    void server.closed.then(() => client.close());
    void endIfUnused();
  }
}
