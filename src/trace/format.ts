/*
 * The qmp-trace format (docs/trace-format.md): JSON Lines, an optional header line, one line per
 * QMP message with its direction and time, and an optional last line saying who ended the session.
 * The product writes it (--trace); mock-qmp reads and replays it.
 */
import type { QmpMessage } from '../framing.js';
import type { TrafficDirection } from '../protocol/client.js';
import { QmpError } from '../errors.js';
import type { VersionInfo } from '../qapi/types.js';

export interface TraceHeader {
  'qmp-trace': 1;
  /** QEMU's version as its greeting gave it. */
  qemu?: VersionInfo;
  /** ISO 8601 time the recording started. */
  recorded?: string;
  note?: string;
  /** The command line or scenario that produced the trace. */
  command?: string;
  /** "redacted": secrets in commands were replaced by "<redacted>" (the default); "kept": recorded as sent. */
  secrets?: 'redacted' | 'kept';
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

/** A trace file larger than this is refused before it is read (the fixtures are a few KB to a few MB). */
export const MAX_TRACE_BYTES = 256 * 1024 * 1024;
/** One line (one QMP message) larger than this is refused: the client's own message limit. */
export const MAX_TRACE_LINE_BYTES = 64 * 1024 * 1024;
