/* Writing a qmp-trace: a session's messages as they cross, buffered, to a file opened safely. */
import { closeSync, writeSync } from 'node:fs';
import type { QmpMessage } from '../framing.js';
import type { TrafficDirection, TrafficSink } from '../protocol/client.js';
import type { VersionInfo } from '../qapi/types.js';
import type { TraceEndReason, TraceHeader } from './format.js';
import { redactCommand } from './redact.js';
import { openTraceFile, type TraceFileOptions } from './file.js';

export interface TraceWriterOptions extends TraceFileOptions {
  note?: string | undefined;
  command?: string | undefined;
  /** Write no header line. */
  noHeader?: boolean | undefined;
  /** Bytes kept in memory before they are written out. Default 16 KiB. */
  bufferBytes?: number | undefined;
  /** Record secrets (object-add secret data, passwords) as sent instead of "<redacted>". */
  keepSecrets?: boolean | undefined;
}

/**
 * Writes a trace as messages happen. Memory stays bounded: lines are buffered up to
 * `bufferBytes` and then written synchronously (a trace file is local and small, and a sync
 * write keeps the order of lines exact even when the process is about to exit).
 * The header is written with the first message so it can carry the version from QEMU's greeting.
 */
export class TraceWriter {
  readonly file: string;
  private readonly fd: number;
  private readonly startedAt = performance.now();
  private readonly recorded = new Date().toISOString();
  private readonly options: TraceWriterOptions;
  private buffer = '';
  private headerDone: boolean;
  private closed = false;

  constructor(file: string, options: TraceWriterOptions = {}) {
    this.file = file;
    this.options = options;
    this.headerDone = options.noHeader === true;
    this.fd = openTraceFile(file, options);
  }

  /** Seconds since the writer was created, to the microsecond. */
  now(): number {
    return Math.round((performance.now() - this.startedAt) * 1000) / 1e6;
  }

  write(dir: TrafficDirection, msg: QmpMessage): void {
    if (this.closed) return;
    if (!this.headerDone) this.writeHeader(dir === 'in' && 'QMP' in msg ? msg : undefined);
    const recorded = dir === 'out' && !this.options.keepSecrets ? redactCommand(msg) : msg;
    this.push(JSON.stringify({ t: this.now(), dir, msg: recorded }));
  }

  /** Records who ended the session; the last line of the trace. */
  end(reason: TraceEndReason): void {
    if (this.closed) return;
    if (!this.headerDone) this.writeHeader(undefined);
    this.push(JSON.stringify({ t: this.now(), end: reason }));
  }

  flush(): void {
    if (this.buffer === '') return;
    const text = this.buffer;
    this.buffer = '';
    writeSync(this.fd, text);
  }

  /** Writes what is buffered and closes the file. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.headerDone) this.writeHeader(undefined);
    this.flush();
    this.closed = true;
    closeSync(this.fd);
  }

  private writeHeader(greeting: QmpMessage | undefined): void {
    this.headerDone = true;
    const header: TraceHeader = { 'qmp-trace': 1 };
    const version = (greeting?.QMP as { version?: VersionInfo } | undefined)?.version;
    if (version) header.qemu = version;
    header.recorded = this.recorded;
    if (this.options.note !== undefined) header.note = this.options.note;
    if (this.options.command !== undefined) header.command = this.options.command;
    header.secrets = this.options.keepSecrets ? 'kept' : 'redacted';
    this.push(JSON.stringify(header));
  }

  private push(line: string): void {
    this.buffer += `${line}\n`;
    if (this.buffer.length >= (this.options.bufferBytes ?? 16 * 1024)) this.flush();
  }
}

export interface TraceSink {
  /** Pass as QmpClient's `traffic` option. */
  sink: TrafficSink;
  writer: TraceWriter;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

/** A TrafficSink that writes a trace file (for the CLI's --trace). */
export function createTraceSink(file: string, options: TraceWriterOptions = {}): TraceSink {
  const writer = new TraceWriter(file, options);
  return { sink: (dir, msg) => writer.write(dir, msg), writer, close: () => writer.close() };
}
