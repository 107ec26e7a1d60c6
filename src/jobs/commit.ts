/*
 * A live block-commit, driven from QEMU's events for this one job.
 *
 * Intermediate commit (top below the active layer) runs to completion by itself. Active commit
 * reaches READY and stays in sync until the caller decides: pivot() (block-job-complete: the guest
 * runs on base), keepOverlay() (cancel after READY: the guest stays on top, base holds the merged
 * data; QEMU 7.2 ends that with BLOCK_JOB_COMPLETED) or abort() (forced cancel).
 */
import path from 'node:path';
import { EventEmitter } from 'eventemitter3';
import { layersBetween, positionOf } from '../block/address.js';
import { describeDisk, hasUser } from '../block/chain.js';
import type { CommitRange, InvalidatedImages } from '../block/types.js';
import { ConnectionClosedError, QmpCommandError, QmpTimeoutError } from '../protocol/errors.js';
import type { QmpClient } from '../protocol/client.js';
import type { BlockCommitArguments, BlockJobInfo, JobInfo, JobStatus, QmpEvent } from '../qapi/types.js';
import { boundedWait, type WaitOptions } from '../util/wait.js';
import {
  JobAlreadyRunningError,
  JobCommandError,
  JobFailedError,
  JobInterruptedError,
  JobNotFoundError,
  JobOptionError,
  JobStateError,
  JobVanishedError,
  type JobErrorContext,
} from './errors.js';
import { defaultCommitJobId, findDiskJob, isActiveCommit, preflight } from './discovery.js';
import { invalidatedBy, type CommitOutcome } from './invalidated.js';
import {
  JOB_EVENT_NAMES,
  JobStateMachine,
  isJobStatus,
  isValidTransition,
  type JobIoError,
  type JobStateChange,
  type JobStateEvents,
  type TransitionAnomaly,
} from './state.js';

export type CommitOnError = 'report' | 'stop' | 'ignore' | 'enospc';

export interface CommitOptions {
  /** Job id; default `commit-<device>`. */
  jobId?: string;
  /** Bandwidth limit in bytes per second; 0 (default) is unlimited. Changeable later with setSpeed(). */
  speed?: number;
  /** What QEMU does on an I/O error (default "report": the job fails). */
  onError?: CommitOnError;
  /** Backing string QEMU writes into the image above top (intermediate commit only). */
  backingFile?: string;
  /**
   * Keep the backing link of the image above top relative (virsh --keep-relative): the backing
   * string becomes base's path relative to that image's folder. Needs relative links in the chain.
   */
  keepRelative?: boolean;
  /** Default true. When false, this controller finalizes the job itself (job-finalize at "pending"). */
  autoFinalize?: boolean;
  /** Default true. When false, this controller reads the job's error from query-jobs, then dismisses it. */
  autoDismiss?: boolean;
  /** When the disk already has a job: "fail" (default, JobAlreadyRunningError) or "attach" to it. */
  ifRunning?: 'fail' | 'attach';
  /** Timeout for each QMP command this job sends. Default 30 s. */
  commandTimeoutMs?: number;
  /** Aborts the start (not the job). */
  signal?: AbortSignal;
}

export interface CommitTimings {
  /** QEMU timestamps (seconds since the epoch) of the first status seen, READY, "concluded". */
  startedAt: number;
  readyAt?: number;
  concludedAt?: number;
  /** From the first status seen to READY. */
  secondsToReady?: number;
  /** From the first status seen to "concluded". */
  totalSeconds?: number;
}

export interface CommitResult {
  jobId: string;
  /** The `device` the job runs on. */
  disk: string;
  outcome: CommitOutcome;
  /** QEMU's error text for the job (query-jobs first when we dismiss, else BLOCK_JOB_COMPLETED.error). */
  error?: string;
  /** Every status the job went through, in order (from the attach-time status for a reattached job). */
  states: JobStatus[];
  history: JobStateChange[];
  ioErrors: JobIoError[];
  /** Transitions QEMU's job table does not allow, if any were seen. */
  anomalies: TransitionAnomaly[];
  timings: CommitTimings;
  /** Which images are no longer valid on their own; undefined when attached by id without a range. */
  invalidated: InvalidatedImages | undefined;
  /** Final progress: offset and len of the ending event. */
  offset: number;
  len: number;
}

