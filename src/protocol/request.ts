/*
 * What a QMP server does with each value a client sent, before running anything: QEMU's checks of
 * the request object (monitor/qmp.c, qapi/qmp-dispatch.c), with QEMU's error texts. Used by both
 * server sides we have (share, mock-qmp) so a client sees what QEMU's monitor would answer.
 * Measured on QEMU 7.2, 10.0 and 11.1: docs/trace-format.md, "Client input".
 */
import { JsonStream, type JsonDialect, type JsonStreamItem, type JsonStreamState } from '../json-stream.js';
import { isJsonObject } from '../util/json.js';

/** A request that passed QEMU's checks: run `command`; answer with `id` when `hasId`. */
export interface QmpRequest {
  command: string;
  arguments?: Record<string, unknown>;
  /** `exec-oob` rather than `execute` (only accepted where OOB was negotiated). */
  oob: boolean;
  hasId: boolean;
  id?: unknown;
  /** The object as sent (for traces). */
  message: Record<string, unknown>;
}

/** The reply for input QEMU refuses before dispatch: `id` only when the request was an object with one. */
export interface QmpRefusal {
  refusal: { error: { class: 'GenericError'; desc: string }; id?: unknown };
  message?: Record<string, unknown>;
}

/** QEMU's check of one value from the stream; `oob`: whether the client negotiated out-of-band execution. */
export function checkRequest(item: JsonStreamItem, oob: boolean): QmpRequest | QmpRefusal {
  const refuse = (desc: string, message?: Record<string, unknown>): QmpRefusal => ({
    refusal: { ...(message && 'id' in message ? { id: message.id } : {}), error: { class: 'GenericError', desc } },
    ...(message ? { message } : {}),
  });
  if ('error' in item) return refuse(item.error);
  const message = item.value;
  if (!isJsonObject(message)) return refuse('QMP input must be a JSON object');
  let command: string | undefined;
  let isOob = false;
  // Members in the order sent (QEMU walks its hash table; it differs only when two members are wrong).
  for (const [name, value] of Object.entries(message)) {
    if (name === 'execute' || (name === 'exec-oob' && oob)) {
      if (typeof value !== 'string') return refuse(`QMP input member '${name}' must be a string`, message);
      if (command !== undefined) return refuse("QMP input must not contain both 'execute' and 'exec-oob'", message);
      command = value;
      isOob = name === 'exec-oob';
    } else if (name === 'arguments') {
      if (!isJsonObject(value)) return refuse("QMP input member 'arguments' must be an object", message);
    } else if (name !== 'id') {
      return refuse(`QMP input member '${name}' is unexpected`, message);
    }
  }
  if (command === undefined) return refuse("QMP input lacks member 'execute'", message);
  return {
    command,
    ...(message.arguments !== undefined ? { arguments: message.arguments as Record<string, unknown> } : {}),
    oob: isOob,
    hasId: 'id' in message,
    ...('id' in message ? { id: message.id } : {}),
    message,
  };
}

/**
 * A client's byte stream → requests and refusals, in order, as QEMU's monitor reads them. Input
 * left unfinished when the client closes is dropped (QEMU drops it too).
 */
export class QmpInputReader {
  private readonly stream: JsonStream;

  /**
   * `dialect`: as the QEMU behind the server reads (jsonDialectOf its greeting's version).
   * `from`: what unfinished() gave in another process (same dialect), to go on from.
   */
  constructor(onRequest: (request: QmpRequest | QmpRefusal) => void, oob: () => boolean, options: { dialect?: JsonDialect; from?: JsonStreamState } = {}) {
    this.stream = new JsonStream((item) => onRequest(checkRequest(item, oob())), options.dialect, options.from);
  }

  /** The input not complete yet (see JsonStream.unfinished). */
  unfinished(): JsonStreamState {
    return this.stream.unfinished();
  }

  /** Bytes held for a value not complete yet. */
  get pendingBytes(): number {
    return this.stream.pendingBytes;
  }

  push(chunk: Uint8Array): void {
    this.stream.push(chunk);
  }
}
