/*
 * Errors of the job layer. All are QmpError subclasses carrying the job id, the disk in both its
 * names (`disk`: the caller's; `device`: QEMU's), and, when QEMU refused something, its error class
 * and description.
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
 *         ├── JobUnsupportedError   this QEMU lacks what was asked (read from its schema, not its version)
 *         ├── MirrorTargetError     a copy's destination could not be made ready (nothing was started)
 *         └── ImageDeletionError    --delete refused (or stopped): the files it kept, the ones it deleted
 */
import { callerDiskName, describeNames } from '../block/chain.js';
import type { DiskChain } from '../block/types.js';
import { QmpCommandError, QmpError, type QmpErrorOptions } from '../errors.js';
import type { JobStatus } from '../qapi/types.js';
import { JOB_KINDS, type JobNoun } from './kinds.js';
import type { JobOutcome, JobResult } from './types.js';

/**
 * Which job and disk an error is about. `disk` is always the caller's word for the disk, `device`
 * always QEMU's: the two names of the one disk (diskContext builds both from a DiskChain).
 */
export interface JobErrorContext {
  jobId?: string | undefined;
  /**
   * The disk as the caller named it (DiskChain.requestedAs, else the name it is best known by: its
   * libvirt target, qdev id, drive id, …). For a job attached by id with no `disk` given in
   * AttachOptions, nothing else is known: then it is QEMU's name (the `device`, else the job id).
   */
  disk?: string | undefined;
  /** QEMU's name of the disk: the `device` the job was (or would have been) started on (a drive id or the active node's name). */
  device?: string | undefined;
}

/** The context of an error about `disk` (and the job `jobId`): the caller's name and QEMU's. */
export function diskContext(disk: DiskChain, jobId?: string): JobErrorContext & { disk: string; device: string } {
  return { ...(jobId !== undefined ? { jobId } : {}), disk: callerDiskName(disk), device: disk.device };
}

export class JobError extends QmpError {
  readonly jobId: string | undefined;
  /** The disk as the caller named it (see JobErrorContext.disk); undefined when the error is about no one disk. */
  readonly disk: string | undefined;
  /** QEMU's name of the disk (the job's `device`: a drive id or node name); undefined when not known. */
  readonly device: string | undefined;
  constructor(message: string, context: JobErrorContext, options?: QmpErrorOptions) {
    super(message, options);
    this.jobId = context.jobId;
    this.disk = context.disk;
    this.device = context.device;
  }
}

export class JobOptionError extends JobError {}

/**
 * What was read back from QEMU right after it refused a pivot or an abort: where the data is. The
 * library states these facts; what to type next is the CLI's to say. (The disk is the error's `disk`.)
 */
export interface RefusalFacts {
  /** The job's status read back (query-jobs), `gone` when QEMU has no such job; undefined when it could not be read. */
  jobStatus?: JobStatus | 'gone' | undefined;
  /** The image the guest's disk runs on now (its active layer, read back); undefined when it could not be read. */
  guestImage?: string | undefined;
  /** What was refused: `pivot` (complete), `abort` (forced cancel), `finish` / `keep the overlay of` (cancel after READY). */
  verb?: string | undefined;
  /** The job has no READY phase (an intermediate commit): it ends by itself, nothing to pivot. */
  completesByItself?: boolean | undefined;
}

/** QEMU answered a job command with an error; keeps QEMU's class and text, and for a pivot or abort where the data is. */
export class JobCommandError extends JobError {
  readonly errorClass: string;
  readonly desc: string;
  readonly command: string;
  /** The job's status right after the refusal (pivot and abort only; see RefusalFacts). */
  readonly jobStatus: JobStatus | 'gone' | undefined;
  /** The image the guest runs on right after the refusal (pivot and abort only). */
  readonly guestImage: string | undefined;
  /** The refused verb (pivot and abort only). */
  readonly verb: string | undefined;
  constructor(what: string, context: JobErrorContext, cause: QmpCommandError, facts: RefusalFacts = {}) {
    super(`${what}: QEMU refused ${cause.command} (${cause.errorClass}: ${cause.desc})${refusalFactsText(facts)}`, context, { cause });
    this.errorClass = cause.errorClass;
    this.desc = cause.desc;
    this.command = cause.command;
    this.jobStatus = facts.jobStatus;
    this.guestImage = facts.guestImage;
    this.verb = facts.verb;
  }
}

