/*
 * What every block job shows and how it speaks to QEMU about itself, under the job core (core.ts):
 * its names, its state (from the state machine), listeners that see the job's history from its
 * first status on, progress read once, and the one wrapper for the commands a job sends (a refusal
 * comes back with where the data is). Following the job and its end live in core.ts.
 */
import { EventEmitter } from 'eventemitter3';
import { QmpCommandError } from '../errors.js';
import { describeNames } from '../block/chain.js';
import type { QmpClient } from '../protocol/client.js';
import type { JobVerbName, JobVerbs } from '../protocol/capabilities.js';
import type { JobStatus } from '../qapi/types.js';
import type { WaitOptions } from '../util/wait.js';
import type { JobInit } from './job-init.js';
import type { JobNoun } from './kinds.js';
import { JobCommandError, JobStateError, type JobErrorContext } from './errors.js';
import type { JobIoError, JobStateChange, JobStateEvents, JobStateMachine, TransitionAnomaly } from './state.js';
import { readRefusalFacts } from './refusal.js';
import type { JobProgress, JobRequest } from './types.js';

/** The QMP commands a job sends about itself that have no job-* equivalent (the others: JobVerbs). */
type BlockJobVerb = 'block-job-cancel' | 'block-job-set-speed' | 'block-job-change';

export abstract class JobView extends EventEmitter<JobStateEvents> {
  readonly client: QmpClient;
  readonly id: string;
  /** QEMU's name of the disk the job runs on: the `device` it was started on (a drive id or node name). */
  readonly device: string;
  /**
   * The disk as the caller named it ("vda"): DiskChain.requestedAs, else the name the disk is best
   * known by (diskLabel). A job attached by id with no AttachOptions.disk has only QEMU's name: then
   * it is `device` (the job id when no device was given either).
   */
  readonly disk: string;
  protected readonly kind: JobNoun;
  /** Both names, for messages: "vda [libvirt-1-format]". */
  protected readonly described: string;
  protected readonly machine: JobStateMachine;
  protected readonly commandTimeoutMs: number;
  protected request: JobRequest | undefined;
  private readonly verbs: JobVerbs;

  protected constructor(init: JobInit) {
    super();
    this.client = init.client;
    this.id = init.id;
    this.device = init.disk;
    this.disk = init.label;
    this.described = describeNames(this.disk, this.device);
    this.kind = init.kind;
    this.machine = init.machine;
    this.commandTimeoutMs = init.commandTimeoutMs;
    this.verbs = init.verbs;
    for (const name of ['state', 'ready', 'error', 'concluded', 'anomaly'] as const) {
      this.machine.on(name, (...args: unknown[]) => (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args));
    }
  }

  /**
   * Listeners see the job from its first status on, whenever they are attached: a listener added
   * late is first called (synchronously, in order) with what was already emitted — every state
   * change, READY, I/O errors, anomalies, the conclusion — then with what comes next. ("stopped"
   * is a condition, not history: check stoppedOnError.)
   */
  override on<T extends EventEmitter.EventNames<JobStateEvents>>(event: T, fn: EventEmitter.EventListener<JobStateEvents, T>, context?: unknown): this {
    for (const args of this.pastEmissions(event)) (fn as (...a: unknown[]) => void).apply(context, args);
    return super.on(event, fn, context);
  }

  override addListener<T extends EventEmitter.EventNames<JobStateEvents>>(
    event: T,
    fn: EventEmitter.EventListener<JobStateEvents, T>,
    context?: unknown,
  ): this {
    return this.on(event, fn, context);
  }

  /** As on(), once: a listener whose event already happened is called with the first one, at once. */
  override once<T extends EventEmitter.EventNames<JobStateEvents>>(event: T, fn: EventEmitter.EventListener<JobStateEvents, T>, context?: unknown): this {
    const [first] = this.pastEmissions(event);
    if (first) {
      (fn as (...a: unknown[]) => void).apply(context, first);
      return this;
    }
    return super.once(event, fn, context);
  }

  /** What `event` was emitted with so far, rebuilt from the job's record (the machine keeps all of it). */
  private pastEmissions(event: EventEmitter.EventNames<JobStateEvents>): unknown[][] {
    const m = this.machine;
    switch (event) {
      case 'state':
        return m.history.map((change, i) => [change, m.history[i - 1]?.status ?? 'undefined']);
      case 'ready':
        return m.readySince === undefined ? [] : [[m.readySince]];
      case 'error':
        return m.ioErrors.map((e) => [e]);
      case 'anomaly':
        return m.anomalies.map((a) => [a]);
      case 'concluded':
        return m.statuses.includes('concluded') ? [[m.ending]] : [];
      default:
        return [];
    }
  }

  // ------------------------------------------------------------------ state

  get status(): JobStatus {
    return this.machine.status;
  }

  /** Every status seen so far. */
  get states(): JobStatus[] {
    return this.machine.statuses;
  }

