/*
 * What a commit may be asked, checked before anything is sent: the options, the range, the
 * relative backing string for --keep-relative, and whether a pivot would switch anything.
 */
import path from 'node:path';
import { layersBetween, positionOf } from '../block/address.js';
import { describeDisk, hasUser } from '../block/chain.js';
import type { CommitRange } from '../block/types.js';
import type { BlockCommitArguments } from '../qapi/types.js';
import { assertSpeed } from './core.js';
import { diskContext, JobOptionError, JobStateError, type JobErrorContext } from './errors.js';

export type CommitOnError = 'report' | 'stop' | 'ignore' | 'enospc';

export interface CommitOptions {
  /** Job id; default `commit-<device>`. */
  jobId?: string | undefined;
  /** Bandwidth limit in bytes per second; 0 (default) is unlimited. Changeable later with setSpeed(). */
  speed?: number | undefined;
  /** What QEMU does on an I/O error (default "report": the job fails). */
  onError?: CommitOnError | undefined;
  /** Backing string QEMU writes into the image above top (intermediate commit only). */
  backingFile?: string | undefined;
  /**
   * Keep the backing link of the image above top relative (virsh --keep-relative): the backing
   * string becomes base's path relative to that image's folder. Needs relative links in the chain.
   */
  keepRelative?: boolean | undefined;
  /** Default true. When false, this controller finalizes the job itself (job-finalize at "pending"). */
  autoFinalize?: boolean | undefined;
  /**
   * The caller will not follow the job to its end (it detaches). An intermediate commit whose images
   * carry persistent bitmaps is then refused (JobOptionError): they are merged into base at PENDING,
   * where nobody would finalize the job.
   */
  detached?: boolean | undefined;
  /** Default true. When false, this controller reads the job's error from query-jobs, then dismisses it. */
  autoDismiss?: boolean | undefined;
  /** When the disk already has a job: "fail" (default, JobAlreadyRunningError) or "attach" to it. */
  ifRunning?: 'fail' | 'attach' | undefined;
  /** Timeout for each QMP command this job sends. Default: the client's commandTimeoutMs (30 s). */
  commandTimeoutMs?: number | undefined;
  /** Aborts the start only: a job that already exists keeps running (see cancelSignal). */
  signal?: AbortSignal | undefined;
  /**
   * Cancels the job when it fires (forced, as job.cancel()): before the job exists the start is
   * aborted (AbortedError, nothing left behind); once it exists the start still resolves with the
   * job and wait() resolves with outcome "aborted".
   */
  cancelSignal?: AbortSignal | undefined;
}

const ON_ERROR = new Set(['report', 'stop', 'ignore', 'enospc']);

/** Throws JobOptionError unless `onError` is one of QEMU's BlockdevOnError values (or undefined). */
export function assertOnError(onError: unknown, context: JobErrorContext): asserts onError is CommitOnError | undefined {
  if (onError !== undefined && (typeof onError !== 'string' || !ON_ERROR.has(onError))) {
    throw new JobOptionError(`on-error must be one of report, stop, ignore, enospc (got ${String(onError)})`, context);
  }
}

/** The relative backing string for the image above top after the commit (virsh --keep-relative). */
export function relativeBackingFile(range: CommitRange): string {
  const context = diskContext(range.disk);
  if (range.active) throw new JobOptionError('keep-relative applies to an intermediate commit only: an active commit leaves no image above top', context);
  const {
    between,
    above: [above],
  } = layersBetween(range.disk, range.base, range.top);
  if (!above) throw new JobOptionError(`no image above top ${range.top.file} in the chain of ${describeDisk(range.disk)}`, context);
  const absolute = [...between, range.top, above].find((l) => l.backingFile === undefined || path.isAbsolute(l.backingFile));
  if (absolute) {
    throw new JobOptionError(
      `cannot keep the backing link relative: ${absolute.file} records ${absolute.backingFile === undefined ? 'no backing file' : `the absolute backing file ${absolute.backingFile}`}`,
      context,
    );
  }
  return path.relative(path.dirname(above.file), range.base.file);
}

/** Checks `options` against `range` and builds block-commit's arguments. Throws JobOptionError, nothing sent. */
export function commitArguments(range: CommitRange, id: string, options: CommitOptions, context: JobErrorContext): BlockCommitArguments {
  if (options.jobId !== undefined && (typeof options.jobId !== 'string' || options.jobId === '')) {
    throw new JobOptionError('job id must be a non-empty string', context);
  }
  if (options.speed !== undefined) assertSpeed(options.speed, context);
  assertOnError(options.onError, context);
  if (range.active && (options.backingFile !== undefined || options.keepRelative)) {
    throw new JobOptionError('backing-file / keep-relative apply to an intermediate commit only', context);
  }
  if (options.backingFile !== undefined && options.keepRelative) {
    throw new JobOptionError('give either backingFile or keepRelative, not both', context);
  }
  // By position in the chain: indices are names (libvirt's count from the top).
  const base = positionOf(range.disk, range.base);
  const top = positionOf(range.disk, range.top);
  if (base < 0 || top < 0)
    throw new JobOptionError(`top ${range.top.file} and base ${range.base.file} must both be in the chain of ${describeDisk(range.disk)}`, context);
  if (base >= top) {
    throw new JobOptionError(`base [${range.base.index}] ${range.base.file} must lie below top [${range.top.index}] ${range.top.file}`, context);
  }
  const backingFile = options.keepRelative ? relativeBackingFile(range) : options.backingFile;
  const args: BlockCommitArguments = { 'job-id': id, device: range.disk.device, 'top-node': range.top.nodeName, 'base-node': range.base.nodeName };
  if (options.speed !== undefined) args.speed = options.speed;
  if (options.onError !== undefined) args['on-error'] = options.onError;
  if (backingFile !== undefined) args['backing-file'] = backingFile;
  if (options.autoFinalize !== undefined) args['auto-finalize'] = options.autoFinalize;
  if (options.autoDismiss !== undefined) args['auto-dismiss'] = options.autoDismiss;
  return args;
}

/**
 * Refuses a pivot that would switch nothing: measured on QEMU 7.2 and 10.0, block-job-complete on a
 * chain no device, -drive or export uses "succeeds" and the old top stays the root.
 */
export function assertPivotable(range: CommitRange, jobId?: string): void {
  if (hasUser(range.disk)) return;
  throw new JobStateError(
    `cannot pivot ${jobId ? `commit job '${jobId}'` : 'a commit'} on ${describeDisk(range.disk)}: no guest device, -drive or export uses that chain, so nothing would switch to base; keep the overlay instead (base then holds the merged data)`,
    diskContext(range.disk, jobId || undefined),
    'ready',
  );
}
