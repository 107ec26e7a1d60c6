import path from 'node:path';
import type { QmpClient } from '../../protocol/client.js';
import { UsageError } from '../args.js';
import { stringOption, type CommandSpec } from '../context.js';
import { delay } from '../../util/timers.js';

/**
 * Connects again after the command whose share we went through ended. That command may still be
 * letting go (its rendezvous socket closes a moment after our connection to it, its own connection to
 * the monitor a moment later), so any failure is tried again until the connect timeout; a QEMU
 * that went away is then said as the last connect error.
 */
async function connectAgain(connect: () => Promise<QmpClient>, timeoutMs: number, signal: AbortSignal): Promise<QmpClient> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await connect();
    } catch (error) {
      if (Date.now() > deadline || signal.aborted) throw error;
      await delay(50, signal);
    }
  }
}

export const shareCommand: CommandSpec = {
  name: 'share',
  summary: 'serve one QMP connection to many QMP clients (qmp-shell, scripts, this CLI) on another socket',
  usage: 'share --listen PATH',
  details: `QEMU's monitor serves one client at a time. share keeps one connection to it and serves any
number of clients on the UNIX socket PATH (mode 0600: only you, and root, may connect), each greeted
and negotiated as QEMU would (OOB only if the upstream connection has it), with its own command ids;
every event goes to every client. Runs until Ctrl-C or until QEMU goes; commands in flight are let
finish first. Started while another qmp-blockjob command holds the socket, it goes through that
command's connection, which stays up when that command ends (a keeper process takes it over): its clients stay connected. With --trace FILE the upstream session goes to FILE and each client's to FILE.client-N.
Other qmp-blockjob commands on the same --socket share it too, without this command (docs/cli.md).`,
  examples: ['qmp-blockjob --socket /run/vm1/qmp.sock share --listen /tmp/vm1-shared.sock', 'qmp-shell /tmp/vm1-shared.sock'],
  options: { listen: { type: 'string' } },
  async run(context) {
    const listen = stringOption(context, 'listen');
    if (!listen) throw new UsageError('share wants --listen PATH (a UNIX socket to serve on)', 'share');
    if (context.positionals.length) throw new UsageError(`unexpected argument '${context.positionals[0]}'`, 'share');
    let client = await context.connect();
    const { ShareServer } = await import('../../share/server.js');
    const traces: Array<{ close(): Promise<void> }> = [];
    const perClient = new Map<number, (direction: 'in' | 'out', message: Record<string, unknown>) => void>();
    const traceFile = context.global.trace;
    const { createTraceSink } = traceFile ? await import('../../trace/writer.js') : { createTraceSink: undefined };
    const server = await ShareServer.start(client, {
      listen: { path: path.resolve(listen) },
      // Through another command's share: when that command ends, the monitor is free; take it over.
      reconnect: async () => {
        if (!/shared by another qmp-blockjob command/.test(client.peer) || context.signal.aborted) return undefined;
        client = await connectAgain(context.connect, context.global.connectTimeoutMs, context.signal);
        return client;
      },
      ...(traceFile && createTraceSink
        ? {
            traffic: (n: number, direction: 'in' | 'out', message: Record<string, unknown>) => {
              let sink = perClient.get(n);
              if (!sink) {
                const trace = createTraceSink(`${traceFile}.client-${n}`, {
                  note: `client ${n} of qmp-blockjob share`,
                  keepSecrets: context.global.traceSecrets,
                });
                traces.push(trace);
                sink = trace.sink;
                perClient.set(n, sink);
              }
              sink(direction, message);
            },
          }
        : {}),
    });
    context.out.message(`Sharing ${client.peer} on unix:${path.resolve(listen)} (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) return resolve();
      context.signal.addEventListener('abort', () => resolve(), { once: true });
      void server.closed.then(resolve);
    });
    await server.close();
    await Promise.all(traces.map((t) => t.close()));
    context.out.message('Sharing stopped');
    return 0;
  },
};
