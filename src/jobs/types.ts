/*
 * The vocabulary of the job layer: what a job's result, progress and timings look like, whatever
 * the job (commit today; stream and mirror share the same core).
 */
import type { InvalidatedImages } from '../block/types.js';
import type { JobStatus } from '../qapi/types.js';
import type { NodeCleanup } from './graph-hygiene.js';
import type { JobIoError, JobStateChange, TransitionAnomaly } from './state.js';

/**
 * How a job ended. `completed`: it finished by itself (or someone else completed it); `pivoted`:
 * our block-job-complete switched the guest; `overlay-kept` (commit) / `copied` (copy): our cancel
 * after READY ended it with the guest where it was; `aborted`: a forced cancel; `failed`: QEMU
 * reported an error.
 */
export type JobOutcome = 'completed' | 'pivoted' | 'overlay-kept' | 'copied' | 'aborted' | 'failed';

/** Every time here is in milliseconds, as every timeout of the library. */
export interface JobTimings {
  /** QEMU timestamps (ms since the epoch, as Date.now()) of the first status seen, READY, "concluded". */
  startedAt: number;
  readyAt?: number | undefined;
  concludedAt?: number | undefined;
  /** Milliseconds from the first status seen to READY. */
  msToReady?: number | undefined;
  /** Milliseconds from the first status seen to "concluded". */
  totalMs?: number | undefined;
}

export interface JobResult {
  jobId: string;
  /**
   * The disk as the caller named it ("vda"): `disk` is always the user's word (BlockJob.disk; for a
   * job attached by id with no AttachOptions.disk, QEMU's name, as nothing else is known).
   */
  disk: string;
  /** QEMU's name of the disk the job runs on (the `device` it was started on). */
  device: string;
  outcome: JobOutcome;
  /** QEMU's error text for the job (query-jobs first when we dismiss, else BLOCK_JOB_COMPLETED.error). */
  error?: string | undefined;
  /** Every status the job went through, in order (from the attach-time status for a reattached job). */
  states: JobStatus[];
  history: JobStateChange[];
  ioErrors: JobIoError[];
  /** Transitions QEMU's job table does not allow, if any were seen. */
  anomalies: TransitionAnomaly[];
  timings: JobTimings;
  /** Which images are no longer valid on their own; undefined when not known (attached by id). */
  invalidated: InvalidatedImages | undefined;
  /** Final progress: offset and len of the ending event. */
  offset: number;
  len: number;
  /** The nodes that left the disk's chain, deleted once nothing used them (or kept, and why). */
  nodes?: NodeCleanup | undefined;
  /** The persistent bitmaps the job carried into the image that stays ("bitmap chk1: top.qcow2 → base.qcow2 …"), and why it could not, if so. */
  bitmaps?: { moved: string[]; error?: string } | undefined;
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

export interface ProgressOptions {
  /** Milliseconds between two readings. Default 1000. */
  intervalMs?: number | undefined;
  /** Rejects the iterator with AbortedError when it fires (the job goes on). */
  signal?: AbortSignal | undefined;
  /** Bound of each reading (query-block-jobs). Default: the job's command timeout. */
  timeoutMs?: number | undefined;
}

export interface AttachOptions {
  commandTimeoutMs?: number | undefined;
  /**
   * The caller's name for the disk, when attaching by id without a range: the job's and its errors'
   * `disk` (without it, they fall back to `device`, else the job id).
   */
  disk?: string | undefined;
  /** QEMU's name (`device`) of the disk the job runs on, when the caller resolved it (else the job is known by id only). */
  device?: string | undefined;
  /** Aborts the attach only (the job keeps running). */
  signal?: AbortSignal | undefined;
  /** Cancels the attached job when it fires (forced, as job.cancel()): wait() then resolves with outcome "aborted". */
  cancelSignal?: AbortSignal | undefined;
}

/** What the controller asked the job to do last: complete (pivot), cancel after READY, forced cancel. */
export type JobRequest = 'complete' | 'cancel' | 'abort';
