/*
 * Every error this library throws is a QmpError, so a caller can catch one class
 * and still tell the cases apart by subclass:
 *
 *   QmpError
 *    ├── ConnectError           the monitor could not be reached, or the greeting/negotiation failed
 *    │    └── MonitorBusyError    it accepted but never greeted: another client holds it
 *    ├── ProtocolError          the peer sent something that is not QMP (bad JSON, oversized, no id)
 *    │    ├── MalformedMessageError   a line that is not a JSON object
 *    │    ├── OversizedMessageError   a message over maxMessageBytes
 *    │    ├── NotQmpServerError       the first thing the peer sent is no greeting (SSH banner, other JSON)
 *    │    └── EventOverflowError  an event stream's consumer fell more than maxQueued events behind
 *    ├── QmpCommandError        QEMU answered a command with {"error": {class, desc}}
 *    ├── ConnectionClosedError  the connection ended while something was waiting on it
 *    │    └── CommandNotSentError  before the command was written: QEMU never saw it
 *    ├── CommandOutcomeUnknownError  a state-changing command was sent and its reply never came
 *    ├── StateError             a method was called in a state that does not allow it
 *    ├── QmpTimeoutError        a command or wait ran out of time
 *    ├── AbortedError           the caller's AbortSignal fired
 *    └── MonitorUnresponsiveError  QEMU's monitor stopped answering probes during a long wait
 *
 * The ground floor: this file imports nothing. The block and job layers add their own subclasses
 * (src/block/errors.ts, src/jobs/errors.ts).
 * Every constructor takes `{ cause }` so the original error is never lost.
 */

export interface QmpErrorOptions {
  cause?: unknown;
}

export class QmpError extends Error {
  constructor(message: string, options?: QmpErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }
}

export class ConnectError extends QmpError {
  /** What we tried to reach: a socket path, host:port, or a libvirt domain. */
  readonly target: string;
  constructor(target: string, message: string, options?: QmpErrorOptions) {
    super(`cannot connect to ${target}: ${message}`, options);
    this.target = target;
  }
}

/**
 * The monitor accepted the connection but sent no greeting: QEMU serves one client per monitor and
 * greets the next only when the first leaves, so another client holds it. The way out: close that
 * client, add another monitor, or share one connection (the CLI's advice says which command).
 */
export class MonitorBusyError extends ConnectError {
  readonly waitedMs: number;
  constructor(target: string, waitedMs: number, options?: QmpErrorOptions) {
    super(target, `the QMP monitor is in use by another client (no greeting within ${waitedMs} ms; QEMU serves one client per monitor)`, options);
    this.waitedMs = waitedMs;
  }
}

export class ProtocolError extends QmpError {}

/** A line from the peer that is not a JSON object. `text` is its start, as received. */
export class MalformedMessageError extends ProtocolError {
  readonly text: string;
  readonly json: boolean;
  constructor(text: string, json: boolean, options?: QmpErrorOptions) {
    super(json ? `expected a JSON object from peer, got: ${JSON.stringify(text)}` : `malformed JSON from peer: ${JSON.stringify(text)}`, options);
    this.text = text;
    this.json = json;
  }
}

/** A message (or the start of one) from the peer larger than the limit. */
export class OversizedMessageError extends ProtocolError {
  /** Size of the whole message, or undefined when it was refused before its end. */
  readonly bytes: number | undefined;
  readonly limit: number;
  constructor(bytes: number | undefined, limit: number, options?: QmpErrorOptions) {
    super(
      bytes === undefined ? `incomplete message exceeds the limit of ${limit} bytes` : `message of ${bytes} bytes exceeds the limit of ${limit} bytes`,
      options,
    );
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** What the peer sent first is no QMP greeting (nor an event before one): it is not QEMU's monitor. */
export class NotQmpServerError extends ProtocolError {
  /** What came instead, e.g. "'SSH-2.0-OpenSSH_9.2p1'" or '{"hello":"world"}'. */
  readonly received: string;
  constructor(received: string, options?: QmpErrorOptions) {
    super(`not a QMP server: got ${received}`, options);
    this.received = received;
  }
}

/** An event stream's consumer fell too far behind: the stream stopped rather than buffer without bound. */
export class EventOverflowError extends ProtocolError {
  readonly maxQueued: number;
  constructor(maxQueued: number, options?: QmpErrorOptions) {
    super(`the event consumer fell more than ${maxQueued} events behind (it reads too slowly); the stream stopped rather than buffer without bound`, options);
    this.maxQueued = maxQueued;
  }
}

export class QmpCommandError extends QmpError {
  /** QMP error class, e.g. "GenericError", "DeviceNotFound", "CommandNotFound". */
  readonly errorClass: string;
  /** QEMU's own human-readable description. */
  readonly desc: string;
  readonly command: string;
  readonly args: Readonly<Record<string, unknown>> | undefined;
  constructor(command: string, args: Readonly<Record<string, unknown>> | undefined, errorClass: string, desc: string, options?: QmpErrorOptions) {
    super(`${command}: ${errorClass}: ${desc}`, options);
    this.errorClass = errorClass;
    this.desc = desc;
    this.command = command;
    this.args = args;
  }
}

export class ConnectionClosedError extends QmpError {}

/** The connection was closed before the command was written: QEMU never saw it. */
export class CommandNotSentError extends ConnectionClosedError {}

export class StateError extends QmpError {}

export class QmpTimeoutError extends QmpError {
  readonly timeoutMs: number;
  constructor(what: string, timeoutMs: number, options?: QmpErrorOptions) {
    super(`${what} timed out after ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

export class AbortedError extends QmpError {
  constructor(what: string, options?: QmpErrorOptions) {
    super(`${what} was aborted`, options);
  }
}

/** QEMU's monitor stopped answering (QEMU stuck, e.g. on hung storage) while something waited on it. */
export class MonitorUnresponsiveError extends QmpError {
  readonly peer: string;
  /** How long the monitor was given to answer a probe. */
  readonly timeoutMs: number;
  constructor(peer: string, timeoutMs: number, options?: QmpErrorOptions) {
    super(
      `QEMU's monitor has not answered for ${Number((timeoutMs / 1000).toFixed(3))} s (${peer}): QEMU may be stuck, e.g. on hung storage; anything it was doing (a block job) may still go on`,
      options,
    );
    this.peer = peer;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * A command that changes QEMU's state was sent, and its reply never came (timeout, lost connection):
 * QEMU may have run it. The caller finds out (query-jobs, query-block) or says so in words.
 */
export class CommandOutcomeUnknownError extends QmpError {
  readonly command: string;
  constructor(command: string, options?: QmpErrorOptions) {
    super(
      `${command} was sent to QEMU, but its answer never came${options?.cause instanceof Error ? ` (${options.cause.message})` : ''}: QEMU may have run it`,
      options,
    );
    this.command = command;
  }
}
