/*
 * The replay server: speaks QMP to a client from a recorded trace. See docs/trace-format.md for
 * how commands are matched, how job names are mapped and how time is scaled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { QmpMessage } from '../src/framing.js';
import { QmpError } from '../src/errors.js';
import { ByteStream, listenStreams } from '../src/transport/byte-stream.js';
import type { SocketAddress } from '../src/transport/socket.js';
import { FaultPlan, type Fault } from './faults.js';
import { jsonDialectOf } from '../src/json-stream.js';
import { QmpInputReader, type QmpRefusal, type QmpRequest } from '../src/protocol/request.js';
import { redactArguments } from '../src/trace/redact.js';
import {
  canonical,
  compile,
  findForward,
  findNearest,
  isQuery,
  ReplayDeviationError,
  stripId,
  withoutKey,
  type Exchange,
  type Script,
  type TimedEvent,
} from './script.js';
import { twinArguments, twinOf, twinReply } from './verb-twins.js';
import { createsJob, jobNameOf, JobNames, transactionJobs, withoutActionJobIds } from './job-names.js';
import { OutputQueue, type Outgoing } from './output.js';
import { buildModel, policySchemaBeside } from './model/model.js';
import { ModelWorld } from './model/world.js';
import { ModelSession } from './model/session.js';
import { readTrace, type Trace } from './trace.js';

export { ReplayDeviationError } from './script.js';

export interface MockQmpOptions {
  /** A trace file path, trace text is not accepted here: pass parseTrace(text) instead. */
  trace: string | Trace;
  /** UNIX socket path to listen on. Neither this nor `tcp`: a socket in a private temporary folder. */
  socket?: string | undefined;
  /** TCP address to listen on (port 0: any free port). */
  tcp?: { host: string; port: number } | undefined;
  /** Time scale: 2 plays twice as fast. Default 1. */
  speed?: number | undefined;
  /** No delays at all (order is kept). */
  instant?: boolean | undefined;
  /** Fail on the first deviation from the recorded command sequence. */
  strict?: boolean | undefined;
  faults?: readonly Fault[] | undefined;
  /**
   * Answer from a model of what QEMU had (block graph, jobs, refusals) built from the trace, so any
   * client's equivalent commands get QEMU's answers (docs/trace-format.md, "Model").
   */
  model?: boolean | undefined;
  /** Model: events carry their recorded timestamps instead of the current time. */
  recordedTime?: boolean | undefined;
  /** Model: a trace holding a query-qmp-schema reply, for traces that have none. */
  schema?: string | Trace | undefined;
  /** Strict-mode deviations and input errors. */
  onError?: ((error: QmpError) => void) | undefined;
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

class Session {
  private readonly script: Script;
  /** Every command name the transcript recorded (for the job-X / block-job-X twins, verb-twins.ts). */
  private readonly recordedNames: ReadonlySet<string>;
  private readonly options: MockQmpOptions;
  private readonly faults: FaultPlan;
  private readonly scale: number;
  private readonly input: QmpInputReader;
  /** Next exchange whose reply has not been used. */
  private pos = 0;
  /** Exchanges before this one have had their events scheduled. */
  private eventsUpTo = 0;
  private negotiated = false;
  /** Recorded job name → the client's name for it, and back. */
  private readonly jobs = new JobNames();
  private lastDue = 0;
  private lastItemT = 0;
  private endScheduled = false;

  private readonly out: OutputQueue;
  /** Set with `model: true`: commands are answered by the model of what QEMU had, not by the replay. */
  private readonly model: ModelSession | undefined;