  get history(): readonly JobStateChange[] {
    return this.machine.history;
  }

  get ioErrors(): readonly JobIoError[] {
    return this.machine.ioErrors;
  }

  get anomalies(): readonly TransitionAnomaly[] {
    return this.machine.anomalies;
  }

  /** READY was seen (from the job's own events) and the job is in its synchronized phase. */
  get isReady(): boolean {
    return this.machine.isReady;
  }

  /** Progress for display, read once: offset/len from query-block-jobs (100 % does not mean ready). */
  async readProgress(options: WaitOptions = {}): Promise<JobProgress> {
    const jobs = await this.client.execute('query-block-jobs', undefined, {
      timeoutMs: options.timeoutMs ?? this.commandTimeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const info = jobs.find((j) => j.device === this.id);
    if (!info) {
      // Gone from QEMU: show the last known figures; the outcome comes from the events, not from here.
      const len = this.machine.ending?.len ?? 0;
      const offset = this.machine.ending?.offset ?? 0;
      return {
        offset,
        len,
        percent: len ? (offset / len) * 100 : 0,
        speed: 0,
        status: this.machine.status,
        ready: this.machine.isReady,
        paused: false,
        ioStatus: 'ok',
      };
    }
    const { offset, len, speed, status, ready, paused } = info;
    return { offset, len, percent: len ? (offset / len) * 100 : 0, speed, status, ready, paused, ioStatus: info['io-status'] };
  }

  /**
   * Is the job stopped by an I/O error now (on-error "stop")? From its BLOCK_JOB_ERROR, never from
   * "paused" alone: QEMU 10 also pauses every job briefly for each block-graph change anywhere.
   */
  get stoppedOnError(): boolean {
    return this.machine.stoppedOnError;
  }

  /** How often the job was paused and resumed without an error stop (drains, block-job-pause): see withoutBlips. */
  get blips(): number {
    return this.machine.blips;
  }

  // ------------------------------------------------------------------ commands

  protected context(): JobErrorContext {
    return { jobId: this.id, disk: this.disk, device: this.device };
  }

  /** The one wrapper for the commands a job sends: QEMU's refusal becomes JobCommandError with the job and disk. */
  protected async send(
    verb: string,
    name: BlockJobVerb,
    args: { device: string; force?: boolean; speed?: number } | { id: string; type?: string; 'copy-mode'?: string },
    options: WaitOptions = {},
  ): Promise<void> {
    await this.execute(verb, name, args, options);
  }

  /** complete / pause / resume / finalize / dismiss with the command this QEMU's schema chose (job-* where it can). */
  protected async sendVerb(what: string, verb: JobVerbName, options: WaitOptions = {}): Promise<void> {
    const { command, key } = this.verbs[verb];
    await this.execute(what, command, { [key]: this.id }, options);
  }

  /**
   * Runs `check` (does `verb` fit now?) synchronously: undefined when it does, so the caller's
   * command is written before any await (a group pivot's writes stay back to back); else its
   * JobStateError, rejected once where the data is was read back from QEMU.
   */
  protected refusedHere(verb: string, check: () => void): Promise<never> | undefined {
    try {
      check();
      return undefined;
    } catch (error) {
      if (!(error instanceof JobStateError)) throw error;
      return readRefusalFacts(this.client, this.id, this.device, this.commandTimeoutMs).then((facts) => {
        throw new JobStateError(error.message, this.context(), error.status, { ...facts, verb, completesByItself: error.completesByItself });
      });
    }
  }

  /** Pivot, after READY: one write of complete (a group pivot relies on it being written before the first await). */
  protected async sendComplete(what: string, options: WaitOptions = {}): Promise<void> {
    await this.refusable(what, 'complete', () => this.sendVerb(what, 'complete', options));
  }

  /**
   * Sends a pivot or abort as `request`. QEMU's refusal means nothing was requested, and comes back
   * with where the data is, read back from QEMU: the job's status, the image the guest runs on.
   */
  protected async refusable(verb: string, request: JobRequest, send: () => Promise<void>): Promise<void> {
    this.request = request;
    try {
      await send();
    } catch (error) {
      if (!(error instanceof JobCommandError)) throw error;
      this.request = undefined;
      const facts = await readRefusalFacts(this.client, this.id, this.device, this.commandTimeoutMs, error.cause as QmpCommandError);
      throw new JobCommandError(`cannot ${verb} ${this.kind} job '${this.id}' on ${this.described}`, this.context(), error.cause as QmpCommandError, {
        ...facts,
        verb,
      });
    }
  }

  private async execute(verb: string, name: string, args: Record<string, unknown>, options: WaitOptions): Promise<void> {
    try {
      await this.client.executeUntyped(name, args, {
        timeoutMs: options.timeoutMs ?? this.commandTimeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (error instanceof QmpCommandError)
        throw new JobCommandError(`cannot ${verb} ${this.kind} job '${this.id}' on ${this.described}`, this.context(), error);
      throw error;
    }
  }
}
