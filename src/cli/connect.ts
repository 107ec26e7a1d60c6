import { QmpClient, type QmpClientOptions } from '../protocol/client.js';
import type { GlobalOptions } from './args.js';
import { UsageError } from './args.js';
import { connect } from '../connect.js';

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
  // before anything is sent (see mock-qmp/trace-file.ts).
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
  if (trace) options.traffic = trace.sink;
  let client: QmpClient;
  try {
    if (global.socket) client = await connect({ path: global.socket }, options);
    else if (global.tcp) client = await connect(global.tcp, options);
    else if (global.domain) client = await connect({ domain: global.domain, ...(global.connect ? { uri: global.connect } : {}), connectTimeoutMs: global.connectTimeoutMs, signal, onWarning: warn }, options);
    else throw new UsageError('name the monitor: --socket PATH or --tcp HOST:PORT (or --domain NAME for a libvirt guest)');
  } catch (error) {
    await trace?.close();
    throw error;
  }
  return {
    client,
    close: async () => {
      await client.close();
      await trace?.close();
    },
  };
}