export interface JobProgress {
  offset: number;
  len: number;
  /** offset / len in percent, for display only: 100 % does not mean ready or done. */
  percent: number;
  speed: number;
  status: JobStatus;
  /** From QEMU's own `ready` flag. */
  ready: boolean;
  paused: boolean;
  ioStatus: string;
}

export type AttachTarget = { jobId: string; range?: CommitRange } | { range: CommitRange; jobId?: string };

export interface AttachOptions {
  commandTimeoutMs?: number;
  /** How to name the disk in messages when attaching by id without a range (the caller's name for it). */
  label?: string;
  signal?: AbortSignal;
}

type Request = 'pivot' | 'keep-overlay' | 'abort';

const ON_ERROR = new Set(['report', 'stop', 'ignore', 'enospc']);
const DEFAULT_COMMAND_TIMEOUT_MS = 30_000;

/** The relative backing string for the image above top after the commit (virsh --keep-relative). */
export function relativeBackingFile(range: CommitRange): string {
  const context = { disk: range.disk.device };
  if (range.active) throw new JobOptionError('keep-relative applies to an intermediate commit only: an active commit leaves no image above top', context);
  const { between, above: [above] } = layersBetween(range.disk, range.base, range.top);
  if (!above) throw new JobOptionError(`no image above top ${range.top.file} in the chain of ${describeDisk(range.disk)}`, context);
  const links = [...between, range.top, above];
  const absolute = links.find((l) => l.backingFile === undefined || path.isAbsolute(l.backingFile));
  if (absolute) {
    throw new JobOptionError(`cannot keep the backing link relative: ${absolute.file} records ${absolute.backingFile === undefined ? 'no backing file' : `the absolute backing file ${absolute.backingFile}`}`, context);
  }
  return path.relative(path.dirname(above.file), range.base.file);
}

function validateOptions(range: CommitRange, options: CommitOptions, context: JobErrorContext): void {
  if (options.jobId !== undefined && (typeof options.jobId !== 'string' || options.jobId === '')) {
    throw new JobOptionError('job id must be a non-empty string', context);
  }
  if (options.speed !== undefined && !(Number.isSafeInteger(options.speed) && options.speed >= 0)) {
    throw new JobOptionError(`speed must be a whole number of bytes per second, 0 or more (got ${options.speed})`, context);
  }
  if (options.onError !== undefined && !ON_ERROR.has(options.onError)) {
    throw new JobOptionError(`on-error must be one of report, stop, ignore, enospc (got ${String(options.onError)})`, context);
  }
  if (range.active && (options.backingFile !== undefined || options.keepRelative)) {
    throw new JobOptionError('backing-file / keep-relative apply to an intermediate commit only', context);
  }
  if (options.backingFile !== undefined && options.keepRelative) {
    throw new JobOptionError('give either backingFile or keepRelative, not both', context);
  }
  // By position in the chain: indices are names (libvirt's count from the top).
  const base = positionOf(range.disk, range.base);
  const top = positionOf(range.disk, range.top);
  if (base < 0 || top < 0) throw new JobOptionError(`top ${range.top.file} and base ${range.base.file} must both be in the chain of ${describeDisk(range.disk)}`, context);
  if (base >= top) {
    throw new JobOptionError(`base [${range.base.index}] ${range.base.file} must lie below top [${range.top.index}] ${range.top.file}`, context);
  }
}

function isWrappedQmpError(error: unknown, desc: RegExp): boolean {
  return error instanceof QmpCommandError && desc.test(error.desc);
}

/**
 * Refuses a pivot that would switch nothing: measured on QEMU 7.2 and 10.0, block-job-complete on a
 * chain no device, -drive or export uses "succeeds" and the old top stays the root.
 */
export function assertPivotable(range: CommitRange, jobId?: string): void {
  if (hasUser(range.disk)) return;
  throw new JobStateError(
    `cannot pivot ${jobId ? `commit job '${jobId}'` : 'a commit'} on ${describeDisk(range.disk)}: no guest device, -drive or export uses that chain, so nothing would switch to base; keep the overlay instead (base then holds the merged data)`,
    { ...(jobId ? { jobId } : {}), disk: range.disk.device },
    'ready',
  );
}