  constructor(script: Script, options: MockQmpOptions, stream: ByteStream, world: ModelWorld | undefined) {
    this.script = script;
    this.recordedNames = new Set(script.exchanges.map((x) => x.name));
    this.options = options;
    this.faults = new FaultPlan(options.faults);
    this.scale = options.instant ? 0 : 1 / (options.speed ?? 1);
    // QEMU's own reading of client input (src/protocol/request.ts), shared with `share`. OOB is never
    // offered by the mock, so exec-oob is refused as QEMU refuses it without OOB.
    // The dialect is the recorded QEMU's (its greeting's version), as `share` takes its QEMU's.
    const version = (script.greeting as { QMP?: { version?: { qemu?: { major?: unknown } } } }).QMP?.version?.qemu;
    const dialect = typeof version?.major === 'number' ? jsonDialectOf({ major: version.major }) : undefined;
    this.input = new QmpInputReader(
      (request) => this.onInput(request),
      () => false,
      dialect ? { dialect } : {},
    );
    // The reader is synchronous: no input backlog holds reading back.
    this.out = new OutputQueue(
      stream,
      this.faults,
      () => 0,
      () => this.model?.negotiated ?? this.negotiated,
    );
    this.model = world ? new ModelSession(world, this.out, { strict: options.strict === true, onError: options.onError }) : undefined;
    stream.start({
      onData: (chunk) => {
        this.input.push(chunk);
        this.out.flow();
      },
      // As QEMU: what the client sent before its EOF is answered, then the connection closes.
      onEnd: () => {
        if (!this.done) this.enqueue(Math.max(this.lastDue, performance.now()), { kind: 'close' });
      },
      onClose: () => this.stop(),
    });
    const now = performance.now();
    this.lastDue = now;
    this.enqueue(now, { kind: 'message', message: script.greeting });
    this.lastItemT = script.greetingT;
    if (!this.model) for (const event of script.initial) this.scheduleTimed(event);
  }

  private get done(): boolean {
    return this.out.done;
  }

  private stop(): void {
    this.out.stop();
    this.model?.stop();
  }

  // ---------------------------------------------------------------- input

  private onInput(request: QmpRequest | QmpRefusal): void {
    if (this.done) return;
    const now = performance.now();
    if ('refusal' in request) {
      // QEMU's answer to input it refuses before dispatch; the connection goes on, as on QEMU.
      const desc = request.refusal.error.desc;
      if (desc.startsWith('JSON ')) this.options.onError?.(new QmpError(`mock-qmp: ${desc}`));
      this.replyNow(now, request.refusal);
      return;
    }
    const command = request.message;
    const name = request.command;
    const reply = (body: QmpMessage): QmpMessage => (request.hasId ? { ...body, id: request.id } : body);
    let args = request.arguments;
    // Not in strict mode: there the client must send what was recorded, and a deviation names what it sent.
    const twin = this.model || this.options.strict ? undefined : twinOf(name);
    if (twin !== undefined && !this.recordedNames.has(name) && this.recordedNames.has(twin)) {
      // Recorded with the twin verb (block-job-complete for job-complete): replayed as that, answered as QEMU answers `name`.
      const asked = name;
      const job = args?.[asked.startsWith('block-') ? 'device' : 'id'];
      args = twinArguments(twin, args);
      const replyAs = reply;
      this.replayCommand(now, twin, args, { ...command, execute: twin, ...(args ? { arguments: args } : {}) }, (body) => replyAs(twinReply(asked, body, job)));
      return;
    }
    this.replayCommand(now, name, args, command, reply);
  }

