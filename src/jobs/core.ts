/*
 * The one core every block job shares (commit, stream, mirror): follow ONE job's own QMP events
 * through the state machine, wait for READY or the end, complete / cancel / pause / resume /
 * set-speed, finalize and dismiss when QEMU leaves that to us, and say what an interruption leaves.
 * A job type adds how to start it and what its outcome means for the chain.
 */
import { ConnectionClosedError } from '../errors.js';
import type { JobStatus, QmpEvent } from '../qapi/types.js';
import { boundedWait, type WaitOptions } from '../util/wait.js';
import { debug } from '../util/debug.js';
import { checkTimeoutMs, setLongTimeout } from '../util/timers.js';
import { assertSpeed, interruptionHow, type JobInit } from './job-init.js';
import { JobView } from './job-view.js';
import { JobCommandError, JobFailedError, JobInterruptedError, JobStateError, JobVanishedError, type InterruptionFacts } from './errors.js';
import { isJobStatus, isValidTransition } from './state.js';
import { withNodesRemoved } from './graph-hygiene.js';
import { timingsOf } from './timings.js';
import type { JobProgress, JobResult, ProgressOptions } from './types.js';

export { assertSpeed, type JobInit } from './job-init.js';
export { JobView } from './job-view.js';

export abstract class BlockJob<R extends JobResult> extends JobView {
  /** The error query-jobs gave before we dismissed the job (the events do not always carry it). */
  protected dismissedError: string | undefined;
  private readonly autoFinalize: boolean;
  private readonly autoDismiss: boolean;
  private readonly stream: AsyncIterableIterator<QmpEvent>;
  private resyncing: boolean;
  /** How the job ended, once it did; until then the waiters to tell (each removed when its wait ends). */
  private end: { result: R } | { error: Error } | undefined;
  private readonly endWaiters = new Set<(end: { result: R } | { error: Error }) => void>();

  protected constructor(init: JobInit) {
    super(init);
    this.autoFinalize = init.autoFinalize;
    this.autoDismiss = init.autoDismiss;
    this.stream = init.stream;
    this.resyncing = init.resyncing;
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
          `${this.kind} job '${this.id}' on ${this.described} disappeared (status null) without a completion or cancel event: how it ended is unknown`,
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