export class CommitJob extends EventEmitter<JobStateEvents> {
  readonly client: QmpClient;
  readonly id: string;
  readonly disk: string;
  /** The disk as the caller named it, for messages ("vda [libvirt-1-format]"). */
  readonly label: string;
  /** Undefined only for a job attached by id without its range. */
  readonly range: CommitRange | undefined;
  private readonly machine: JobStateMachine;
  private readonly autoFinalize: boolean;
  private readonly autoDismiss: boolean;
  private readonly commandTimeoutMs: number;
  private readonly stream: AsyncIterableIterator<QmpEvent>;
  private request: Request | undefined;
  private dismissedError: string | undefined;
  private resyncing: boolean;
  /** For a job attached without its range: whether it is an active commit (from its filter node). */
  private attachedActive: boolean | undefined;
  private readonly finished: Promise<CommitResult>;
  private settleFinished!: { resolve: (r: CommitResult) => void; reject: (e: Error) => void };
  private settled: { result?: CommitResult; error?: Error } | undefined;

  private constructor(init: {
    client: QmpClient;
    id: string;
    disk: string;
    range: CommitRange | undefined;
    machine: JobStateMachine;
    autoFinalize: boolean;
    autoDismiss: boolean;
    commandTimeoutMs: number;
    stream: AsyncIterableIterator<QmpEvent>;
    resyncing: boolean;
    label?: string | undefined;
  }) {
    super();
    this.client = init.client;
    this.id = init.id;
    this.disk = init.disk;
    this.range = init.range;
    this.label = init.label ?? (init.range ? describeDisk(init.range.disk) : init.disk);
    this.machine = init.machine;
    this.autoFinalize = init.autoFinalize;
    this.autoDismiss = init.autoDismiss;
    this.commandTimeoutMs = init.commandTimeoutMs;
    this.stream = init.stream;
    this.resyncing = init.resyncing;
    this.finished = new Promise<CommitResult>((resolve, reject) => {
      this.settleFinished = { resolve, reject };
    });
    // Callers learn the outcome through wait()/pivot()/…; this keeps an unobserved failure from crashing.
    this.finished.catch(() => {});
    for (const name of ['state', 'ready', 'error', 'concluded', 'anomaly'] as const) {
      this.machine.on(name, (...args: unknown[]) => (this.emit as (n: string, ...a: unknown[]) => boolean)(name, ...args));
    }
  }

  // ------------------------------------------------------------------ start & attach

