/*
 * Faults the replay server can inject, to test how a client copes with a monitor that misbehaves.
 * Each has a CLI spelling (`--fault SPEC`) parsed by parseFault.
 */
import { QmpError } from '../src/errors.js';
import { MAX_TIMER_MS } from '../src/util/timers.js';

export type Fault =
  /** Close the connection after sending N messages (the greeting counts as 1). */
  | { kind: 'close-after'; messages: number }
  /** Close the connection instead of sending this event (the client never sees it). */
  | { kind: 'close-at-event'; event: string }
  /** Hold the reply to this command back by `ms` (on top of the recorded timing). */
  | { kind: 'delay-reply'; command: string; ms: number }
  /** Never send this event. */
  | { kind: 'drop-event'; event: string }
  /** Send this event twice. */
  | { kind: 'duplicate-event'; event: string }
  /** Send broken JSON in place of the reply to `command` (default: the first reply after negotiation). */
  | { kind: 'malformed'; command?: string }
  /** Send a message of `bytes` bytes in place of the reply to `command` (default: first after negotiation). */
  | { kind: 'oversized'; bytes: number; command?: string }
  /** Deliver every output byte in its own write. */
  | { kind: 'byte-by-byte' }
  /** Answer `command` with this error instead of the recorded reply (no events follow). */
  | { kind: 'error-reply'; command: string; errorClass: string; desc: string };

export class FaultSpecError extends QmpError {
  constructor(
    readonly spec: string,
    reason: string,
  ) {
    super(`bad --fault ${JSON.stringify(spec)}: ${reason}`);
  }
}

export const FAULT_SPECS = [
  'close-after=N',
  'close-at-event=EVENT',
  'delay-reply=COMMAND:MS',
  'drop-event=EVENT',
  'duplicate-event=EVENT',
  'malformed[=COMMAND]',
  'oversized=BYTES[:COMMAND]',
  'byte-by-byte',
  'error-reply=COMMAND:CLASS[:DESC]',
] as const;

/** The longest delay-reply: one node timer (≈ 24.8 days); longer ones spun on TimeoutOverflowWarning. */
export const MAX_FAULT_DELAY_MS = MAX_TIMER_MS;
/**
 * The largest oversized reply: it is built as one string, and V8 strings end near 512 Mi characters
 * (beyond, the client was told "Invalid string length" instead of getting the oversized message).
 */
export const MAX_OVERSIZED_BYTES = 256 * 1024 * 1024;

function positiveInt(spec: string, text: string | undefined, what: string, max = Number.MAX_SAFE_INTEGER, why = ''): number {
  const value = Number(text);
  if (text === undefined || !/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new FaultSpecError(spec, `${what} must be a non-negative integer, got ${JSON.stringify(text ?? '')}`);
  }
  if (value > max) throw new FaultSpecError(spec, `${what} must be at most ${max}${why}, got ${text}`);
  return value;
}

function required(spec: string, text: string | undefined, what: string): string {
  if (!text) throw new FaultSpecError(spec, `needs ${what}`);
  return text;
}

/** Parses a CLI fault spec, e.g. "delay-reply=query-status:500". */
export function parseFault(spec: string): Fault {
  const eq = spec.indexOf('=');
  const kind = eq === -1 ? spec : spec.slice(0, eq);
  const value = eq === -1 ? undefined : spec.slice(eq + 1);
  switch (kind) {
    case 'close-after':
      return { kind, messages: positiveInt(spec, value, 'N') };
    case 'close-at-event':
    case 'drop-event':
    case 'duplicate-event':
      return { kind, event: required(spec, value, 'an event name') };
    case 'delay-reply': {
      const [command, ms] = required(spec, value, 'COMMAND:MS').split(':');
      return {
        kind,
        command: required(spec, command, 'a command'),
        ms: positiveInt(spec, ms, 'MS', MAX_FAULT_DELAY_MS, ' (≈ 24.8 days, the longest node timer)'),
      };
    }
    case 'malformed':
      return value ? { kind, command: value } : { kind };
    case 'oversized': {
      const [bytes, command] = required(spec, value, 'BYTES').split(':');
      const size = positiveInt(spec, bytes, 'BYTES', MAX_OVERSIZED_BYTES, ' (256 MiB: the reply is built as one string)');
      return command ? { kind, bytes: size, command } : { kind, bytes: size };
    }
    case 'byte-by-byte':
      if (value !== undefined) throw new FaultSpecError(spec, 'takes no value');
      return { kind };
    case 'error-reply': {
      const text = required(spec, value, 'COMMAND:CLASS[:DESC]');
      const [command, errorClass, ...rest] = text.split(':');
      return {
        kind,
        command: required(spec, command, 'a command'),
        errorClass: required(spec, errorClass, 'an error class'),
        desc: rest.length ? rest.join(':') : `injected ${errorClass} for ${command}`,
      };
    }
    default:
      throw new FaultSpecError(spec, `unknown fault; known: ${FAULT_SPECS.join(', ')}`);
  }
}

/** The faults in force on one connection, with the state the one-shot faults need. */
export class FaultPlan {
  private readonly faults: readonly Fault[];
  private sent = 0;
  private readonly replacedOnce = new Set<Fault>();

  constructor(faults: readonly Fault[] = []) {
    this.faults = faults;
  }

  get byteByByte(): boolean {
    return this.faults.some((f) => f.kind === 'byte-by-byte');
  }

  /** Counts a message about to be sent; true when the connection must close before it. */
  closeBefore(message: Record<string, unknown>): boolean {
    for (const f of this.faults) {
      if (f.kind === 'close-after' && this.sent >= f.messages) return true;
      if (f.kind === 'close-at-event' && message.event === f.event) return true;
    }
    this.sent += 1;
    return false;
  }

  /** How many copies of an event to send (0 = dropped). */
  eventCopies(event: string): number {
    if (this.faults.some((f) => f.kind === 'drop-event' && f.event === event)) return 0;
    return this.faults.some((f) => f.kind === 'duplicate-event' && f.event === event) ? 2 : 1;
  }

  extraDelayMs(command: string): number {
    let ms = 0;
    for (const f of this.faults) if (f.kind === 'delay-reply' && f.command === command) ms += f.ms;
    return ms;
  }

  errorReply(command: string): { class: string; desc: string } | undefined {
    const f = this.faults.find((x) => x.kind === 'error-reply' && x.command === command);
    return f?.kind === 'error-reply' ? { class: f.errorClass, desc: f.desc } : undefined;
  }

  /**
   * Raw text to send instead of the reply to `command` (malformed / oversized), once per fault.
   * Without a command named, the first reply after negotiation is replaced.
   */
  replaceReply(command: string, negotiated: boolean, id: unknown): string | undefined {
    for (const f of this.faults) {
      if ((f.kind !== 'malformed' && f.kind !== 'oversized') || this.replacedOnce.has(f)) continue;
      const applies = f.command ? f.command === command : negotiated && command !== 'qmp_capabilities';
      if (!applies) continue;
      this.replacedOnce.add(f);
      if (f.kind === 'malformed') return `{"return": {"truncated": \r\n`;
      const head = JSON.stringify({ return: { padding: '' }, id }).length;
      return `${JSON.stringify({ return: { padding: 'x'.repeat(Math.max(0, f.bytes - head)) }, id })}\r\n`;
    }
    return undefined;
  }
}
