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
import { assertSpeed, interruptionHow, type JobInit } from './job-init.js';
import { JobCommandError, JobFailedError, JobInterruptedError, JobStateError, JobVanishedError, type InterruptionFacts, type JobErrorContext } from './errors.js';
import { JobStateMachine, isJobStatus, isValidTransition, type JobIoError, type JobStateChange, type JobStateEvents, type TransitionAnomaly } from './state.js';
import { readRefusalFacts } from './refusal.js';
import { withNodesRemoved } from './graph-hygiene.js';
import { timingsOf } from './timings.js';
import type { JobProgress, JobRequest, JobResult } from './types.js';

export { DEFAULT_COMMAND_TIMEOUT_MS, assertSpeed, type JobInit } from './job-init.js';

/** The QMP commands a job sends about itself that have no job-* equivalent (the others: JobVerbs). */
type BlockJobVerb = 'block-job-cancel' | 'block-job-set-speed' | 'block-job-change';

export abstract class BlockJob<R extends JobResult> extends EventEmitter<JobStateEvents> {
  readonly client: QmpClient;
  readonly id: string;
  readonly disk: string;
  /** The disk as the caller named it, for messages ("vda [libvirt-1-format]"). */
  readonly label: string;
  protected readonly kind: string;
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
    this.disk = init.disk;
    this.label = init.label;
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

  /** Progress for display: offset/len from query-block-jobs (100 % does not mean ready). */
  async progress(options: WaitOptions = {}): Promise<JobProgress> {
    const jobs = await this.client.execute('query-block-jobs', undefined, { timeoutMs: this.commandTimeoutMs, ...options });
    const info = jobs.find((j) => j.device === this.id);
    if (!info) {
      // Gone from QEMU: show the last known figures; the outcome comes from the events, not from here.
      const len = this.machine.ending?.len ?? 0;
      const offset = this.machine.ending?.offset ?? 0;
      return { offset, len, percent: len ? (offset / len) * 100 : 0, speed: 0, status: this.machine.status, ready: this.machine.isReady, paused: false, ioStatus: 'ok' };
    }
    const { offset, len, speed, status, ready, paused } = info;
    return { offset, len, percent: len ? (offset / len) * 100 : 0, speed, status, ready, paused, ioStatus: info['io-status'] };
  }

  // ------------------------------------------------------------------ verbs

  /** Changes the bandwidth limit (bytes/s, 0 = unlimited) while the job runs. */
  async setSpeed(speed: number): Promise<void> {
    assertSpeed(speed, this.context());
    await this.send('change the speed of', 'block-job-set-speed', { device: this.id, speed });
  }

  async pause(): Promise<void> {
    await this.sendVerb('pause', 'pause');
  }

