/*
 * The qmp-trace format (docs/trace-format.md): JSON Lines, an optional header line, one line per
 * QMP message with its direction and time, and an optional last line saying who ended the session.
 */
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { QmpMessage } from '../src/framing.js';
import type { TrafficDirection, TrafficSink } from '../src/protocol/client.js';
import { QmpError } from '../src/protocol/errors.js';
import type { VersionInfo } from '../src/qapi/types.js';

export interface TraceHeader {
  'qmp-trace': 1;
  /** QEMU's version as its greeting gave it. */
  qemu?: VersionInfo;
  /** ISO 8601 time the recording started. */
  recorded?: string;
  note?: string;
  /** The command line or scenario that produced the trace. */
  command?: string;
}

export interface TraceMessage {
  /** Seconds since the connection opened. */
  t: number;
  /** "in": QEMU → client; "out": client → QEMU. */
  dir: TrafficDirection;
  msg: QmpMessage;
  /** 1-based line in the trace file (set by the reader). */
  line: number;
}

/** Who closed the session: "qemu" (EOF from QEMU: killed or quit) or "client". */
export type TraceEndReason = 'qemu' | 'client';

export interface TraceEnd {
  t: number;
  end: TraceEndReason;
  line: number;
}

export interface Trace {
  header: TraceHeader | undefined;
  messages: TraceMessage[];
  end: TraceEnd | undefined;
  /** Where it came from, for error messages. */
  source: string;
}

/** A trace that does not follow the format; names the file and line. */
export class TraceFormatError extends QmpError {
  constructor(
    readonly source: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${source}${line > 0 ? `:${line}` : ''}: ${reason}`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Parses and validates trace text. Throws TraceFormatError naming the first bad line. */
export function parseTrace(text: string, source = 'trace'): Trace {
  const trace: Trace = { header: undefined, messages: [], end: undefined, source };
  const lines = text.split('\n');
  let lastT = 0;
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const fail = (reason: string): never => {
      throw new TraceFormatError(source, line, reason);
    };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      fail(`not JSON (${(error as Error).message})`);
    }
    if (!isObject(value)) return fail('a trace line must be a JSON object');
    if ('qmp-trace' in value) {
      if (trace.header || trace.messages.length) fail('the qmp-trace header must be the first line');
      if (value['qmp-trace'] !== 1) fail(`unsupported qmp-trace version ${JSON.stringify(value['qmp-trace'])} (this reader knows 1)`);
      trace.header = value as unknown as TraceHeader;
      return;
    }
    if (trace.end) fail('nothing may follow the "end" line');
    const t = value.t;
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) fail('"t" must be a non-negative number of seconds');
    if (typeof t === 'number' && t < lastT) fail(`"t" goes backwards (${t} after ${lastT})`);
    lastT = t as number;
    if ('end' in value) {
      if (value.end !== 'qemu' && value.end !== 'client') fail('"end" must be "qemu" or "client"');
      trace.end = { t: t as number, end: value.end as TraceEndReason, line };
      return;
    }
    if (value.dir !== 'in' && value.dir !== 'out') fail('"dir" must be "in" or "out"');
    if (!isObject(value.msg)) fail('"msg" must be a JSON object');
    trace.messages.push({ t: t as number, dir: value.dir as TrafficDirection, msg: value.msg as QmpMessage, line });
  });
  const first = trace.messages[0];
  if (!first || first.dir !== 'in' || !('QMP' in first.msg)) {
    throw new TraceFormatError(source, first?.line ?? 1, 'a trace must start with QEMU\'s greeting ({"QMP": …}, dir "in")');
  }
  return trace;
}

/** Reads and validates a trace file. */
export function readTrace(file: string): Trace {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new TraceFormatError(file, 0, `cannot read: ${(error as Error).message}`);
  }
  return parseTrace(text, file);
}

export interface TraceWriterOptions {
  note?: string;
  command?: string;
  /** Write no header line. */
  noHeader?: boolean;
  /** Bytes kept in memory before they are written out. Default 16 KiB. */
  bufferBytes?: number;
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
    this.fd = openSync(file, 'w');
  }

  /** Seconds since the writer was created, to the microsecond. */
  now(): number {
    return Math.round((performance.now() - this.startedAt) * 1000) / 1e6;
  }

  write(dir: TrafficDirection, msg: QmpMessage): void {
    if (this.closed) return;
    if (!this.headerDone) this.writeHeader(dir === 'in' && 'QMP' in msg ? msg : undefined);
    this.push(JSON.stringify({ t: this.now(), dir, msg }));
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