  private replayCommand(
    now: number,
    name: string,
    args: Record<string, unknown> | undefined,
    command: QmpMessage,
    reply: (body: QmpMessage) => QmpMessage,
  ): void {
    const injected = this.faults.errorReply(name);
    if (injected) {
      this.replyNow(now, reply({ error: injected }), name);
      return;
    }
    if (this.model) {
      try {
        this.model.command(name, args, reply, command);
      } catch (error) {
        // A transcript the model cannot make sense of must not look like the client's fault.
        const desc = `mock-qmp model: ${(error as Error).message}`;
        this.options.onError?.(new QmpError(desc, { cause: error }));
        this.replyNow(now, reply({ error: { class: 'GenericError', desc } }), name);
      }
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
    const forward = findForward(this.script, this.pos, name, (e) => this.argsMatch(e, name, args));
    if (forward) {
      this.advanceTo(now, forward, name, args, reply);
      return;
    }
    const nearest = findNearest(this.script, this.pos, this.negotiated, name, (e) => this.argsMatch(e, name, args));
    if (nearest?.reply) {
      if (name === 'qmp_capabilities' && !('error' in nearest.reply.msg)) this.negotiated = true;
      this.replyNow(now, reply(this.jobs.mapOut(stripId(nearest.reply.msg), name)), name);
      return;
    }
    this.replyNow(now, reply({ error: { class: 'CommandNotFound', desc: `The command ${name} has not been found` } }), name);
  }

  private strictStep(now: number, name: string, args: Record<string, unknown> | undefined, command: QmpMessage, reply: (body: QmpMessage) => QmpMessage): void {
    const expected = this.script.exchanges[this.pos];
    if (expected && expected.name === name && this.argsMatch(expected, name, args)) {
      this.advanceTo(now, expected, name, args, reply);
      return;
    }
    const error = new ReplayDeviationError(this.script.source, expected?.line, expected?.command, command);
    this.options.onError?.(error);
    this.replyNow(now, reply({ error: { class: 'GenericError', desc: error.message } }), name);
    this.enqueue(now, { kind: 'close' });
    this.out.done = true;
  }

  /** Client args, with its job names turned back into the recorded ones, compared with a recorded command. */
  private argsMatch(exchange: Exchange, name: string, args: Record<string, unknown> | undefined): boolean {
    if (createsJob(name, args) || createsJob(exchange.name, exchange.args)) {
      // The job's own name may differ (that is what the mapping is for), and so may a device-named job.
      return canonical(withoutKey(args, 'job-id')) === canonical(withoutKey(exchange.args, 'job-id'));
    }
    if (transactionJobs(name, args).length) return canonical(withoutActionJobIds(args)) === canonical(withoutActionJobIds(exchange.args));
    // Compared as a trace records them: a redacted secret ("<redacted>") matches whatever the client sends.
    return canonical(redactArguments(name, this.jobs.mapIn(name, args)) ?? {}) === canonical(redactArguments(exchange.name, exchange.args) ?? {});
  }

  // ---------------------------------------------------------------- scheduling

  private advanceTo(now: number, exchange: Exchange, name: string, args: Record<string, unknown> | undefined, reply: (body: QmpMessage) => QmpMessage): void {
    if (createsJob(name, args)) this.jobs.learn(jobNameOf(exchange.args), jobNameOf(args));
    const recordedJobs = transactionJobs(exchange.name, exchange.args);
    for (const [i, job] of transactionJobs(name, args).entries()) this.jobs.learn(jobNameOf(recordedJobs[i]?.args), jobNameOf(job.args));
    if (this.eventsUpTo > exchange.index) {
      // A query whose events already flowed on (see flowOn): only its reply is left to send.
      this.pos = exchange.index + 1;
      if (exchange.reply) this.replyNow(now, reply(this.jobs.mapOut(stripId(exchange.reply.msg), name)), name);
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
      this.enqueueReply(due, reply(this.jobs.mapOut(stripId(exchange.reply.msg), name)), name);
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
    return { kind: 'message', message: this.jobs.mapOut(message, undefined) };
  }

  private replyNow(now: number, message: QmpMessage, command?: string): void {
    this.out.replyNow(now, message, command);
  }

  private enqueueReply(due: number, message: QmpMessage, command: string | undefined): void {
    this.out.reply(due, message, command);
  }

  private enqueue(due: number, item: Omit<Outgoing, 'due' | 'seq'>): void {
    this.out.enqueue(due, item);
  }
}

/** Starts a replay server for a recorded trace. */
export async function startMockQmp(options: MockQmpOptions): Promise<MockQmpServer> {
  const trace = typeof options.trace === 'string' ? readTrace(options.trace) : options.trace;
  const script = compile(trace);
  const schema = options.schema === undefined ? policySchemaBeside(trace) : typeof options.schema === 'string' ? readTrace(options.schema) : options.schema;
  const model = options.model ? buildModel(trace, script, schema) : undefined;
  if (options.speed !== undefined && !(options.speed > 0)) throw new RangeError('speed must be a positive number');
  if (options.socket && options.tcp) throw new TypeError('give at most one of socket or tcp');
  // Neither: a socket in a private folder (0700) of its own, removed on close — for in-process use.
  const privateDir = options.socket || options.tcp ? undefined : mkdtempSync(path.join(os.tmpdir(), 'mock-qmp-'));
  const address: SocketAddress = options.tcp ?? { path: options.socket ?? path.join(privateDir!, 'qmp.sock') };
  // One QEMU behind every connection: the model's state is the server's, not a connection's.
  const world = model
    ? new ModelWorld(model, { scale: options.instant ? 0 : 1 / (options.speed ?? 1), recordedTime: options.recordedTime === true })
    : undefined;
  let connections = 0;
  const listener = await listenStreams(address, (stream) => {
    connections += 1;
    new Session(script, options, stream, world);
  });
  const bound = listener.address;
  return {
    ...('path' in bound ? { path: bound.path } : { port: bound.port }),
    address: bound,
    get connections() {
      return connections;
    },
    close: async () => {
      world?.stop();
      await listener.close();
      if (privateDir) rmSync(privateDir, { recursive: true, force: true });
    },
  };
}