  /** Resumes a job paused by pause() or by an I/O error with on-error "stop". */
  async resume(): Promise<void> {
    await this.sendVerb('resume', 'resume');
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
        else if (end.result.outcome === 'failed' || (end.result.outcome === 'aborted' && this.request !== 'abort')) reject(new JobFailedError({ jobId: this.id, disk: this.label, device: this.disk, kind: this.kind }, end.result));
        else resolve(end.result);
      }));
  }

  /**
   * Abandons the job: forced cancel (a paused job refuses a plain one, and after READY a plain
   * cancel would end the job as finished), then waits for its end.
   */
  async abort(options: WaitOptions = {}): Promise<R> {
    await this.requestAbort();
    return this.wait(options);
  }

  /** Sends the forced cancel and returns at QEMU's reply, without waiting for the job to end. */
  async requestAbort(): Promise<void> {
    const status = this.machine.status;
    if (status === 'concluded' || status === 'null' || this.end) {
      throw new JobStateError(`cannot abort ${this.kind} job '${this.id}': it has already ended (${status})`, this.context(), status);
    }
    await this.refusable('abort', 'abort', () => this.send('abort', 'block-job-cancel', { device: this.id, force: true }));
  }

  /** Stops following the job without touching it (it keeps running in QEMU). */
  async detach(): Promise<void> {
    await this.stream.return?.();
  }

  // ------------------------------------------------------------------ for job types

  protected context(): JobErrorContext {
    return { jobId: this.id, disk: this.disk };
  }

  /** The one wrapper for the commands a job sends: QEMU's refusal becomes JobCommandError with the job and disk. */
  protected async send(verb: string, name: BlockJobVerb, args: { device: string; force?: boolean; speed?: number } | { id: string; type?: string; 'copy-mode'?: string }): Promise<void> {
    await this.execute(verb, name, args);
  }

  /** complete / pause / resume / finalize / dismiss with the command this QEMU's schema chose (job-* where it can). */
  protected async sendVerb(what: string, verb: JobVerbName): Promise<void> {
    const { command, key } = this.verbs[verb];
    await this.execute(what, command, { [key]: this.id });
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
      return readRefusalFacts(this.client, this.id, this.disk, this.commandTimeoutMs).then((facts) => {
        throw new JobStateError(error.message, this.context(), error.status, { ...facts, label: this.label, verb, completesByItself: error.completesByItself });
      });
    }
  }

  /** Pivot, after READY: one write of complete (a group pivot relies on it being written before the first await). */
  protected async sendComplete(what: string): Promise<void> {
    await this.refusable(what, 'complete', () => this.sendVerb(what, 'complete'));
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
      const facts = await readRefusalFacts(this.client, this.id, this.disk, this.commandTimeoutMs, error.cause as QmpCommandError);
      throw new JobCommandError(`cannot ${verb} ${this.kind} job '${this.id}' on ${this.label}`, this.context(), error.cause as QmpCommandError, { ...facts, label: this.label, verb });
    }
  }

  private async execute(verb: string, name: string, args: Record<string, unknown>): Promise<void> {
    try {
      await this.client.execute(name, args as never, { timeoutMs: this.commandTimeoutMs });
    } catch (error) {
      if (error instanceof QmpCommandError) throw new JobCommandError(`cannot ${verb} ${this.kind} job '${this.id}' on ${this.label}`, this.context(), error);
      throw error;
    }
  }

  /** After READY: complete (job-complete where the schema has it). Once sent, an interruption reports "complete requested". */
  protected async requestComplete(verb: string, options: WaitOptions): Promise<R> {
    try {
      await this.sendComplete(verb);
    } catch (error) {
      if (error instanceof JobCommandError) throw error;
      // Lost, timed out or aborted with the command sent: QEMU may have completed. Say where the data is.
      this.interrupted(error instanceof Error ? error : new Error(String(error)));
    }
    return this.wait(options);
  }

  /** After READY: a plain block-job-cancel, which ends a mirror-based job with the guest where it was. */
  protected async requestCancel(verb: string, options: WaitOptions): Promise<R> {
    await this.refusable(verb, 'cancel', () => this.send(verb, 'block-job-cancel', { device: this.id }));
    return this.wait(options);
  }

  // ------------------------------------------------------------------ internals

  private waitUntil(what: string, reached: () => boolean, on: 'ready' | 'state' | 'stopped', options: WaitOptions): Promise<void> {
    return boundedWait<void>(`waiting for ${this.kind} job '${this.id}' ${what.replace(/^becoming/, 'to be').replace(/^reaching/, 'to reach').replace(/^stopping/, 'to stop')}`, options, (resolve, reject) => {
      if (reached()) {
        resolve();
        return () => {};
      }
      const check = (): void => {
        if (reached()) resolve();
      };
      this.machine.on(on, check);
      const stopWaitingForEnd = this.onEnd((end) => reject('error' in end ? end.error : new JobFailedError({ jobId: this.id, disk: this.label, device: this.disk, kind: this.kind, awaited: what }, end.result)));
      return () => {
        stopWaitingForEnd();
        this.machine.off(on, check);
      };
    });
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
      this.settle(undefined, new JobVanishedError(`${this.kind} job '${this.id}' on ${this.label} disappeared (status null) without a completion or cancel event: how it ended is unknown`, this.context()));
      return;
    }
    const history = [...this.machine.history];
    const result = this.describeEnd({
      jobId: this.id,
      disk: this.disk,
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
    this.settle(undefined, new JobInterruptedError({
      jobId: this.id,
      kind: this.kind,
      disk: this.label,
      device: this.disk,
      lastStatus: this.machine.status,
      how: interruptionHow(cause),
      pivotRequested: this.request === 'complete',
      ...(() => {
        const images = this.interruptionImages();
        return typeof images === 'string' ? { onDisk: images } : images && 'onDisk' in images ? images : { images };
      })(),
    }, { cause }));
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