  /**
   * Starts block-commit for `range`. Subscribes to the job's events before sending (QEMU sends
   * "created" and "running" before its reply; a fast job may even finish before it).
   */
  static async start(client: QmpClient, range: CommitRange, options: CommitOptions = {}): Promise<CommitJob> {
    const device = range.disk.device;
    const label = describeDisk(range.disk);
    const id = options.jobId ?? defaultCommitJobId(range.disk);
    const context = { jobId: id, disk: device };
    validateOptions(range, options, context);
    const timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const backingFile = options.keepRelative ? relativeBackingFile(range) : options.backingFile;

    // QEMU would answer a second commit on this disk with a bare "Need a root block node": say what is going on instead.
    const { jobs, diskBusy, sameIdError } = await preflight(client, range, id, timeoutMs);
    const sameId = jobs.find((j) => j.device === id);
    if (sameId || diskBusy) {
      if (options.ifRunning === 'attach') {
        return CommitJob.attach(client, sameId ? { jobId: id, range } : { range }, { commandTimeoutMs: timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
      }
      const existing = sameId ? [sameId.device] : jobs.map((j) => j.device);
      throw new JobAlreadyRunningError(
        sameId
          ? `cannot start commit on ${label}: job id '${id}' is already in use (status ${sameId.status}${sameIdError ? `: it failed: ${sameIdError}; 'jobs' shows and dismisses it` : ''}); attach to it or choose another id`
          : `cannot start commit on ${label}: the disk already has a block job running (${existing.join(', ') || 'unknown id'}); attach to it, end it, or wait for it to end`,
        context,
        existing,
      );
    }

    const args: BlockCommitArguments = {
      'job-id': id,
      device,
      'top-node': range.top.nodeName,
      'base-node': range.base.nodeName,
    };
    if (options.speed !== undefined) args.speed = options.speed;
    if (options.onError !== undefined) args['on-error'] = options.onError;
    if (backingFile !== undefined) args['backing-file'] = backingFile;
    if (options.autoFinalize !== undefined) args['auto-finalize'] = options.autoFinalize;
    if (options.autoDismiss !== undefined) args['auto-dismiss'] = options.autoDismiss;

    // Events that arrive before the reply are kept in the client's history from this cursor on.
    const cursor = client.eventCursor();
    try {
      await client.execute('block-commit', args, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (error) {
      if (isWrappedQmpError(error, /Need a root block node|already in use/)) {
        throw new JobAlreadyRunningError(`cannot start commit on ${label}: ${(error as QmpCommandError).desc} (another job holds the disk)`, context, [], { cause: error });
      }
      if (error instanceof QmpCommandError) throw new JobCommandError(`cannot start commit on ${label}`, context, error);
      throw error;
    }
    // Synchronously from the reply on: the events before it from the history, the later ones from the stream.
    const machine = new JobStateMachine(id);
    for (const event of client.recentEvents(cursor)) {
      if (JOB_EVENT_NAMES.includes(event.event)) machine.apply(event);
    }
    const stream = client.events({ names: JOB_EVENT_NAMES, jobId: id });
    const job = new CommitJob({
      client,
      id,
      disk: device,
      range,
      machine,
      autoFinalize: options.autoFinalize ?? true,
      autoDismiss: options.autoDismiss ?? true,
      commandTimeoutMs: timeoutMs,
      stream,
      resyncing: false,
    });
    job.follow();
    // The job may already wait for us, or even be gone, by the time the reply came.
    job.catchUp();
    return job;
  }

  /**
   * Attaches to a commit job that already runs (our controller died, or someone else started it):
   * rebuilds its state from query-block-jobs / query-jobs, then follows its events. With only a
   * range, the job is found by the default id or as the one commit job holding the disk.
   */
  static async attach(client: QmpClient, target: AttachTarget, options: AttachOptions = {}): Promise<CommitJob> {
    const timeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    const range = target.range;
    const disk = range?.disk.device;
    const byRange = target.jobId === undefined;
    let id = target.jobId;
    if (id === undefined && range) id = (await findDiskJob(client, range.disk, { timeoutMs, types: ['commit'] })).device;
    if (id === undefined) throw new JobOptionError('attach needs a job id or a range', { disk });
    const context = { jobId: id, disk };
    // Follow first, then query: an event between the query and the subscription cannot be lost.
    const stream = client.events({ names: JOB_EVENT_NAMES, jobId: id });
    let info: BlockJobInfo | undefined;
    let jobInfo: JobInfo | undefined;
    try {
      const [blockJobs, allJobs] = await Promise.all([
        client.execute('query-block-jobs', undefined, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) }),
        client.execute('query-jobs', undefined, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) }),
      ]);
      info = blockJobs.find((j) => j.device === id);
      jobInfo = allJobs.find((j) => j.id === id);
    } catch (error) {
      await stream.return?.();
      throw error;
    }
    if (!info || !jobInfo) {
      await stream.return?.();
      if (byRange) throw new JobNotFoundError(`commit job '${id}' on ${disk ?? 'its disk'} is gone`, context);
      throw new JobVanishedError(
        `job '${id}' is not in QEMU (any more): it ended, or never existed, and how it ended is unknown — check the chain before trusting or deleting any image`,
        context,
      );
    }
    if (info.type !== 'commit') {
      await stream.return?.();
      throw new JobNotFoundError(`job '${id}' is a ${info.type} job, not a commit`, context);
    }
    const status = isJobStatus(jobInfo.status) ? jobInfo.status : info.status;
    const machine = new JobStateMachine(id, status, Date.now() / 1000);
    const job = new CommitJob({
      client,
      id,
      disk: disk ?? id,
      range,
      machine,
      autoFinalize: info['auto-finalize'],
      autoDismiss: info['auto-dismiss'],
      commandTimeoutMs: timeoutMs,
      stream,
      resyncing: true,
      label: options.label,
    });
    if (jobInfo.error !== undefined) job.dismissedError = jobInfo.error;
    if (!range) job.attachedActive = await isActiveCommit(client, info, undefined, timeoutMs).catch(() => undefined);
    job.follow();
    job.catchUp();
    return job;
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

  /** Active commit: READY was seen (from the job's own events). */
  get isReady(): boolean {
    return this.machine.isReady;
  }

  get active(): boolean | undefined {
    return this.range?.active;
  }

  /** Progress for display: offset/len from query-block-jobs (100 % does not mean ready). */
  async progress(options: WaitOptions = {}): Promise<JobProgress> {
    const jobs = await this.client.execute('query-block-jobs', undefined, { timeoutMs: this.commandTimeoutMs, ...options });
    const info = jobs.find((j) => j.device === this.id);
    if (!info) {
      // Gone from QEMU: show the last known figures; the outcome comes from the events, not from here.
      const ending = this.machine.ending;
      const len = ending?.len ?? 0;
      const offset = ending?.offset ?? 0;
      return { offset, len, percent: len ? (offset / len) * 100 : 0, speed: 0, status: this.machine.status, ready: this.machine.isReady, paused: false, ioStatus: 'ok' };
    }
    return {
      offset: info.offset,
      len: info.len,
      percent: info.len ? (info.offset / info.len) * 100 : 0,
      speed: info.speed,
      status: info.status,
      ready: info.ready,
      paused: info.paused,
      ioStatus: info['io-status'],
    };
  }

  // ------------------------------------------------------------------ verbs

  /** Changes the bandwidth limit (bytes/s, 0 = unlimited) while the job runs. */
  async setSpeed(speed: number): Promise<void> {
    if (!(Number.isSafeInteger(speed) && speed >= 0)) {
      throw new JobOptionError(`speed must be a whole number of bytes per second, 0 or more (got ${speed})`, this.context());
    }
    await this.command('change the speed of', 'block-job-set-speed', { device: this.id, speed });
  }

  async pause(): Promise<void> {
    await this.command('pause', 'block-job-pause', { device: this.id });
  }

  /** Resumes a job paused by pause() or by an I/O error with on-error "stop". */
  async resume(): Promise<void> {
    await this.command('resume', 'block-job-resume', { device: this.id });
  }

  /** Resolves when the job reports READY (active commit); rejects if it ends first. */
  waitUntilReady(options: WaitOptions = {}): Promise<void> {
    return boundedWait<void>(`waiting for commit job '${this.id}' to be ready`, options, (resolve, reject) => {
      if (this.machine.isReady) {
        resolve();
        return () => {};
      }
      const onReady = (): void => resolve();
      this.machine.on('ready', onReady);
      this.finished.then(
        (result) => reject(new JobFailedError({ jobId: this.id, disk: this.label, device: this.disk, awaited: 'becoming ready' }, result)),
        reject,
      );
      return () => this.machine.off('ready', onReady);
    });
  }

  /**
   * Resolves when the job is in `status` (at once if it is now), e.g. "paused" after an I/O error
   * with on-error "stop"; rejects if the job ends first.
   */
  waitForStatus(status: JobStatus, options: WaitOptions = {}): Promise<void> {
    return boundedWait<void>(`waiting for commit job '${this.id}' to be ${status}`, options, (resolve, reject) => {
      if (this.machine.status === status) {
        resolve();
        return () => {};
      }
      const onState = (change: JobStateChange): void => {
        if (change.status === status) resolve();
      };
      this.machine.on('state', onState);
      this.finished.then(
        (result) => reject(new JobFailedError({ jobId: this.id, disk: this.label, device: this.disk, awaited: `reaching ${status}` }, result)),
        reject,
      );
      return () => this.machine.off('state', onState);
    });
  }

  /** Active commit after READY: switch the guest to base (block-job-complete) and wait for the end. */
  async pivot(options: WaitOptions = {}): Promise<CommitResult> {
    this.requireReady('pivot');
    if (this.range) assertPivotable(this.range, this.id);
    this.request = 'pivot';
    try {
      await this.command('pivot', 'block-job-complete', { device: this.id });
    } catch (error) {
      if (error instanceof JobCommandError) {
        this.request = undefined; // QEMU refused: nothing was requested
        throw error;
      }
      // Lost, timed out or aborted with the command sent: QEMU may have pivoted. Say where the data is.
      this.interrupted(error instanceof Error ? error : new Error(String(error)));
    }
    return this.wait(options);
  }

  /** Active commit after READY: end the job, the guest stays on top (cancel after READY). */
  async keepOverlay(options: WaitOptions = {}): Promise<CommitResult> {
    this.requireReady('keep the overlay of');
    this.request = 'keep-overlay';
    await this.command('keep the overlay of', 'block-job-cancel', { device: this.id });
    return this.wait(options);
  }

  /**
   * Abandons the job: forced cancel (a paused job refuses a plain one, and after READY a plain
   * cancel would end as "overlay kept"). The guest stays on top; base is partly written.
   */
  async abort(options: WaitOptions = {}): Promise<CommitResult> {
    const status = this.machine.status;
    if (status === 'concluded' || status === 'null' || this.settled) {
      throw new JobStateError(`cannot abort commit job '${this.id}': it has already ended (${status})`, this.context(), status);
    }
    this.request = 'abort';
    await this.command('abort', 'block-job-cancel', { device: this.id, force: true });
    return this.wait(options);
  }

  /**
   * Waits for the job's end and its result. Rejects with JobFailedError when it failed or was
   * cancelled by someone else, JobInterruptedError when the connection to QEMU ended first.
   */
  wait(options: WaitOptions = {}): Promise<CommitResult> {
    return boundedWait<CommitResult>(`waiting for commit job '${this.id}' to end`, options, (resolve, reject) => {
      this.finished.then((result) => {
        if (result.outcome === 'failed' || (result.outcome === 'aborted' && this.request !== 'abort')) reject(new JobFailedError({ jobId: this.id, disk: this.label, device: this.disk }, result));
        else resolve(result);
      }, reject);
      return () => {};
    });
  }

  /** Stops following the job without touching it (it keeps running in QEMU). */
  async detach(): Promise<void> {
    await this.stream.return?.();
  }

  // ------------------------------------------------------------------ internals

  private context(): JobErrorContext {
    return { jobId: this.id, disk: this.disk };
  }

  private requireReady(verb: string): void {
    if ((this.range?.active ?? this.attachedActive) === false) {
      throw new JobStateError(`cannot ${verb} commit job '${this.id}': it is an intermediate commit, which completes by itself (wait for it, or abort it)`, this.context(), this.machine.status);
    }
    if (!this.machine.isReady) {
      throw new JobStateError(`cannot ${verb} commit job '${this.id}': not ready yet (status ${this.machine.status}); wait for READY first`, this.context(), this.machine.status);
    }
    if (this.request) {
      throw new JobStateError(`cannot ${verb} commit job '${this.id}': ${this.request} was already requested`, this.context(), this.machine.status);
    }
  }

  private async command(verb: string, name: 'block-job-complete' | 'block-job-cancel' | 'block-job-set-speed' | 'block-job-pause' | 'block-job-resume', args: { device: string; force?: boolean; speed?: number }): Promise<void> {
    try {
      await this.client.execute(name, args as never, { timeoutMs: this.commandTimeoutMs });
    } catch (error) {
      if (error instanceof QmpCommandError) throw new JobCommandError(`cannot ${verb} commit job '${this.id}' on ${this.label}`, this.context(), error);
      throw error;
    }
  }

  /** Acts on a status reached before we followed: a job that waits for finalize/dismiss, or one already gone. */
  private catchUp(): void {
    const status = this.machine.status;
    if (status === 'null') {
      this.succeed();
      void this.stream.return?.();
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
            this.succeed();
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
      await this.jobCommand('finalize', 'job-finalize', 'pending');
    } else if (status === 'concluded' && !this.autoDismiss) {
      // The event does not always carry the error; query-jobs does, until the job is dismissed.
      const jobs = await this.client.execute('query-jobs', undefined, { timeoutMs: this.commandTimeoutMs });
      const info = jobs.find((j) => j.id === this.id);
      if (!info) return; // someone else (libvirt does, for the jobs it started) dismissed it already
      if (info.error !== undefined) this.dismissedError = info.error;
      await this.jobCommand('dismiss', 'job-dismiss', 'concluded');
    }
  }

  /**
   * job-finalize / job-dismiss. Another controller (libvirt, for its own jobs) may do the same
   * thing first: when QEMU refuses, the job's status decides — moved on past `expected`, or gone,
   * means it was done for us, which is no failure.
   */
  private async jobCommand(verb: string, name: 'job-finalize' | 'job-dismiss', expected: JobStatus): Promise<void> {
    try {
      await this.client.execute(name, { id: this.id }, { timeoutMs: this.commandTimeoutMs });
    } catch (error) {
      if (!(error instanceof QmpCommandError)) throw error;
      const now = (await this.client.execute('query-jobs', undefined, { timeoutMs: this.commandTimeoutMs })).find((j) => j.id === this.id);
      if (now === undefined || now.status !== expected) return;
      throw new JobCommandError(`cannot ${verb} commit job '${this.id}' on ${this.label}`, this.context(), error);
    }
  }

  private outcome(): { outcome: CommitOutcome | undefined; invalidatedAs: CommitOutcome | 'unknown'; error?: string } {
    const ending = this.machine.ending;
    // Cancelled first: with auto-dismiss off, query-jobs reports a cancelled job's error as "Operation canceled".
    if (ending?.event === 'BLOCK_JOB_CANCELLED') return { outcome: 'aborted', invalidatedAs: 'aborted' };
    const error = this.dismissedError ?? ending?.error;
    if (error !== undefined) return { outcome: 'failed', invalidatedAs: 'failed', error };
    if (ending === undefined && !this.machine.statuses.includes('concluded')) return { outcome: undefined, invalidatedAs: 'unknown' };
    const active = this.range?.active ?? this.machine.hasBeenReady;
    if (!active) return { outcome: 'completed', invalidatedAs: 'completed' };
    if (this.request === 'pivot') return { outcome: 'pivoted', invalidatedAs: 'pivoted' };
    if (this.request === 'keep-overlay') return { outcome: 'overlay-kept', invalidatedAs: 'overlay-kept' };
    // Finished by someone else: pivot and cancel-after-READY both end in COMPLETED.
    return { outcome: 'completed', invalidatedAs: 'unknown' };
  }

  private succeed(): void {
    const { outcome, invalidatedAs, error } = this.outcome();
    if (outcome === undefined) {
      this.settle(undefined, new JobVanishedError(`commit job '${this.id}' on ${this.label} disappeared (status null) without a completion or cancel event: how it ended is unknown`, this.context()));
      return;
    }
    const history = [...this.machine.history];
    const startedAt = history[0]?.at ?? Number.NaN;
    const readyAt = this.machine.readySince;
    const concludedAt = history.find((c) => c.status === 'concluded')?.at;
    const timings: CommitTimings = { startedAt };
    if (readyAt !== undefined) {
      timings.readyAt = readyAt;
      timings.secondsToReady = readyAt - startedAt;
    }
    if (concludedAt !== undefined) {
      timings.concludedAt = concludedAt;
      timings.totalSeconds = concludedAt - startedAt;
    }
    const result: CommitResult = {
      jobId: this.id,
      disk: this.disk,
      outcome,
      ...(error !== undefined ? { error } : {}),
      states: history.map((c) => c.status),
      history,
      ioErrors: [...this.machine.ioErrors],
      anomalies: [...this.machine.anomalies],
      timings,
      invalidated: this.range ? invalidatedBy(this.range, invalidatedAs) : undefined,
      offset: this.machine.ending?.offset ?? 0,
      len: this.machine.ending?.len ?? 0,
    };
    this.settle(result, undefined);
  }

  private interrupted(cause: Error | undefined): void {
    if (this.settled) return;
    const range = this.range;
    const positions = range ? layersBetween(range.disk, range.base, range.top) : undefined;
    this.settle(undefined, new JobInterruptedError({
      jobId: this.id,
      disk: this.label,
      device: this.disk,
      lastStatus: this.machine.status,
      how: !cause ? 'the client stopped following it'
        : cause instanceof ConnectionClosedError ? `the connection to QEMU was lost (${cause.message})`
          : cause instanceof QmpTimeoutError ? `QEMU's monitor did not answer (${cause.message})`
            : `following the job stopped (${cause.message})`,
      pivotRequested: this.request === 'pivot',
      images: range && positions
        ? { top: range.top.file, base: range.base.file, above: positions.above.map((l) => l.file), between: positions.between.map((l) => l.file) }
        : undefined,
    }, { cause }));
  }

  private fail(error: unknown): void {
    this.settle(undefined, error instanceof Error ? error : new Error(String(error)));
  }

  private settle(result: CommitResult | undefined, error: Error | undefined): void {
    if (this.settled) return;
    if (result) {
      this.settled = { result };
      this.settleFinished.resolve(result);
    } else {
      this.settled = { error: error ?? new Error('unknown') };
      this.settleFinished.reject(this.settled.error as Error);
    }
  }
}
