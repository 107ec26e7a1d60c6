/*
 * A trace compiled for replay: command/reply exchanges with the events around them
 * (docs/trace-format.md, "Replay").
 */
import type { QmpMessage } from '../src/framing.js';
import { QmpError } from '../src/errors.js';
import { isJsonObject as isObject } from '../src/util/json.js';
import type { Trace, TraceMessage } from './trace.js';

export interface TimedEvent {
  t: number;
  msg: QmpMessage;
}

export interface Exchange {
  index: number;
  name: string;
  args: Record<string, unknown> | undefined;
  command: QmpMessage;
  line: number;
  t: number;
  /** Events QEMU sent between the command and its reply (e.g. JOB_STATUS_CHANGE created/running). */
  before: TimedEvent[];
  reply: TimedEvent | undefined;
  /** Events after the reply, up to the next command. */
  after: TimedEvent[];
  /** Whether qmp_capabilities had succeeded before this command was sent. */
  negotiated: boolean;
}

export interface Script {
  source: string;
  greeting: QmpMessage;
  greetingT: number;
  /** Events between the greeting and the first command. */
  initial: TimedEvent[];
  exchanges: Exchange[];
  /** Set when QEMU closed the connection at the end of the recording (recorded time). */
  qemuEndT: number | undefined;
}

export { isJsonObject as isObject } from '../src/util/json.js';

export function commandName(message: QmpMessage): string | undefined {
  const name = message.execute ?? message['exec-oob'];
  return typeof name === 'string' ? name : undefined;
}

/** Turns a trace into command/reply exchanges with the events around them. */
export function compile(trace: Trace): Script {
  const [greeting, ...rest] = trace.messages as [TraceMessage, ...TraceMessage[]];
  const script: Script = { source: trace.source, greeting: greeting.msg, greetingT: greeting.t, initial: [], exchanges: [], qemuEndT: undefined };
  const unanswered: Exchange[] = [];
  let negotiated = false;
  for (const record of rest) {
    if (record.dir === 'out') {
      const name = commandName(record.msg) ?? '';
      const exchange: Exchange = {
        index: script.exchanges.length,
        name,
        args: isObject(record.msg.arguments) ? record.msg.arguments : undefined,
        command: record.msg,
        line: record.line,
        t: record.t,
        before: [],
        reply: undefined,
        after: [],
        negotiated,
      };
      script.exchanges.push(exchange);
      unanswered.push(exchange);
      continue;
    }
    const timed = { t: record.t, msg: record.msg };
    if ('event' in record.msg) {
      const open = unanswered[0];
      const last = script.exchanges[script.exchanges.length - 1];
      if (open) open.before.push(timed);
      else if (last) last.after.push(timed);
      else script.initial.push(timed);
      continue;
    }
    if ('return' in record.msg || 'error' in record.msg) {
      const key = JSON.stringify(record.msg.id);
      const at = unanswered.findIndex((e) => JSON.stringify(e.command.id) === key);
      const exchange = unanswered[at === -1 ? 0 : at];
      if (!exchange) continue;
      unanswered.splice(unanswered.indexOf(exchange), 1);
      exchange.reply = timed;
      if (exchange.name === 'qmp_capabilities' && 'return' in record.msg) negotiated = true;
    }
  }
  if (trace.end?.end === 'qemu') script.qemuEndT = trace.end.t;
  return script;
}

/** A client did something the strict replay did not expect. */
export class ReplayDeviationError extends QmpError {
  constructor(
    readonly traceSource: string,
    readonly line: number | undefined,
    readonly expected: QmpMessage | undefined,
    readonly got: QmpMessage,
  ) {
    super(
      `mock-qmp strict replay: ${traceSource}${line ? `:${line}` : ''}: expected ${
        expected ? JSON.stringify(stripId(expected)) : 'no more commands (the trace ends here)'
      }, got ${JSON.stringify(stripId(got))}`,
    );
  }
}

export function stripId(message: QmpMessage): QmpMessage {
  const { id: _id, ...rest } = message;
  return rest;
}

export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

export function withoutKey(args: Record<string, unknown> | undefined, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = args ?? {};
  return rest;
}

export const isQuery = (name: string): boolean => name.startsWith('query-');

/**
 * The next unused exchange for this command, if only queries lie between it and position `pos`
 * (skipping a query is harmless; skipping a command that changes state is not).
 */
export function findForward(script: Script, pos: number, name: string, argsMatch: (e: Exchange) => boolean): Exchange | undefined {
  let firstByName: Exchange | undefined;
  for (let i = pos; i < script.exchanges.length; i++) {
    const exchange = script.exchanges[i]!;
    if (exchange.name === name && (exchange.negotiated || name === 'qmp_capabilities')) {
      if (argsMatch(exchange)) return exchange;
      firstByName ??= exchange;
    }
    if (!isQuery(exchange.name)) break;
  }
  return firstByName && !isQuery(name) ? firstByName : firstByName?.index === pos ? firstByName : undefined;
}

/** The recorded exchange for this command nearest to position `pos` (earlier ones win ties). */
export function findNearest(script: Script, pos: number, negotiated: boolean, name: string, argsMatch: (e: Exchange) => boolean): Exchange | undefined {
  const same = script.exchanges.filter((e) => e.name === name && e.reply && e.negotiated === negotiated);
  const matching = same.filter(argsMatch);
  const pool = matching.length ? matching : same;
  let best: Exchange | undefined;
  let bestDistance = Infinity;
  for (const e of pool) {
    const distance = e.index < pos ? pos - 1 - e.index : e.index - pos + 0.5;
    if (distance < bestDistance) {
      best = e;
      bestDistance = distance;
    }
  }
  return best;
}
