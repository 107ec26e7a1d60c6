/*
 * A transparent recording proxy: client ⇄ recorder ⇄ real QEMU. Bytes are forwarded untouched,
 * in both directions; a copy is parsed for the trace. QEMU's output is line-framed (it ends every
 * message with CRLF); the client's input may not be, so it is parsed as a stream of JSON values.
 */
import path from 'node:path';
import { LineFramer, type QmpMessage } from '../src/framing.js';
import { ByteStream, connectStream, listenStreams, type StreamListener } from '../src/transport/byte-stream.js';
import type { SocketAddress } from '../src/transport/socket.js';
import { JsonStream } from '../src/json-stream.js';
import { TraceWriter } from './trace.js';
import { checkTraceTarget } from '../src/trace/file.js';

export interface RecorderOptions {
  /** The real QEMU monitor socket (path) or TCP address. */
  upstream: string | SocketAddress;
  /** Where the recorder listens: a UNIX socket path or TCP address. */
  socket: string | SocketAddress;
  /** Trace file. Connection n > 1 is written to FILE-n.jsonl beside it. */
  out: string;
  note?: string | undefined;
  /** Goes into the header's "command"; default: this process's command line. */
  command?: string | undefined;
  /** Called for trouble that does not stop forwarding (unparsable copy, upstream refused). */
  onWarning?: ((error: Error) => void) | undefined;
  /** Replace existing trace files (default: refuse them, before listening). */
  overwrite?: boolean | undefined;
  /** Record secrets as sent instead of "<redacted>". */
  keepSecrets?: boolean | undefined;
}

export interface Recorder {
  readonly address: SocketAddress;
  /** Trace files written so far (one per connection). */
  readonly files: readonly string[];
  /** Resolves when every connection so far has ended and its trace is closed. */
  idle(): Promise<void>;
  /** Stops listening, cuts open connections (recorded as ended by the client) and closes the traces. */
  close(): Promise<void>;
}

function toAddress(value: string | SocketAddress): SocketAddress {
  return typeof value === 'string' ? { path: value } : value;
}

function traceFileFor(out: string, n: number): string {
  if (n === 1) return out;
  const ext = path.extname(out);
  return `${out.slice(0, out.length - ext.length)}-${n}${ext || '.jsonl'}`;
}

export async function startRecorder(options: RecorderOptions): Promise<Recorder> {
  const upstream = toAddress(options.upstream);
  const files: string[] = [];
  const sessions = new Set<Promise<void>>();
  const cutters = new Set<() => void>();
  const warn = (error: Error): void => options.onWarning?.(error);
  let count = 0;

  const record = (client: ByteStream): void => {
    count += 1;
    const file = traceFileFor(options.out, count);
    files.push(file);
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    sessions.add(done);
    void done.then(() => sessions.delete(done));

    let writer: TraceWriter;
    try {
      writer = new TraceWriter(file, {
        note: options.note,
        command: options.command ?? process.argv.join(' '),
        overwrite: options.overwrite,
        keepSecrets: options.keepSecrets,
        existsHint: 'use --force to replace it',
      });
    } catch (error) {
      // This connection cannot be recorded (its FILE-n exists): it is refused, not forwarded unrecorded.
      warn(error as Error);
      client.destroy();
      resolveDone();
      return;
    }
    let ended = false;
    let qemu: ByteStream | undefined;
    const finish = (reason: 'qemu' | 'client'): void => {
      if (ended) return;
      ended = true;
      writer.end(reason);
      void writer.close().then(resolveDone, resolveDone);
      cutters.delete(cut);
      // QEMU's last bytes may still be queued for the client: end (flush) rather than destroy.
      if (reason === 'qemu') client.end();
      else client.destroy();
      qemu?.destroy();
    };
    const cut = (): void => finish('client');
    cutters.add(cut);

    const framer = new LineFramer();
    let framerBroken = false;
    // The client's values as QEMU reads them; what QEMU refuses is forwarded but not a command of the trace.
    const input = new JsonStream((item) => {
      if ('error' in item) warn(new Error(`cannot parse the client's input for the trace (still forwarded): ${item.error}`));
      else if (item.value !== null && typeof item.value === 'object' && !Array.isArray(item.value)) writer.write('out', item.value as QmpMessage);
    });
    // The client's bytes wait here until QEMU is connected, then go out as they came.
    const early: Buffer[] = [];
    let clientEnded = false;
    client.start({
      onData: (chunk) => {
        input.push(chunk);
        if (qemu) void qemu.write(chunk);
        else early.push(chunk);
      },
      // The client's EOF goes on to QEMU, which answers what came before it and then closes.
      onEnd: () => {
        clientEnded = true;
        if (qemu) qemu.end();
      },
      onClose: () => {
        // Let QEMU's last bytes in flight arrive; QEMU closes its side when we close ours.
        if (qemu) qemu.end();
        else finish('client');
      },
    });
    connectStream(upstream).then(
      (stream) => {
        qemu = stream;
        if (ended) {
          stream.destroy();
          return;
        }
        for (const chunk of early.splice(0)) void stream.write(chunk);
        if (client.closed || clientEnded) stream.end();
        stream.start({
          onData: (chunk) => {
            void client.write(chunk);
            if (framerBroken) return;
            try {
              framer.push(chunk, (message) => writer.write('in', message));
            } catch (error) {
              framerBroken = true;
              warn(new Error(`cannot parse QEMU's output for the trace (still forwarded): ${(error as Error).message}`));
            }
          },
          onClose: () => finish(client.closed || clientEnded ? 'client' : 'qemu'),
        });
      },
      (error: Error) => {
        warn(error);
        finish('qemu');
      },
    );
  };

  // The first trace file is checked before listening: a path that cannot take it fails now, not at
  // the first connection (and an existing file is never truncated).
  checkTraceTarget(options.out, { overwrite: options.overwrite, existsHint: 'use --force to replace it' });
  const listener: StreamListener = await listenStreams(toAddress(options.socket), record);
  return {
    address: listener.address,
    files,
    idle: async () => {
      while (sessions.size) await Promise.all([...sessions]);
    },
    close: async () => {
      await listener.close();
      for (const cut of [...cutters]) cut();
      while (sessions.size) await Promise.all([...sessions]);
    },
  };
}
