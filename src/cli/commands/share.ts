import path from 'node:path';
import { UsageError } from '../args.js';
import { stringOption, type CommandSpec } from '../context.js';

export const shareCommand: CommandSpec = {
  name: 'share',
  summary: 'serve one QMP connection to many QMP clients (qmp-shell, scripts, this CLI) on another socket',
  usage: 'share --listen PATH',
  details: `QEMU's monitor serves one client at a time. share keeps one connection to it and serves any
number of clients on the UNIX socket PATH (mode 0600: only you, and root, may connect), each greeted
and negotiated as QEMU would (OOB only if the upstream connection has it), with its own command ids;
every event goes to every client. Runs until Ctrl-C or until QEMU goes; commands in flight are let
finish first. With --trace FILE the upstream session goes to FILE and each client's to FILE.client-N.
Other qmp-blockjob commands on the same --socket share it too, without this command (docs/cli.md).`,
  examples: ['qmp-blockjob --socket /run/vm1/qmp.sock share --listen /tmp/vm1-shared.sock', 'qmp-shell /tmp/vm1-shared.sock'],
  options: { listen: { type: 'string' } },
  async run(context) {
    const listen = stringOption(context, 'listen');
    if (!listen) throw new UsageError('share wants --listen PATH (a UNIX socket to serve on)', 'share');
    if (context.positionals.length) throw new UsageError(`unexpected argument '${context.positionals[0]}'`, 'share');
    const client = await context.connect();
    const { ShareServer } = await import('../../share/server.js');
    const traces: Array<{ close(): Promise<void> }> = [];
    const perClient = new Map<number, (direction: 'in' | 'out', message: Record<string, unknown>) => void>();
    const traceFile = context.global.trace;
    const { createTraceSink } = traceFile ? await import('../../trace/writer.js') : { createTraceSink: undefined };
    const server = await ShareServer.start(client, {
      listen: { path: path.resolve(listen) },
      ...(traceFile && createTraceSink ? {
        traffic: (n: number, direction: 'in' | 'out', message: Record<string, unknown>) => {
          let sink = perClient.get(n);
          if (!sink) {
            const trace = createTraceSink(`${traceFile}.client-${n}`, { note: `client ${n} of qmp-blockjob share`, keepSecrets: context.global.traceSecrets });
            traces.push(trace);
            sink = trace.sink;
            perClient.set(n, sink);
          }
          sink(direction, message);
        },
      } : {}),
    });
    context.out.message(`Sharing ${client.peer} on unix:${path.resolve(listen)} (Ctrl-C to stop)`);
    await new Promise<void>((resolve) => {
      if (context.signal.aborted) return resolve();
      context.signal.addEventListener('abort', () => resolve(), { once: true });
      client.once('close', () => resolve());
    });
    await server.close();
    await Promise.all(traces.map((t) => t.close()));
    context.out.message('Sharing stopped');
    return 0;
  },
};
