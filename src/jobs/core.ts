/*
 * The one core every block job shares (commit, stream, mirror): follow ONE job's own QMP events
 * through the state machine, wait for READY or the end, complete / cancel / pause / resume /
 * set-speed, finalize and dismiss when QEMU leaves that to us, and say what an interruption leaves.
 * A job type adds how to start it and what its outcome means for the chain.
 */
import { EventEmitter } from 'eventemitter3';
import { ConnectionClosedError, QmpCommandError } from '../errors.js';
import type { QmpClient } from '../protocol/client.js';
import type { JobVerbName, JobVerbs } from '../protocol/capabilities.js';
import type { JobStatus, QmpEvent } from '../qapi/types.js';
import { boundedWait, type WaitOptions } from '../util/wait.js';
import { debug } from '../util/debug.js';
import { checkTimeoutMs, setLongTimeout } from '../util/timers.js';
import { assertSpeed, interruptionHow, type JobInit } from './job-init.js';
import type { JobNoun } from './kinds.js';
import {
  JobCommandError,
  JobFailedError,
  JobInterruptedError,
  JobStateError,
  JobVanishedError,
  type InterruptionFacts,
  type JobErrorContext,
} from './errors.js';
import { JobStateMachine, isJobStatus, isValidTransition, type JobIoError, type JobStateChange, type JobStateEvents, type TransitionAnomaly } from './state.js';
import { readRefusalFacts } from './refusal.js';
import { withNodesRemoved } from './graph-hygiene.js';
import { timingsOf } from './timings.js';
import type { JobProgress, JobRequest, JobResult, ProgressOptions } from './types.js';

export { assertSpeed, type JobInit } from './job-init.js';

/** The QMP commands a job sends about itself that have no job-* equivalent (the others: JobVerbs). */
type BlockJobVerb = 'block-job-cancel' | 'block-job-set-speed' | 'block-job-change';

export abstract class BlockJob<R extends JobResult> extends EventEmitter<JobStateEvents> {
  readonly client: QmpClient;
  readonly id: string;
  /** QEMU's name of the disk the job runs on (its block-job `device`: a qdev id, drive or node name). */
  readonly device: string;
  /** The disk as the caller named it, for messages ("vda [libvirt-1-format]"). */
  readonly disk: string;
  protected readonly kind: JobNoun;
  protected readonly machine: JobStateMachine;
  protected readonly commandTimeoutMs: number;
  protected request: JobRequest | undefined;
  /** The error query-jobs gave before we dismissed the job (the events do not always carry it). */
  protected dismissedError: string | undefined;
  private readonly autoFinalize: boolean;
  private readonly autoDismiss: boolean;
  private readonly verbs: JobVerbs;
  private readonly stream: AsyncIterableIterator<QmpEvent>;
  private resyncing: boolean;
  /** How the job ended, once it did; until then the waiters to tell (each removed when its wait ends). */
  private end: { result: R } | { error: Error } | undefined;
  private readonly endWaiters = new Set<(end: { result: R } | { error: Error }) => void>();

  protected constructor(init: JobInit) {
    super();
    this.client = init.client;
    this.id = init.id;
    this.device = init.disk;
    this.disk = init.label;
    this.kind = init.kind;
    this.machine = init.machine;
    this.autoFinalize = init.autoFinalize;
    this.autoDismiss = init.autoDismiss;
    this.commandTimeoutMs = init.commandTimeoutMs;
    this.stream = init.stream;
    this.resyncing = init.resyncing;
    this.verbs = init.verbs;
    for (const name of ['state', 'ready', 'error', 'concluded', 'anomaly'] as const) {
      this.machine.on(name, (...args: unknown[]) => (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args));
    }
  }

  /** What the job's ending means (outcome, and whatever the job type adds to its result). */
  protected abstract describeEnd(base: Omit<JobResult, 'outcome' | 'invalidated'> & { ended: 'completed' | 'aborted' | 'failed' }): R;
  /**
   * What the job's images hold if following it stops now (for JobInterruptedError): a commit's
   * images, or words (with the image a requested pivot switches the guest onto, when it is not base).
   */
  protected abstract interruptionImages(): InterruptionFacts['images'] | string | { onDisk: string; pivotTarget: string };

  /**
   * What a job type releases once QEMU's job has ended, before any waiter hears of the end (a
   * mirror's destination node); returns the result with what it did. Must not throw.
   */
  protected release(result: R): Promise<R> {
    return Promise.resolve(result);
  }

