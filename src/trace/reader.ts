/*
 * Reading a trace: line by line, with caps, so a huge or broken file costs neither all of its size in
 * memory nor a whole read before its error (a 1 GB trace once took 1.1 GB before "Invalid string length").
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { QmpMessage } from '../framing.js';
import type { TrafficDirection } from '../protocol/client.js';
import { MAX_TRACE_BYTES, MAX_TRACE_LINE_BYTES, TraceFormatError, type Trace, type TraceEndReason, type TraceHeader } from './format.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Validates a trace one line at a time. `line()` returns false once the first session has ended. */
class TraceLineParser {
  readonly trace: Trace;
  private lastT = 0;

  constructor(source: string) {
    this.trace = { header: undefined, messages: [], end: undefined, source };
  }

  line(raw: string, line: number): boolean {
    const trace = this.trace;
    if (raw.trim() === '') return true;
    const fail = (reason: string): never => {
      throw new TraceFormatError(trace.source, line, reason);
    };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      fail(`not JSON (${(error as Error).message})`);
    }
    if (!isObject(value)) return fail('a trace line must be a JSON object');
    if ('qmp-trace' in value) {
      // A header after messages starts the next session of an appended file (--trace-append): the
      // first session is the trace.
      if (trace.messages.length) return false;
      if (trace.header) fail('the qmp-trace header must be the first line');
      if (value['qmp-trace'] !== 1) fail(`unsupported qmp-trace version ${JSON.stringify(value['qmp-trace'])} (this reader knows 1)`);
      trace.header = value as unknown as TraceHeader;
      return true;
    }
    if (trace.end) fail('nothing but the next session\'s header may follow the "end" line');
    const t = value.t;
    if (typeof t !== 'number' || !Number.isFinite(t) || t < 0) fail('"t" must be a non-negative number of seconds');
    if (typeof t === 'number' && t < this.lastT) fail(`"t" goes backwards (${t} after ${this.lastT})`);
    this.lastT = t as number;
    if ('end' in value) {
      if (value.end !== 'qemu' && value.end !== 'client') fail('"end" must be "qemu" or "client"');
      trace.end = { t: t as number, end: value.end as TraceEndReason, line };
      return true;
    }
    if (value.dir !== 'in' && value.dir !== 'out') fail('"dir" must be "in" or "out"');
    if (!isObject(value.msg)) fail('"msg" must be a JSON object');
    trace.messages.push({ t: t as number, dir: value.dir as TrafficDirection, msg: value.msg as QmpMessage, line });
    return true;
  }

  finish(): Trace {
    const first = this.trace.messages[0];
    if (!first || first.dir !== 'in' || !('QMP' in first.msg)) {
      throw new TraceFormatError(this.trace.source, first?.line ?? 1, 'a trace must start with QEMU\'s greeting ({"QMP": …}, dir "in")');
    }
    return this.trace;
  }
}

/** Parses and validates trace text. Throws TraceFormatError naming the first bad line. */
export function parseTrace(text: string, source = 'trace'): Trace {
  const parser = new TraceLineParser(source);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (!parser.line(lines[i]!, i + 1)) break;
  return parser.finish();
}

/** Reads and validates a trace file, a line at a time, refusing files over MAX_TRACE_BYTES and lines over MAX_TRACE_LINE_BYTES. */
export function readTrace(file: string, limits: { maxBytes?: number | undefined; maxLineBytes?: number | undefined } = {}): Trace {
  const maxBytes = limits.maxBytes ?? MAX_TRACE_BYTES;
  const maxLineBytes = limits.maxLineBytes ?? MAX_TRACE_LINE_BYTES;
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (error) {
    throw new TraceFormatError(file, 0, `cannot read: ${(error as Error).message}`);
  }
  try {
    const { size } = fstatSync(fd);
    if (size > maxBytes) throw new TraceFormatError(file, 0, `the file has ${size} bytes, more than the ${maxBytes} a trace may have`);
    const parser = new TraceLineParser(file);
    const chunk = Buffer.alloc(1024 * 1024);
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let line = 0;
    let total = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      // A file may grow while it is read (or be a device): count what is read, not what fstat said.
      total += read;
      if (total > maxBytes) throw new TraceFormatError(file, line + 1, `more than ${maxBytes} bytes, more than a trace may have`);
      let start = 0;
      let newline: number;
      while ((newline = chunk.indexOf(0x0a, start)) !== -1 && newline < read) {
        const text = Buffer.concat([...pending, chunk.subarray(start, newline)]).toString('utf8');
        pending = [];
        pendingBytes = 0;
        start = newline + 1;
        if (!parser.line(text, ++line)) return parser.finish();
      }
      pendingBytes += read - start;
      if (pendingBytes > maxLineBytes) throw new TraceFormatError(file, line + 1, `a line of more than ${maxLineBytes} bytes (no QMP message is that large)`);
      if (read > start) pending.push(Buffer.from(chunk.subarray(start, read)));
    }
    if (pendingBytes > 0) parser.line(Buffer.concat(pending).toString('utf8'), ++line);
    return parser.finish();
  } finally {
    closeSync(fd);
  }
}
