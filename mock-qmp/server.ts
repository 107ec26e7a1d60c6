/*
 * The replay server: speaks QMP to a client from a recorded trace. See docs/trace-format.md for
 * how commands are matched, how job names are mapped and how time is scaled.
 */
import type { JsonValue } from 'json-stream-es';
import type { QmpMessage } from '../src/framing.js';
import { QmpError } from '../src/protocol/errors.js';
import { ByteStream, listenStreams } from '../src/transport/byte-stream.js';
import type { SocketAddress } from '../src/transport/socket.js';
import { FaultPlan, type Fault } from './faults.js';
import { InputParser } from './input.js';
import { redactArguments } from './redact.js';
import { setLongTimeout, type LongTimer } from '../src/util/timers.js';
import { readTrace, type Trace, type TraceMessage } from './trace.js';

export interface MockQmpOptions {
  /** A trace file path, trace text is not accepted here: pass parseTrace(text) instead. */
  trace: string | Trace;
  /** UNIX socket path to listen on. */
  socket?: string;
  /** TCP address to listen on (port 0: any free port). */
  tcp?: { host: string; port: number };
  /** Time scale: 2 plays twice as fast. Default 1. */
  speed?: number;
  /** No delays at all (order is kept). */
  instant?: boolean;
  /** Fail on the first deviation from the recorded command sequence. */
  strict?: boolean;
  faults?: readonly Fault[];
  /** Strict-mode deviations and input errors. */
  onError?: (error: QmpError) => void;
}

