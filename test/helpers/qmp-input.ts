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
  return Buffer.concat(
    write.map((p) => (typeof p === 'string' ? Buffer.from(p) : 'b64' in p ? Buffer.from(p.b64, 'base64') : Buffer.from(p.repeat.repeat(p.times)))),
  );
}