  /** The nodes that left the disk's chain with this ending (graph-hygiene.ts deletes them once unused). */
  protected nodesLeftBehind(_result: R): string[] {
    return [];
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

  /**
   * Runs at PENDING of a job started without auto-finalize, right before finalize, while the images
   * that leave the chain are still in the graph (a commit's or pull's bitmaps merge here). Must not throw.
   */
  protected beforeFinalize(): Promise<void> {
    return Promise.resolve();
  }

  /** Starts following: call once, after construction. */
  protected begin(attachedError?: string): void {
    if (attachedError !== undefined) this.dismissedError = attachedError;
    this.follow();
    this.catchUp();
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
   * Progress as an async iterator: readProgress() now, then every `intervalMs` (default 1 s) until
   * the job ends (the last figures are yielded, then it returns). `signal` rejects it with
   * AbortedError; `break` ends it quietly. It never touches the job.
   */
  async *progress(options: ProgressOptions = {}): AsyncGenerator<JobProgress, void, undefined> {
    const intervalMs = checkTimeoutMs(options.intervalMs ?? 1000, 'intervalMs');
    const read = { ...(options.signal ? { signal: options.signal } : {}), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) };
    for (;;) {
      const ended = this.end !== undefined;
      yield await this.readProgress(read);
      if (ended) return;
      // Until the next reading or the job's end, whichever comes first.
      await boundedWait<void>(`waiting for the next progress of ${this.kind} job '${this.id}'`, { signal: options.signal }, (resolve) => {
        const timer = setLongTimeout(resolve, intervalMs);
        const stop = this.onEnd(() => resolve());
        return () => {
          timer.clear();
          stop();
        };
      });
    }
  }

  // ------------------------------------------------------------------ verbs

  /** Changes the bandwidth limit (bytes/s, 0 = unlimited) while the job runs. */
  async setSpeed(speed: number, options: WaitOptions = {}): Promise<void> {
    assertSpeed(speed, this.context());
    await this.send('change the speed of', 'block-job-set-speed', { device: this.id, speed }, options);
  }

  async pause(options: WaitOptions = {}): Promise<void> {
    await this.sendVerb('pause', 'pause', options);
  }

  /** Resumes a job paused by pause() or by an I/O error with on-error "stop". */
  async resume(options: WaitOptions = {}): Promise<void> {
    await this.sendVerb('resume', 'resume', options);
  }

  /** Resolves when the job reports READY; rejects if it ends first. */
  waitUntilReady(options: WaitOptions = {}): Promise<void> {
    return this.waitUntil('becoming ready', () => this.machine.isReady, 'ready', options);
  }

  /**
   * Resolves when the job is in `status` (at once if it is now); rejects if the job ends first. For
   * an on-error "stop", wait with waitForErrorStop(): "paused" alone may be a drain's blip.
   */
  waitForStatus(status: JobStatus, options: WaitOptions = {}): Promise<void> {
    return this.waitUntil(`reaching ${status}`, () => this.machine.status === status, 'state', options);
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

  /** Resolves when the job stopped itself on an I/O error (at once if it is stopped now); rejects if it ends first. */
  waitForErrorStop(options: WaitOptions = {}): Promise<void> {
    return this.waitUntil('stopping on an I/O error', () => this.machine.stoppedOnError, 'stopped', options);
  }

  /**
   * Waits for the job's end and its result. Rejects with JobFailedError when it failed or was
   * cancelled by someone else, JobInterruptedError when following it stopped first.
   */
  wait(options: WaitOptions = {}): Promise<R> {
    return boundedWait<R>(`waiting for ${this.kind} job '${this.id}' to end`, options, (resolve, reject) =>
      this.onEnd((end) => {
        if ('error' in end) reject(end.error);
        else if (end.result.outcome === 'failed' || (end.result.outcome === 'aborted' && this.request !== 'abort'))
          reject(new JobFailedError({ jobId: this.id, disk: this.disk, device: this.device, kind: this.kind }, end.result));
        else resolve(end.result);
      }),
    );
  }

  /**
   * Cancels the job: forced cancel (a paused job refuses a plain one, and after READY a plain
   * cancel would end the job as finished), then waits for its end (outcome "aborted"). `options`
   * bound the cancel command and then the wait. (An AbortSignal given here only stops waiting;
   * the start's `cancelSignal` is the signal that cancels the job.)
   */
  async cancel(options: WaitOptions = {}): Promise<R> {
    await this.requestCancel(options);
    return this.wait(options);
  }

  /** Sends the forced cancel and returns at QEMU's reply, without waiting for the job to end. */
  async requestCancel(options: WaitOptions = {}): Promise<void> {
    const status = this.machine.status;
    if (status === 'concluded' || status === 'null' || this.end) {
      throw new JobStateError(`cannot cancel ${this.kind} job '${this.id}': it has already ended (${status})`, this.context(), status);
    }
    await this.refusable('cancel', 'abort', () => this.send('cancel', 'block-job-cancel', { device: this.id, force: true }, options));
  }

  /**
   * Cancels the job (requestCancel) when `signal` fires, from now until the job ends: the start's
   * `cancelSignal`. A cancel QEMU refuses ends the wait with that refusal (the job may still run).
   */
  protected cancelOn(signal: AbortSignal | undefined): void {
    if (!signal) return;
    const onAbort = (): void => {
      debug('job %s: cancelSignal fired, cancelling', this.id);
      this.requestCancel().catch((error: unknown) => {
        if (error instanceof JobStateError && this.end) return; // it had ended already: its end says how
        this.fail(error);
        void this.detach();
      });
    };
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.onEnd(() => signal.removeEventListener('abort', onAbort));
  }

  /** Stops following the job without touching it (it keeps running in QEMU). */
  async detach(): Promise<void> {
    await this.stream.return?.();
  }

  // ------------------------------------------------------------------ for job types

  protected context(): JobErrorContext {
    return { jobId: this.id, disk: this.device };
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
        throw new JobStateError(error.message, this.context(), error.status, { ...facts, label: this.disk, verb, completesByItself: error.completesByItself });
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
  private async refusable(verb: string, request: JobRequest, send: () => Promise<void>): Promise<void> {
    this.request = request;
    try {
      await send();
    } catch (error) {
      if (!(error instanceof JobCommandError)) throw error;
      this.request = undefined;
      const facts = await readRefusalFacts(this.client, this.id, this.device, this.commandTimeoutMs, error.cause as QmpCommandError);
      throw new JobCommandError(`cannot ${verb} ${this.kind} job '${this.id}' on ${this.disk}`, this.context(), error.cause as QmpCommandError, {
        ...facts,
        label: this.disk,
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
      if (error instanceof QmpCommandError) throw new JobCommandError(`cannot ${verb} ${this.kind} job '${this.id}' on ${this.disk}`, this.context(), error);
      throw error;
    }
  }

  /** After READY: complete (job-complete where the schema has it). Once sent, an interruption reports "complete requested". */
  protected async requestComplete(verb: string, options: WaitOptions): Promise<R> {
    try {
      await this.sendComplete(verb, options);
    } catch (error) {
      if (error instanceof JobCommandError) throw error;
      // Lost, timed out or aborted with the command sent: QEMU may have completed. Say where the data is.
      this.interrupted(error instanceof Error ? error : new Error(String(error)));
    }
    return this.wait(options);
  }

  /** After READY: a plain block-job-cancel, which ends a mirror-based job with the guest where it was. */
  protected async requestPlainCancel(verb: string, options: WaitOptions): Promise<R> {
    await this.refusable(verb, 'cancel', () => this.send(verb, 'block-job-cancel', { device: this.id }, options));
    return this.wait(options);
  }

  // ------------------------------------------------------------------ internals

  private waitUntil(what: string, reached: () => boolean, on: 'ready' | 'state' | 'stopped', options: WaitOptions): Promise<void> {
    return boundedWait<void>(
      `waiting for ${this.kind} job '${this.id}' ${what
        .replace(/^becoming/, 'to be')
        .replace(/^reaching/, 'to reach')
        .replace(/^stopping/, 'to stop')}`,
      options,
      (resolve, reject) => {
        if (reached()) {
          resolve();
          return () => {};
        }
        const check = (): void => {
          if (reached()) resolve();
        };
        this.machine.on(on, check);
        const stopWaitingForEnd = this.onEnd((end) =>
          reject(
            'error' in end
              ? end.error
              : new JobFailedError({ jobId: this.id, disk: this.disk, device: this.device, kind: this.kind, awaited: what }, end.result),
          ),
        );
        return () => {
          stopWaitingForEnd();
          this.machine.off(on, check);
        };
      },
    );
  }

  /** Calls `listener` once the job has ended (at once if it has); returns how to stop listening. Nothing is kept past that. */
  private onEnd(listener: (end: { result: R } | { error: Error }) => void): () => void {
    if (this.end) {
      listener(this.end);
      return () => {};
    }
    this.endWaiters.add(listener);
    return () => this.endWaiters.delete(listener);
  }

  /** Acts on a status reached before we followed: a job that waits for finalize/dismiss, or one already gone. */
  private catchUp(): void {
    const status = this.machine.status;
    if (status === 'null') {
      // Stop the stream only once the end is settled: its end alone would read as an interruption.
      void this.succeed().then(() => this.stream.return?.());
      return;
    }
    void this.react(status).catch((error: unknown) => this.fail(error));
  }

  private follow(): void {
    void (async () => {
      try {
        for await (const event of this.stream) {
          if (this.resyncing && !this.acceptDuringResync(event)) continue;
          const before = this.machine.status;
          this.machine.apply(event);
          if (this.machine.status !== before) await this.react(this.machine.status);
          if (this.machine.status === 'null') {
            await this.succeed();
            return;
          }
        }
        this.interrupted(undefined);
      } catch (error) {
        if (error instanceof ConnectionClosedError) this.interrupted(error);
        else this.fail(error);
      } finally {
        await this.stream.return?.();
      }
    })();
  }

  /**
   * After attach, the first queued events may predate the query (already reflected in the status
   * it gave): skip status changes that are repeats or not reachable from the queried status.
   */
  private acceptDuringResync(event: QmpEvent): boolean {
    if (event.event !== 'JOB_STATUS_CHANGE') return true;
    const status = event.data.status;
    if (!isJobStatus(status)) return false;
    if (status !== this.machine.status && isValidTransition(this.machine.status, status)) {
      this.resyncing = false;
      return true;
    }
    return false;
  }

  /** Does what a job without auto-finalize / auto-dismiss waits for. */
  private async react(status: JobStatus): Promise<void> {
    if (status === 'pending' && !this.autoFinalize) {
      await this.beforeFinalize();
      await this.settleCommand('finalize', 'finalize', 'pending');
    } else if (status === 'concluded' && !this.autoDismiss) {
      // The event does not always carry the error; query-jobs does, until the job is dismissed.
      const jobs = await this.client.execute('query-jobs', undefined, { timeoutMs: this.commandTimeoutMs });
      const info = jobs.find((j) => j.id === this.id);
      if (!info) return; // someone else (libvirt does, for the jobs it started) dismissed it already
      if (info.error !== undefined) this.dismissedError = info.error;
      await this.settleCommand('dismiss', 'dismiss', 'concluded');
    }
  }

  /**
   * Finalize / dismiss. Another controller (libvirt, for its own jobs) may do the same
   * thing first: when QEMU refuses, the job's status decides — moved on past `expected`, or gone,
   * means it was done for us, which is no failure.
   */
  private async settleCommand(verb: string, name: 'finalize' | 'dismiss', expected: JobStatus): Promise<void> {
    try {
      await this.sendVerb(verb, name);
    } catch (error) {
      if (!(error instanceof JobCommandError)) throw error;
      const now = (await this.client.execute('query-jobs', undefined, { timeoutMs: this.commandTimeoutMs })).find((j) => j.id === this.id);
      if (now === undefined || now.status !== expected) return;
      throw error;
    }
  }

  private async succeed(): Promise<void> {
    const ending = this.machine.ending;
    // Cancelled first: with auto-dismiss off, query-jobs reports a cancelled job's error as "Operation canceled".
    const error = ending?.event === 'BLOCK_JOB_CANCELLED' ? undefined : (this.dismissedError ?? ending?.error);
    const ended = ending?.event === 'BLOCK_JOB_CANCELLED' ? 'aborted' : error !== undefined ? 'failed' : 'completed';
    if (ending === undefined && !this.machine.statuses.includes('concluded')) {
      this.settle(
        undefined,
        new JobVanishedError(
          `${this.kind} job '${this.id}' on ${this.disk} disappeared (status null) without a completion or cancel event: how it ended is unknown`,
          this.context(),
        ),
      );
      return;
    }
    const history = [...this.machine.history];
    const result = this.describeEnd({
      jobId: this.id,
      disk: this.disk,
      device: this.device,
      ended,
      ...(error !== undefined ? { error } : {}),
      states: history.map((c) => c.status),
      history,
      ioErrors: [...this.machine.ioErrors],
      anomalies: [...this.machine.anomalies],
      timings: timingsOf(history, this.machine.readySince),
      offset: ending?.offset ?? 0,
      len: ending?.len ?? 0,
    });
    const released = await this.release(result);
    this.settle(await withNodesRemoved(this.client, released, this.nodesLeftBehind(released), this.commandTimeoutMs), undefined);
  }

  protected interrupted(cause: Error | undefined): void {
    if (this.end) return;
    this.settle(
      undefined,
      new JobInterruptedError(
        {
          jobId: this.id,
          kind: this.kind,
          disk: this.disk,
          device: this.device,
          lastStatus: this.machine.status,
          how: interruptionHow(cause),
          pivotRequested: this.request === 'complete',
          ...(() => {
            const images = this.interruptionImages();
            return typeof images === 'string' ? { onDisk: images } : images && 'onDisk' in images ? images : { images };
          })(),
        },
        { cause },
      ),
    );
  }

  private fail(error: unknown): void {
    this.settle(undefined, error instanceof Error ? error : new Error(String(error)));
  }

  private settle(result: R | undefined, error: Error | undefined): void {
    if (this.end) return;
    this.end = result ? { result } : { error: error ?? new Error('unknown') };
    for (const listener of [...this.endWaiters]) listener(this.end);
    this.endWaiters.clear();
  }
}