export interface MockQmpServer {
  /** The UNIX socket path, when listening on one. */
  readonly path?: string;
  /** The TCP port, when listening on TCP. */
  readonly port?: number;
  readonly address: SocketAddress;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Stops listening and drops every connection. */
  close(): Promise<void>;
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

function stripId(message: QmpMessage): QmpMessage {
  const { id: _id, ...rest } = message;
  return rest;
}

interface TimedEvent {
  t: number;
  msg: QmpMessage;
}

interface Exchange {
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

interface Script {
  source: string;
  greeting: QmpMessage;
  greetingT: number;
  /** Events between the greeting and the first command. */
  initial: TimedEvent[];
  exchanges: Exchange[];
  /** Set when QEMU closed the connection at the end of the recording (recorded time). */
  qemuEndT: number | undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function commandName(message: QmpMessage): string | undefined {
  const name = message.execute ?? message['exec-oob'];
  return typeof name === 'string' ? name : undefined;
}

/** Turns a trace into command/reply exchanges with the events around them. */
function compile(trace: Trace): Script {
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

const JOB_CREATING = new Set(['block-commit', 'block-stream', 'drive-mirror', 'blockdev-mirror', 'drive-backup', 'blockdev-backup']);
const JOB_COMMANDS = new Set([
  'block-job-complete', 'block-job-cancel', 'block-job-pause', 'block-job-resume', 'block-job-set-speed',
  'block-job-finalize', 'block-job-dismiss', 'block-job-change',
  'job-complete', 'job-cancel', 'job-pause', 'job-resume', 'job-finalize', 'job-dismiss',
]);

function createsJob(name: string, args: Record<string, unknown> | undefined): boolean {
  return JOB_CREATING.has(name) || (args !== undefined && 'job-id' in args);
}

/** The name QEMU gives the job a command creates: its job-id, or the device when there is none. */
function jobNameOf(args: Record<string, unknown> | undefined): string | undefined {
  const name = args?.['job-id'] ?? args?.device;
  return typeof name === 'string' ? name : undefined;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

function withoutKey(args: Record<string, unknown> | undefined, key: string): Record<string, unknown> {
  const { [key]: _dropped, ...rest } = args ?? {};
  return rest;
}

const isQuery = (name: string): boolean => name.startsWith('query-');

/** Output waiting for its time. Kept sorted by due time, then by insertion order. */
interface Outgoing {
  due: number;
  seq: number;
  kind: 'message' | 'raw' | 'close';
  message?: QmpMessage;
  raw?: string;
  /** A reply (counted for backpressure), not an event. */
  reply?: boolean;
}

const MAX_QUEUED_REPLIES = 1024;
const MAX_INPUT_BACKLOG = 1024 * 1024;

class Session {
  private readonly script: Script;
  private readonly options: MockQmpOptions;
  private readonly stream: ByteStream;
  private readonly faults: FaultPlan;
  private readonly scale: number;
  private readonly input: InputParser;
  /** Next exchange whose reply has not been used. */
  private pos = 0;
  /** Exchanges before this one have had their events scheduled. */
  private eventsUpTo = 0;
  private negotiated = false;
  /** Recorded job name → the client's name for it, and back. */
  private readonly toClient = new Map<string, string>();
  private readonly toRecorded = new Map<string, string>();
  private readonly queue: Outgoing[] = [];
  private seq = 0;
  private lastDue = 0;
  private lastItemT = 0;
  private timer: LongTimer | undefined;
  private writing = false;
  private done = false;
  /** Replies queued and not yet written; with the parser's backlog, what decides reading (flow). */
  private repliesQueued = 0;
  private paused = false;
  private endScheduled = false;

  constructor(script: Script, options: MockQmpOptions, stream: ByteStream) {
    this.script = script;
    this.options = options;
    this.stream = stream;
    this.faults = new FaultPlan(options.faults);
    this.scale = options.instant ? 0 : 1 / (options.speed ?? 1);
    this.input = new InputParser(
      (value) => this.onInput(value),
      (error) => this.onBadInput(error),
      undefined,
      () => this.flow(),
    );
    stream.start({
      onData: (chunk) => {
        this.input.push(chunk);
        this.flow();
      },
      onClose: () => this.stop(),
    });
    const now = performance.now();
    this.lastDue = now;
    this.enqueue(now, { kind: 'message', message: script.greeting });
    this.lastItemT = script.greetingT;
    for (const event of script.initial) this.scheduleTimed(event);
  }

  /**
   * Backpressure: a client that sends and never reads must not make the server queue replies without
   * bound (200k commands once took 207 MB). Reading stops while many replies wait to be written or
   * the parser is behind, and resumes when both are low again.
   */
  private flow(): void {
    const busy = this.repliesQueued >= MAX_QUEUED_REPLIES || this.input.backlog >= MAX_INPUT_BACKLOG;
    if (busy && !this.paused) {
      this.paused = true;
      this.stream.pause();
    } else if (this.paused && this.repliesQueued < MAX_QUEUED_REPLIES / 4 && this.input.backlog < MAX_INPUT_BACKLOG / 4) {
      this.paused = false;
      this.stream.resume();
    }
  }

  private stop(): void {
    this.done = true;
    this.timer?.clear();
    this.queue.length = 0;
    this.repliesQueued = 0;
  }

  // ---------------------------------------------------------------- input

  private onBadInput(error: Error): void {
    // QEMU answers unparsable input with an id-less GenericError; this parser cannot resync, so the
    // connection ends after the error (documented in docs/trace-format.md).
    const desc = `JSON parse error, ${error.message}`;
    this.options.onError?.(new QmpError(`mock-qmp: ${desc}`, { cause: error }));
    this.enqueue(performance.now(), { kind: 'message', message: { error: { class: 'GenericError', desc } } });
    this.enqueue(performance.now(), { kind: 'close' });
  }

  private onInput(value: JsonValue): void {
    if (this.done) return;
    const now = performance.now();
    if (!isObject(value)) {
      this.replyNow(now, { error: { class: 'GenericError', desc: 'QMP input must be a JSON object' } });
      return;
    }
    const command = value as QmpMessage;
    const hasId = 'id' in command;
    const name = commandName(command);
    const reply = (body: QmpMessage): QmpMessage => (hasId ? { ...body, id: command.id } : body);
    if (name === undefined) {
      this.replyNow(now, reply({ error: { class: 'GenericError', desc: "QMP input lacks member 'execute'" } }));
      return;
    }
    const args = isObject(command.arguments) ? command.arguments : undefined;
    const injected = this.faults.errorReply(name);
    if (injected) {
      this.replyNow(now, reply({ error: injected }), name);
      return;
    }
    if (this.options.strict) {
      this.strictStep(now, name, args, command, reply);
      return;
    }
    if (!this.negotiated && name !== 'qmp_capabilities') {
      const recorded = this.script.exchanges[this.pos];
      if (recorded && !recorded.negotiated && recorded.name === name) {
        this.advanceTo(now, recorded, name, args, reply);
        return;
      }
      this.replyNow(now, reply({ error: { class: 'CommandNotFound', desc: "Expecting capabilities negotiation with 'qmp_capabilities'" } }), name);
      return;
    }
    if (this.negotiated && name === 'qmp_capabilities') {
      this.replyNow(now, reply({ error: { class: 'CommandNotFound', desc: 'Capabilities negotiation is already complete, command ignored' } }), name);
      return;
    }
    const forward = this.findForward(name, args);
    if (forward) {
      this.advanceTo(now, forward, name, args, reply);
      return;
    }
    const nearest = this.findNearest(name, args);
    if (nearest?.reply) {
      if (name === 'qmp_capabilities' && !('error' in nearest.reply.msg)) this.negotiated = true;
      this.replyNow(now, reply(this.mapOut(stripId(nearest.reply.msg), name)), name);
      return;
    }
    this.replyNow(now, reply({ error: { class: 'CommandNotFound', desc: `The command ${name} has not been found` } }), name);
  }

  private strictStep(
    now: number,
    name: string,
    args: Record<string, unknown> | undefined,
    command: QmpMessage,
    reply: (body: QmpMessage) => QmpMessage,
  ): void {
    const expected = this.script.exchanges[this.pos];
    if (expected && expected.name === name && this.argsMatch(expected, name, args)) {
      this.advanceTo(now, expected, name, args, reply);
      return;
    }
    const error = new ReplayDeviationError(this.script.source, expected?.line, expected?.command, command);
    this.options.onError?.(error);
    this.replyNow(now, reply({ error: { class: 'GenericError', desc: error.message } }), name);
    this.enqueue(now, { kind: 'close' });
    this.done = true;
  }

  /** Client args, with its job names turned back into the recorded ones, compared with a recorded command. */
  private argsMatch(exchange: Exchange, name: string, args: Record<string, unknown> | undefined): boolean {
    if (createsJob(name, args) || createsJob(exchange.name, exchange.args)) {
      // The job's own name may differ (that is what the mapping is for), and so may a device-named job.
      return canonical(withoutKey(args, 'job-id')) === canonical(withoutKey(exchange.args, 'job-id'));
    }
    // Compared as a trace records them: a redacted secret ("<redacted>") matches whatever the client sends.
    return canonical(redactArguments(name, this.mapIn(name, args)) ?? {}) === canonical(redactArguments(exchange.name, exchange.args) ?? {});
  }

  /**
   * The next unused exchange for this command, if only queries lie between it and the current
   * position (skipping a query is harmless; skipping a command that changes state is not).
   */
  private findForward(name: string, args: Record<string, unknown> | undefined): Exchange | undefined {
    let firstByName: Exchange | undefined;
    for (let i = this.pos; i < this.script.exchanges.length; i++) {
      const exchange = this.script.exchanges[i]!;
      if (exchange.name === name && (exchange.negotiated || name === 'qmp_capabilities')) {
        if (this.argsMatch(exchange, name, args)) return exchange;
        firstByName ??= exchange;
      }
      if (!isQuery(exchange.name)) break;
    }
    return firstByName && !isQuery(name) ? firstByName : firstByName?.index === this.pos ? firstByName : undefined;
  }

  /** The recorded exchange for this command nearest to the current position (earlier ones win ties). */
  private findNearest(name: string, args: Record<string, unknown> | undefined): Exchange | undefined {
    const same = this.script.exchanges.filter((e) => e.name === name && e.reply && e.negotiated === this.negotiated);
    const matching = same.filter((e) => this.argsMatch(e, name, args));
    const pool = matching.length ? matching : same;
    let best: Exchange | undefined;
    let bestDistance = Infinity;
    for (const e of pool) {
      const distance = e.index < this.pos ? this.pos - 1 - e.index : e.index - this.pos + 0.5;
      if (distance < bestDistance) {
        best = e;
        bestDistance = distance;
      }
    }
    return best;
  }

  // ---------------------------------------------------------------- scheduling

  private advanceTo(
    now: number,
    exchange: Exchange,
    name: string,
    args: Record<string, unknown> | undefined,
    reply: (body: QmpMessage) => QmpMessage,
  ): void {
    if (createsJob(name, args)) this.learnJobName(jobNameOf(exchange.args), jobNameOf(args));
    if (this.eventsUpTo > exchange.index) {
      // A query whose events already flowed on (see flowOn): only its reply is left to send.
      this.pos = exchange.index + 1;
      if (exchange.reply) this.replyNow(now, reply(this.mapOut(stripId(exchange.reply.msg), name)), name);
      this.maybeEnd();
      return;
    }
    // Events of skipped exchanges (queries) happened before this command was sent: send them now.
    const base = Math.max(now, this.lastDue);
    this.lastDue = base;
    this.lastItemT = exchange.t;
    for (let i = this.eventsUpTo; i < exchange.index; i++) {
      const skipped = this.script.exchanges[i]!;
      for (const event of [...skipped.before, ...skipped.after]) this.enqueue(base, this.eventItem(event.msg));
    }
    for (const event of exchange.before) this.scheduleTimed(event);
    if (exchange.reply) {
      const extra = this.faults.extraDelayMs(name);
      const due = this.dueFor(exchange.reply.t) + extra;
      if (!exchange.reply.msg.error && name === 'qmp_capabilities') this.negotiated = true;
      this.lastDue = Math.max(this.lastDue, due);
      this.lastItemT = Math.max(this.lastItemT, exchange.reply.t);
      this.enqueueReply(due, reply(this.mapOut(stripId(exchange.reply.msg), name)), name);
    }
    for (const event of exchange.after) this.scheduleTimed(event);
    this.pos = exchange.index + 1;
    this.eventsUpTo = Math.max(this.eventsUpTo, this.pos);
    this.flowOn();
  }

  /**
   * Events keep coming after the last command whether or not the client asks anything: the events
   * recorded after later queries are scheduled too (the client may not poll as the recording did),
   * and a recording that ended with QEMU going away ends the replay the same way.
   */
  private flowOn(): void {
    const exchanges = this.script.exchanges;
    while (this.eventsUpTo < exchanges.length && isQuery(exchanges[this.eventsUpTo]!.name)) {
      const query = exchanges[this.eventsUpTo]!;
      for (const event of [...query.before, ...query.after]) this.scheduleTimed(event);
      this.eventsUpTo += 1;
    }
    this.maybeEnd();
  }

  /**
   * A recording that ended with QEMU going away ends the same way once all of it was played. In
   * real time that is at the recorded moment; with --instant time means nothing, so the close
   * waits until the client has also sent every recorded command.
   */
  private maybeEnd(): void {
    const total = this.script.exchanges.length;
    if (this.endScheduled || this.script.qemuEndT === undefined || this.eventsUpTo < total) return;
    if (this.options.instant && this.pos < total) return;
    this.endScheduled = true;
    this.enqueue(this.dueFor(this.script.qemuEndT), { kind: 'close' });
  }

  /** Wall-clock due time of something recorded at `t`, keeping the recorded spacing. */
  private dueFor(t: number): number {
    return Math.max(this.lastDue, this.lastDue + (t - this.lastItemT) * 1000 * this.scale);
  }

  private scheduleTimed(event: TimedEvent): void {
    const due = this.dueFor(event.t);
    this.lastDue = due;
    this.lastItemT = Math.max(this.lastItemT, event.t);
    this.enqueue(due, this.eventItem(event.msg));
  }

  private eventItem(message: QmpMessage): Omit<Outgoing, 'due' | 'seq'> {
    return { kind: 'message', message: this.mapOut(message, undefined) };
  }

  /** A reply outside the recorded timeline (errors, repeated queries): sent now, ahead of pending events. */
  private replyNow(now: number, message: QmpMessage, command?: string): void {
    this.enqueueReply(now + (command ? this.faults.extraDelayMs(command) : 0), message, command);
  }

  private enqueueReply(due: number, message: QmpMessage, command: string | undefined): void {
    const raw = command ? this.faults.replaceReply(command, this.negotiated, message.id) : undefined;
    this.enqueue(due, raw === undefined ? { kind: 'message', message, reply: true } : { kind: 'raw', raw, reply: true });
    if (!this.done) this.repliesQueued += 1;
    this.flow();
  }

  private enqueue(due: number, item: Omit<Outgoing, 'due' | 'seq'>): void {
    if (this.done) return;
    const entry: Outgoing = { ...item, due, seq: this.seq++ };
    let at = this.queue.length;
    while (at > 0 && this.queue[at - 1]!.due > due) at--;
    this.queue.splice(at, 0, entry);
    this.pump();
  }

  private pump(): void {
    if (this.writing || this.done && this.queue.length === 0) return;
    if (this.timer) {
      this.timer.clear();
      this.timer = undefined;
    }
    const head = this.queue[0];
    if (!head) return;
    const wait = head.due - performance.now();
    if (wait > 0) {
      this.timer = setLongTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      return;
    }
    this.queue.shift();
    this.writing = true;
    void this.emit(head).then(() => {
      this.writing = false;
      if (head.reply) {
        this.repliesQueued -= 1;
        this.flow();
      }
      this.pump();
    });
  }

  private async emit(item: Outgoing): Promise<void> {
    if (item.kind === 'close') {
      this.stream.end();
      this.stop();
      return;
    }
    if (item.kind === 'message' && item.message) {
      const name = typeof item.message.event === 'string' ? item.message.event : undefined;
      const copies = name ? this.faults.eventCopies(name) : 1;
      for (let i = 0; i < copies; i++) {
        if (this.faults.closeBefore(item.message)) {
          this.stream.end();
          this.stop();
          return;
        }
        await this.write(`${JSON.stringify(item.message)}\r\n`);
      }
      return;
    }
    if (item.raw !== undefined) {
      if (this.faults.closeBefore({})) {
        this.stream.end();
        this.stop();
        return;
      }
      await this.write(item.raw);
    }
  }

  private async write(text: string): Promise<void> {
    if (!this.faults.byteByByte) {
      await this.stream.write(text);
      return;
    }
    for (const byte of Buffer.from(text)) {
      if (!(await this.stream.write(Uint8Array.of(byte)))) return;
      // A turn of the event loop between bytes, so the client reads them one at a time.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  // ---------------------------------------------------------------- job name mapping

  private learnJobName(recorded: string | undefined, client: string | undefined): void {
    if (!recorded || !client || recorded === client) return;
    this.toClient.set(recorded, client);
    this.toRecorded.set(client, recorded);
  }

  private mapIn(name: string, args: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
    if (!args || !JOB_COMMANDS.has(name)) return args;
    const mapped = { ...args };
    for (const key of ['device', 'id']) {
      const value = mapped[key];
      if (typeof value === 'string' && this.toRecorded.has(value)) mapped[key] = this.toRecorded.get(value);
    }
    return mapped;
  }

  /** Renames recorded jobs to the client's names in an event or a reply. */
  private mapOut(message: QmpMessage, command: string | undefined): QmpMessage {
    if (this.toClient.size === 0) return message;
    const rename = (value: unknown): unknown => (typeof value === 'string' ? (this.toClient.get(value) ?? value) : value);
    const renameJob = (entry: unknown): unknown =>
      isObject(entry) ? { ...entry, ...('id' in entry ? { id: rename(entry.id) } : {}), ...('device' in entry ? { device: rename(entry.device) } : {}) } : entry;
    if (typeof message.event === 'string' && /^(BLOCK_)?JOB_/.test(message.event)) {
      return { ...message, data: renameJob(message.data) };
    }
    if (command === 'query-jobs' || command === 'query-block-jobs') {
      if (Array.isArray(message.return)) return { ...message, return: message.return.map(renameJob) };
    }
    if (isObject(message.error) && typeof message.error.desc === 'string') {
      let desc = message.error.desc;
      for (const [recorded, client] of this.toClient) desc = desc.split(`'${recorded}'`).join(`'${client}'`);
      return { ...message, error: { ...message.error, desc } };
    }
    return message;
  }
}

/** Starts a replay server for a recorded trace. */
export async function startMockQmp(options: MockQmpOptions): Promise<MockQmpServer> {
  const trace = typeof options.trace === 'string' ? readTrace(options.trace) : options.trace;
  const script = compile(trace);
  if (options.speed !== undefined && !(options.speed > 0)) throw new RangeError('speed must be a positive number');
  const address: SocketAddress | undefined = options.socket ? { path: options.socket } : options.tcp;
  if (!address || (options.socket && options.tcp)) throw new TypeError('give exactly one of socket or tcp');
  let connections = 0;
  const listener = await listenStreams(address, (stream) => {
    connections += 1;
    new Session(script, options, stream);
  });
  const bound = listener.address;
  return {
    ...('path' in bound ? { path: bound.path } : { port: bound.port }),
    address: bound,
    get connections() {
      return connections;
    },
    close: () => listener.close(),
  };
}


