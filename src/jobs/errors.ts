/*
 * Errors of the job layer. All are QmpError subclasses carrying the job id and the disk, and, when
 * QEMU refused something, its error class and description.
 *
 *   QmpError
 *    └── JobError
 *         ├── JobOptionError        bad options given by the caller (nothing was sent)
 *         ├── JobCommandError       QEMU refused a job command (block-commit, complete, cancel, …)
 *         ├── JobAlreadyRunningError the disk already has a job, or the id is taken
 *         ├── JobNotFoundError      attach found no such job
 *         ├── JobStateError         the verb does not fit the job's status (pivot before READY)
 *         ├── JobFailedError        the job ended with an error, or was cancelled by someone else
 *         ├── JobVanishedError      the job is gone and we never saw how it ended: outcome unknown
 *         ├── JobInterruptedError   the connection to QEMU ended mid-job
 *         └── ImageDeletionError    --delete refused (or stopped): the files it kept, the ones it deleted
 */
import { QmpCommandError, QmpError, type QmpErrorOptions } from '../protocol/errors.js';
import type { JobStatus } from '../qapi/types.js';
import type { CommitResult } from './commit.js';

export interface JobErrorContext {
  jobId?: string | undefined;
  /** The `device` the job was started on (drive id or active node name). */
  disk?: string | undefined;
}

export class JobError extends QmpError {
  readonly jobId: string | undefined;
  readonly disk: string | undefined;
  constructor(message: string, context: JobErrorContext, options?: QmpErrorOptions) {
    super(message, options);
    this.jobId = context.jobId;
    this.disk = context.disk;
  }
}

export class JobOptionError extends JobError {}

/** QEMU answered a job command with an error; keeps QEMU's class and text. */
export class JobCommandError extends JobError {
  readonly errorClass: string;
  readonly desc: string;
  readonly command: string;
  constructor(what: string, context: JobErrorContext, cause: QmpCommandError) {
    super(`${what}: QEMU refused ${cause.command} (${cause.errorClass}: ${cause.desc})`, context, { cause });
    this.errorClass = cause.errorClass;
    this.desc = cause.desc;
    this.command = cause.command;
  }
}

/** The disk is busy with another job (QEMU would say "Need a root block node"), or the id is in use. */
export class JobAlreadyRunningError extends JobError {
  /** Ids of the jobs found on the disk (or with the same id). */
  readonly existingJobs: readonly string[];
  constructor(message: string, context: JobErrorContext, existingJobs: readonly string[], options?: QmpErrorOptions) {
    super(message, context, options);
    this.existingJobs = existingJobs;
  }
}

export class JobNotFoundError extends JobError {
  /** When several jobs could be meant: their ids (then the caller must name one). Empty: there is no job. */
  readonly candidates: readonly string[];
  constructor(message: string, context: JobErrorContext, candidates: readonly string[] = []) {
    super(message, context);
    this.candidates = candidates;
  }
}

export class JobStateError extends JobError {
  readonly status: JobStatus;
  constructor(message: string, context: JobErrorContext, status: JobStatus) {
    super(message, context);
    this.status = status;
  }
}

/** The job ended but not as asked: QEMU's error text is in `result.error`. */
export class JobFailedError extends JobError {
  readonly result: CommitResult;
  constructor(message: string, context: JobErrorContext, result: CommitResult) {
    super(message, context);
    this.result = result;
  }
}

/** The job disappeared from QEMU without us seeing its conclusion; it may or may not have succeeded. */
export class JobVanishedError extends JobError {}

/** The connection ended mid-job; the message says what is still valid on disk. */
export class JobInterruptedError extends JobError {
  /** The last status we saw. */
  readonly lastStatus: JobStatus;
  /** Files that still read right on their own (the top and everything above it). */
  readonly stillValid: readonly string[];
  /** Files whose content is not to be trusted (base partly written, the intermediates). */
  readonly unreliable: readonly string[];
  constructor(message: string, context: JobErrorContext, lastStatus: JobStatus, stillValid: readonly string[], unreliable: readonly string[], options?: QmpErrorOptions) {
    super(message, context, options);
    this.lastStatus = lastStatus;
    this.stillValid = stillValid;
    this.unreliable = unreliable;
  }
}

/** Wraps a QmpCommandError from a job command; other errors pass through unchanged. */
export function wrapCommandError(what: string, context: JobErrorContext, error: unknown): unknown {
  return error instanceof QmpCommandError ? new JobCommandError(what, context, error) : error;
}

/** Deleting the committed images was refused or stopped part-way; says what was deleted and what was kept. */
export class ImageDeletionError extends JobError {
  readonly reason: string;
  readonly deleted: readonly string[];
  readonly kept: readonly string[];
  constructor(jobId: string, disk: string, reason: string, deleted: readonly string[], kept: readonly string[], options?: QmpErrorOptions) {
    const done = deleted.length ? `deleted ${deleted.join(', ')}, then stopped` : 'nothing deleted';
    const left = kept.length ? `; kept ${kept.join(', ')}` : '';
    super(`not deleting the images commit job '${jobId}' on ${disk} took out of the chain (${done}): ${reason}${left}`, { jobId, disk }, options);
    this.reason = reason;
    this.deleted = deleted;
    this.kept = kept;
  }
}
