// The recorded client-input cases (test/fixtures/qemu-*/qmp-input.json, from
// scripts/measure-qmp-input.py): what a client wrote, and what QEMU's monitor answered.

/** One piece of a write: UTF-8 text, bytes that are not UTF-8, or a repeated text. */
export type Piece = string | { b64: string } | { repeat: string; times: number };

export interface InputCase {
  name: string;
  /** Each write is sent as one chunk, with a pause after it. */
  writes: Piece[][];
  /** The client half-closed after its writes. */
  close?: boolean;
  /** No qmp_capabilities before the writes. */
  negotiate?: boolean;
  /** OOB was negotiated. */
  oob?: boolean;
  replies: Array<Record<string, unknown>>;
  /** QEMU closed the connection. */
  eof: boolean;
}

export function inputBytes(write: readonly Piece[]): Buffer {
  return Buffer.concat(write.map((p) => (typeof p === 'string' ? Buffer.from(p) : 'b64' in p ? Buffer.from(p.b64, 'base64') : Buffer.from(p.repeat.repeat(p.times)))));
}

/**
 * Where QEMU 11 answers otherwise than 7.2 and 10.0 (measured on 11.1.3): its parse errors start
 * with the line and column ("2:12: JSON parse error, …") and it resynchronises after a refused
 * nesting depth or token limit. The one reader (src/json-stream.ts) gives 10.0's answers there: a known gap, listed.
 */
const QEMU_11_ONLY: ReadonlySet<string> = new Set([
  "malformed: missing value, then a good command",
  "malformed: stray letters, then a good command",
  "malformed: upper-case keyword",
  "malformed: unknown keyword",
  "malformed: stray closing brace",
  "malformed: stray closing bracket",
  "malformed: trailing comma",
  "malformed: missing colon",
  "malformed: key not a string",
  "malformed: brace closed by bracket",
  "malformed: duplicate key",
  "malformed: invalid escape",
  "malformed: lone surrogate escape",
  "malformed: control character in a string",
  "malformed: invalid UTF-8 in a string",
  "malformed: byte 0xff between values",
  "malformed: leading zero",
  "malformed: unclosed string, then a newline and a command",
  "malformed: unclosed object, then a good command",
  "control character 0x1b resynchronises",
  "nesting depth 1025 refused",
  "token count over 2 Mi refused",
  "token size over 64 MiB refused",
]);

/** tap options for one case: a `todo` naming the gap where QEMU `major` ≥ 11 answers otherwise. */
export function qemu11Gap(major: number, name: string): { todo?: string } {
  return major >= 11 && QEMU_11_ONLY.has(name) ? { todo: 'QEMU 11 prefixes parse errors with line:column and resynchronises after its limits; the reader answers as 10.0' } : {};
}
