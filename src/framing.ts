import { MalformedMessageError, OversizedMessageError } from './errors.js';
import { isJsonObject } from './util/json.js';

export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
const NEWLINE = 0x0a;

/** A parsed QMP message: a JSON object. Anything else on the wire is a ProtocolError. */
export type QmpMessage = Record<string, unknown>;

/**
 * Splits QEMU's output into messages. QEMU ends every message with "\r\n" and never puts a raw
 * newline inside one (JSON escapes it), so splitting on the newline byte is exact. Splitting
 * bytes (not decoded text) keeps a multi-byte UTF-8 character that straddles two chunks intact.
 *
 * Measured (docs/design.md): this runs at the speed of JSON.parse; a streaming JSON parser such as
 * json-stream-es is two to three orders of magnitude slower, so it is kept off this path.
 */
export class LineFramer {
  private maxMessageBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(maxMessageBytes: number = DEFAULT_MAX_MESSAGE_BYTES) {
    this.maxMessageBytes = checkLimit(maxMessageBytes);
  }

  /** The largest message accepted; may change between chunks (the client keeps it small until the greeting). */
  get limit(): number {
    return this.maxMessageBytes;
  }

  set limit(bytes: number) {
    this.maxMessageBytes = checkLimit(bytes);
  }

  /** Bytes received that do not yet form a whole message. */
  get bufferedBytes(): number {
    return this.pendingBytes;
  }

  /**
   * Feeds a chunk and calls `emit` for every complete message in it, in order.
   * Throws ProtocolError on a line that is not a JSON object or on a message over the limit;
   * the framer is then reset and the connection should be dropped (the stream cannot be trusted).
   */
  push(chunk: Buffer, emit: (message: QmpMessage) => void): void {
    let start = 0;
    let newline = chunk.indexOf(NEWLINE, start);
    while (newline !== -1) {
      let line: Buffer;
      if (this.pendingBytes === 0) {
        line = chunk.subarray(start, newline);
      } else {
        this.pending.push(chunk.subarray(start, newline));
        line = Buffer.concat(this.pending, this.pendingBytes + newline - start);
        this.pending = [];
        this.pendingBytes = 0;
      }
      if (line.length > this.maxMessageBytes) this.fail(new OversizedMessageError(line.length, this.maxMessageBytes));
      const message = parseLine(line);
      if (message !== undefined) emit(message);
      start = newline + 1;
      newline = chunk.indexOf(NEWLINE, start);
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (this.pendingBytes + rest > this.maxMessageBytes) {
        this.fail(new OversizedMessageError(undefined, this.maxMessageBytes));
      }
      this.pending.push(chunk.subarray(start));
      this.pendingBytes += rest;
    }
  }

  /** Takes the bytes of the message not complete yet (a connection handed to another process goes on from them). */
  takePending(): Buffer {
    const rest = Buffer.concat(this.pending, this.pendingBytes);
    this.reset();
    return rest;
  }

  reset(): void {
    this.pending = [];
    this.pendingBytes = 0;
  }

  private fail(error: OversizedMessageError): never {
    this.reset();
    throw error;
  }
}

function checkLimit(bytes: number): number {
  if (!(bytes > 0)) throw new RangeError('maxMessageBytes must be positive');
  return bytes;
}

function parseLine(line: Buffer): QmpMessage | undefined {
  const text = line.toString('utf8');
  // Blank lines (and the "\r" of "\r\n" alone) are skipped. QEMU's messages start with "{", so the
  // trim — a copy of the line — is paid only for lines that start with white space.
  const first = line[0];
  if (first === undefined || ((first === 0x20 || first === 0x09 || first === 0x0d) && text.trim() === '')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new MalformedMessageError(preview(text), false, { cause: error });
  }
  if (!isJsonObject(value)) {
    throw new MalformedMessageError(preview(text), true);
  }
  return value as QmpMessage;
}

function preview(text: string): string {
  const trimmed = text.trim();
  return trimmed.length > 120 ? `${trimmed.slice(0, 120)}…` : trimmed;
}
