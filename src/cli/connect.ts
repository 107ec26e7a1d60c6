import { ConnectionState, QmpClient, type QmpClientOptions } from '../protocol/client.js';
import { startedJobId, StartedJobs } from '../share/jobs.js';
import type { ShareServer } from '../share/server.js';
import { cliEntry } from './entry.js';
import type { GlobalOptions } from './args.js';
import { UsageError } from './args.js';
import { connect } from '../connect.js';
import { MonitorBusyError } from '../errors.js';
import { SocketTransport } from '../transport/socket.js';
import { setLongTimeout } from '../util/timers.js';

export interface CliConnection {
  client: QmpClient;
  /** Closes the client and flushes the trace file, if any. */
  close(): Promise<void>;
}

/** Opens the monitor the global options name, recording a trace when --trace FILE was given. */
export async function connectFromOptions(
  global: GlobalOptions,
  signal: AbortSignal,
  argv: readonly string[],
  warn: (message: string) => void,
  extra: QmpClientOptions = {},
): Promise<CliConnection> {
  // The trace writer and the virsh transport load only when asked for: CLI start-up is part of every command.
  // Opened before connecting, so a path that cannot take a trace (it exists, a link, a FIFO) is refused
  // before anything is sent (see src/trace/file.ts).
  const words = global.trace && !global.traceSecrets ? (await import('../trace/redact.js')).redactCommandLine(argv) : argv;
  const trace = global.trace
    ? (await import('../trace/writer.js')).createTraceSink(global.trace, {
        command: `qmp-blockjob ${words.join(' ')}`,
        note: 'recorded by qmp-blockjob --trace',
        append: global.traceAppend,
        keepSecrets: global.traceSecrets,
        existsHint: 'use --trace-append to add to it, or name a new file',
      })
    : undefined;
  const options: QmpClientOptions = { connectTimeoutMs: global.connectTimeoutMs, commandTimeoutMs: global.commandTimeoutMs, signal, ...extra };
  // The jobs this command starts: its share is handed over, not closed, while one still runs.
  const started = new Set<string>();
  const sink = trace?.sink;
  options.traffic = (direction, message) => {
    sink?.(direction, message);
    if (direction === 'out' && typeof message.execute === 'string') {
      const id = startedJobId(message.execute, message.arguments as Record<string, unknown> | undefined);
      if (id !== undefined) started.add(id);
    }
  };
  let client: QmpClient;
  let share: HeldShare | undefined;
  try {
    if (global.socket) ({ client, share } = await connectSharing(global.socket, options, global.connectTimeoutExplicit, started, warn));
    else if (global.tcp) client = await connect(global.tcp, options);
    else if (global.domain)
      client = await connect(
        { domain: global.domain, ...(global.connect ? { uri: global.connect } : {}), connectTimeoutMs: global.connectTimeoutMs, signal, onWarning: warn },
        options,
      );
    else throw new UsageError('name the monitor: --socket PATH or --tcp HOST:PORT (or --domain NAME for a libvirt guest)');
  } catch (error) {
    await trace?.close();
    throw error;
  }
  return {
    client,
    close: async () => {
      // The share first: it waits for its clients' commands in flight, which need the connection.
      await share?.close();
      await client.close();
      await trace?.close();
    },
  };
}

/**
 * `--socket S`: through the live share of another qmp-blockjob command that holds S, if there is
 * one; else directly, and then this command shares its connection in turn (src/share/). A monitor
 * that accepts but does not greet within 1 s is held by some other client: said at once.
 */
async function connectSharing(
  socket: string,
  options: QmpClientOptions,
  patient: boolean,
  started: Set<string>,
  warn: (message: string) => void,
): Promise<{ client: QmpClient; share?: HeldShare }> {
  const { rendezvousPath, shareIsLive } = await import('../share/rendezvous.js');
  const rendezvous = rendezvousPath(socket);
  const viaShare = async (path: string): Promise<QmpClient> => {
    const transport = await SocketTransport.connect({ path }, { ...options, peer: `unix:${socket} (shared by another qmp-blockjob command)` });
    return connect({ transport }, options);
  };
  if (rendezvous && (await shareIsLive(rendezvous))) return { client: await viaShare(rendezvous) };
  let client: QmpClient;
  try {
    client = await connect({ path: socket }, { ...options, greetingTimeoutMs: patient ? Infinity : 1000 });
  } catch (error) {
    // Another qmp-blockjob may have taken the monitor a moment ago and be sharing it by now.
    if (error instanceof MonitorBusyError && rendezvous && (await shareIsLive(rendezvous))) return { client: await viaShare(rendezvous) };
    throw error;
  }
  if (!rendezvous) return { client };
  return { client, share: shareSoon(client, rendezvous, started, warn) };
}

interface HeldShare {
  /** Ends sharing: closes it, or hands the connection to a keeper process while it is still used. */
  close(): Promise<void>;
}

/**
 * A command that holds the monitor shares it from SHARE_AFTER_MS on: one that ends sooner (blocks,
 * chain, jobs) pays nothing for it, and a command that came meanwhile finds the share when its own
 * connect is not greeted (connectSharing retries the rendezvous then).
 */
const SHARE_AFTER_MS = 50;

function shareSoon(client: QmpClient, rendezvous: string, started: Set<string>, warn: (message: string) => void): HeldShare {
  let closed = false;
  let sharing: Promise<ShareServer | undefined> | undefined;
  const timer = setLongTimeout(() => {
    sharing = import('../share/server.js')
      .then(({ ShareServer }) => (closed ? undefined : ShareServer.start(client, { listen: { path: rendezvous } })))
      .catch(() => undefined);
  }, SHARE_AFTER_MS);
  return {
    async close() {
      closed = true;
      timer.clear();
      const server = await sharing;
      // Nobody new from here on; then: is the connection still somebody's?
      await server?.stopListening();
      const jobs = [...started, ...(server?.jobs.known ?? [])];
      if (client.state !== ConnectionState.Running || !cliEntry || ((server?.clients ?? 0) === 0 && jobs.length === 0)) return server?.close();
      const running = jobs.length ? await new StartedJobs(jobs).running(client).catch(() => []) : [];
      if ((server?.clients ?? 0) === 0 && running.length === 0) return server?.close();
      try {
        const { handOverToKeeper } = await import('../share/keeper.js');
        await handOverToKeeper(cliEntry, client, server, rendezvous, running);
      } catch (error) {
        // The connection stays ours then: it closes with this command, as it did before keepers.
        warn(`could not keep the shared monitor after this command: ${(error as Error).message}`);
        await server?.close();
      }
    },
  };
}