function refusalFactsText(f: RefusalFacts): string {
  const parts: string[] = [];
  if (f.jobStatus === 'gone') parts.push('the job is no longer in QEMU');
  else if (f.jobStatus !== undefined) parts.push(`the job is ${f.jobStatus}${f.jobStatus === 'ready' ? ', waiting for a pivot or an abort' : ''}`);
  if (f.guestImage !== undefined) parts.push(`the guest runs on ${f.guestImage}`);
  return parts.length ? `; ${parts.join('; ')}` : '';
}

/**
 * QEMU has no such job: block-job-* says DeviceNotActive ("Block job 'x' not found"), job-* says
 * GenericError "Job not found" (QEMU 7.2 to 11.1 alike).
 */
export function isJobNotFound(error: QmpCommandError | JobCommandError): boolean {
  return error.errorClass === 'DeviceNotActive' || (error.errorClass === 'GenericError' && /^(Job not found|Block job '.*' not found)$/.test(error.desc));
}

/** The disk is busy with another job (QEMU would say "Need a root block node"), or the id is in use. */
export class JobAlreadyRunningError extends JobError {
  /** Ids of the jobs found on the disk (or with the same id). */
  readonly existingJobs: readonly string[];
  /** The job holding the id has failed: QEMU's error text (it stays until dismissed). */
  readonly failure: string | undefined;
  constructor(message: string, context: JobErrorContext, existingJobs: readonly string[], options?: QmpErrorOptions, failure?: string) {
    super(message, context, options);
    this.existingJobs = existingJobs;
    this.failure = failure;
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
  /** For a pivot refused before sending: the job's status read back then (see RefusalFacts). */
  readonly jobStatus: JobStatus | 'gone' | undefined;
  /** For a pivot refused before sending: the image the guest runs on, read back then. */
  readonly guestImage: string | undefined;
  /** The refused verb (with the facts only). */
  readonly verb: string | undefined;
  /** The job has no READY phase (an intermediate commit): it ends by itself. */
  readonly completesByItself: boolean;
  constructor(message: string, context: JobErrorContext, status: JobStatus, facts: RefusalFacts = {}) {
    super(`${message}${refusalFactsText(facts)}`, context);
    this.status = status;
    this.jobStatus = facts.jobStatus;
    this.guestImage = facts.guestImage;
    this.verb = facts.verb;
    this.completesByItself = facts.completesByItself ?? false;
  }
}

/** The job ended but not as asked: QEMU's error text is in `result.error`. */
export interface FailureFacts {
  jobId: string;
  /** The disk as the caller named it (JobErrorContext.disk). */
  disk: string;
  /** QEMU's name of the disk (the job's `device`). */
  device?: string | undefined;
  /** The job kind's noun (src/jobs/kinds.ts). Default: a commit's. */
  kind?: JobNoun | undefined;
  /** What the caller waited for when the job ended otherwise ("becoming ready"); undefined: its end. */
  awaited?: string | undefined;
}

export class JobFailedError extends JobError {
  readonly result: JobResult;
  constructor(facts: FailureFacts, result: JobResult) {
    super(failureMessage(facts, result), { jobId: facts.jobId, disk: facts.disk, device: facts.device });
    this.result = result;
  }
}

function failureMessage(facts: FailureFacts, result: JobResult): string {
  const head = `${facts.kind ?? JOB_KINDS.commit.noun} job '${facts.jobId}' on ${describeNames(facts.disk, facts.device)}`;
  const ended =
    result.outcome === 'failed'
      ? `failed: ${result.error ?? 'QEMU gave no error text'}`
      : result.outcome === 'aborted'
        ? `was cancelled by someone else${facts.awaited ? ` before ${facts.awaited}` : ''}`
        : `ended (${result.outcome}${result.error ? `: ${result.error}` : ''}) without ${facts.awaited ?? 'finishing'}`;
  const images = result.invalidated;
  if (!images || (result.outcome !== 'failed' && result.outcome !== 'aborted')) return `${head} ${ended}`;
  const [base, ...between] = images.files;
  const partly = base ? `; base ${base} is partly written and${between.length ? `, like ${between.join(', ')},` : ''} no longer valid on its own` : '';
  const valid = images.stillValid.length ? `; the disk still runs on ${images.stillValid.join(' ← ')}, which reads as before` : '';
  return `${head} ${ended}${partly}${valid}`;
}

/** The job disappeared from QEMU without us seeing its conclusion; it may or may not have succeeded. */
export class JobVanishedError extends JobError {}

/** The command that starts a job was sent and not answered; what QEMU runs now is in the message. */
export class JobStartUnknownError extends JobError {
  /** QEMU's jobs could not be read either: the job may be running now. False: QEMU has no such job. */
  readonly maybeRunning: boolean;
  constructor(message: string, context: JobErrorContext, maybeRunning: boolean, options?: QmpErrorOptions) {
    super(message, context, options);
    this.maybeRunning = maybeRunning;
  }
}

/** What an interruption leaves: the facts JobInterruptedError builds its message from. */
export interface InterruptionFacts {
  jobId: string;
  /** The job kind's noun (src/jobs/kinds.ts). Default: a commit's. */
  kind?: JobNoun | undefined;
  /** The disk as the caller named it (JobErrorContext.disk). */
  disk: string;
  /** QEMU's name of the disk (the `device` the job runs on). */
  device?: string | undefined;
  /** The last status we saw. */
  lastStatus: JobStatus;
  /** How following the job ended ("the connection to QEMU was lost (…)"). */
  how: string;
  /** block-job-complete was sent: the pivot may have happened. */
  pivotRequested: boolean;
  /** The images, when the job's range is known (a commit's top, base and what lies between). */
  images?: { top: string; base: string; above: readonly string[]; between: readonly string[] } | undefined;
  /** What is on disk, said by a job type whose images are not a commit's (a pull, a copy). */
  onDisk?: string | undefined;
  /** The image a requested pivot switches the guest onto, when it is not a commit's base (a copy's destination). */
  pivotTarget?: string | undefined;
}

function interruptionMessage(f: InterruptionFacts): string {
  const head = `${f.kind ?? JOB_KINDS.commit.noun} job '${f.jobId}' on ${describeNames(f.disk, f.device)} was interrupted`;
  if (f.pivotRequested) {
    const where = f.images
      ? `the disk now runs on base ${f.images.base} and the guest writes into it, so ${f.images.top} is no longer the disk: do not boot from it`
      : f.pivotTarget
        ? `the disk now runs on ${f.pivotTarget} and the guest writes into it, so the old chain is no longer the disk: do not boot from it`
        : "the disk now runs on the commit's base and the guest writes into it";
    return (
      `${head} after the pivot was requested (block-job-complete sent, last status ${f.lastStatus}): ${f.how}. ` +
      `If QEMU carried the pivot out (it normally does within milliseconds), ${where}. ` +
      'Check which image the disk runs on (query-block) before anything else; delete nothing.'
    );
  }
  const onDisk =
    f.onDisk ??
    (f.images
      ? `on disk: the top ${f.images.top}${f.images.above.length ? ' and the images above it' : ''} still read right; base ${f.images.base} may be partly written${f.images.between.length ? `; it and the intermediates ${f.images.between.join(', ')} are no longer valid on their own` : ' and is no longer valid on its own'} — delete nothing`
      : 'the images it touched are not known here (attached by id) — delete nothing');
  return `${head} while ${f.lastStatus}: ${f.how}; if QEMU still runs, the job may go on — reconnect and attach to it; ${onDisk}`;
}

/** The connection ended mid-job; the message says where the data is and what is still valid on disk. */
export class JobInterruptedError extends JobError {
  /** The last status we saw. */
  readonly lastStatus: JobStatus;
  /** block-job-complete was sent before the interruption: the guest may already run on base. */
  readonly pivotRequested: boolean;
  /** Files that still read right on their own (the top and everything above it); empty once a pivot was requested. */
  readonly stillValid: readonly string[];
  /** Files whose content is not to be trusted (base partly written, the intermediates). */
  readonly unreliable: readonly string[];
  constructor(facts: InterruptionFacts, options?: QmpErrorOptions) {
    super(interruptionMessage(facts), { jobId: facts.jobId, disk: facts.disk, device: facts.device }, options);
    this.lastStatus = facts.lastStatus;
    this.pivotRequested = facts.pivotRequested;
    const images = facts.images;
    this.stillValid = images && !facts.pivotRequested ? [images.top, ...images.above] : [];
    this.unreliable = images && !facts.pivotRequested ? [images.base, ...images.between] : [];
  }
}
/** Deleting the committed images was refused or stopped part-way; says what was deleted and what was kept. */
export class ImageDeletionError extends JobError {
  readonly reason: string;
  readonly deleted: readonly string[];
  readonly kept: readonly string[];
  constructor(
    context: JobErrorContext & { jobId: string; disk: string },
    reason: string,
    deleted: readonly string[],
    kept: readonly string[],
    options?: QmpErrorOptions,
    kind: JobNoun = JOB_KINDS.commit.noun,
  ) {
    const done = deleted.length ? `deleted ${deleted.join(', ')}, then stopped` : 'nothing deleted';
    const left = kept.length ? `; kept ${kept.join(', ')}` : '';
    const on = describeNames(context.disk, context.device);
    super(`not deleting the images ${kind} job '${context.jobId}' on ${on} took out of the chain (${done}): ${reason}${left}`, context, options);
    this.reason = reason;
    this.deleted = deleted;
    this.kept = kept;
  }
}

/** This QEMU's schema lacks a command or argument the request needs (e.g. block-job-change before 8.2). */
export class JobUnsupportedError extends JobError {
  /** What is missing: "block-job-change", "blockdev-mirror copy-mode". */
  readonly feature: string;
  constructor(message: string, context: JobErrorContext, feature: string) {
    super(message, context);
    this.feature = feature;
  }
}

/** A copy's destination could not be made ready: the file exists, is a link, could not be created or opened. Nothing was started. */
export class MirrorTargetError extends JobError {
  readonly file: string;
  /** We created the file before the failure (it is left where it is, and the message says so). */
  readonly created: boolean;
  /**
   * Why a destination the caller could still use was refused: `exists` (it is there already, and
   * reuseExisting was not given), `holds-data` (a shallow copy's reused destination holds data of its
   * own, and allowExistingData was not given). Undefined for the other failures.
   */
  readonly refusal: 'exists' | 'holds-data' | undefined;
  constructor(message: string, context: JobErrorContext, file: string, created: boolean, options?: QmpErrorOptions, refusal?: 'exists' | 'holds-data') {
    super(message, context, options);
    this.file = file;
    this.created = created;
    this.refusal = refusal;
  }
}

/** How one disk of a group commit ended. */
export interface GroupMemberOutcome {
  /** The disk as the caller named it (JobErrorContext.disk). */
  disk: string;
  /** QEMU's name of the disk (the job's `device`). */
  device: string;
  jobId: string;
  outcome: JobOutcome | 'not started';
  /** Where the guest's data is now, in words. */
  where: string;
  error?: string;
}

/** A group pivot that did not pivot every disk: each member says how it ended and where its data is. */
export class GroupPivotError extends JobError {
  readonly members: readonly GroupMemberOutcome[];
  constructor(why: string, members: readonly GroupMemberOutcome[], options?: QmpErrorOptions) {
    const pivoted = members.filter((m) => m.outcome === 'pivoted');
    const head = pivoted.length ? `only ${pivoted.map((m) => describeNames(m.disk, m.device)).join(', ')} pivoted` : 'no disk pivoted';
    super(`group commit: ${head}: ${why}; ${members.map((m) => `${describeNames(m.disk, m.device)}: ${m.where}`).join('; ')}`, {}, options);
    this.members = members;
  }
}
