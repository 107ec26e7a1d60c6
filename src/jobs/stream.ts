/*
 * A live block-stream (virsh blockpull), on the shared job core: the data of the images between
 * base and the active layer is copied up into the active layer, which then backs onto base (or
 * stands alone). The job completes by itself. No image becomes invalid — a pull copies only what
 * the chain already shows — but the pulled images leave the chain.
 */
import path from 'node:path';
import type { PullRange } from '../block/types.js';
import type { QmpClient } from '../protocol/client.js';
import { QmpCommandError } from '../errors.js';
import type { BlockStreamArguments } from '../qapi/types.js';
import type { CommitOnError } from './commit-options.js';
import { assertSpeed, BlockJob } from './core.js';
import { attachById, kindInit, startedJobInit, startFacts, type KindlessInit } from './job-kind-parts.js';
import { JOB_KINDS } from './kinds.js';
import { busyDiskError, defaultPullJobId, preflight } from './discovery.js';
import { diskContext, JobCommandError, JobOptionError } from './errors.js';
import { launchJob, startJobCommand, startSignal } from './launch.js';
import type { AttachOptions, JobResult } from './types.js';
import { JobBitmaps } from './job-bitmaps.js';
import { pullBitmapSources } from '../block/bitmaps.js';

export interface PullOptions {
  /** Job id; default `pull-<disk>`. */
  jobId?: string | undefined;
  /** Bandwidth limit in bytes per second; 0 (default) is unlimited. */
  speed?: number | undefined;
  onError?: CommitOnError | undefined;
  /** Keep the active layer's backing link relative (virsh --keep-relative); needs a base and relative links. */
  keepRelative?: boolean | undefined;
  autoFinalize?: boolean | undefined;
  autoDismiss?: boolean | undefined;
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

/** The backing string the active layer records after a pull onto base, relative to its folder (--keep-relative). */
export function relativePullBacking(range: PullRange): string {
  const context = diskContext(range.disk);
  const active = range.disk.layers.at(-1);
  if (!range.base || !active) throw new JobOptionError('keep-relative needs a base: a pull of the whole chain leaves no backing link', context);
  if (active.backingFile === undefined || path.isAbsolute(active.backingFile)) {
    throw new JobOptionError(
      `cannot keep the backing link relative: ${active.file} records ${active.backingFile === undefined ? 'no backing file' : `the absolute backing file ${active.backingFile}`}`,
      context,
    );
  }
  return path.relative(path.dirname(active.file), range.base.file);
}

export class StreamJob extends BlockJob<JobResult> {
  readonly range: PullRange | undefined;
  /** The pulled images' persistent bitmaps, merged into the active image before the start. */
  private bitmaps: JobBitmaps | undefined;

  private constructor(init: KindlessInit, range: PullRange | undefined) {
    super(kindInit(JOB_KINDS.pull, init, range?.disk));
    this.range = range;
  }

  /** Starts block-stream for `range` (subscribing to the job's events first). */
  static async start(client: QmpClient, range: PullRange, options: PullOptions = {}): Promise<StreamJob> {
    const facts = startFacts(client, range.disk, options, defaultPullJobId);
    const { id, label, context, timeoutMs } = facts;
    if (options.speed !== undefined) assertSpeed(options.speed, context);
    const args: BlockStreamArguments = { 'job-id': id, device: range.disk.device };
    if (range.base) args['base-node'] = range.base.nodeName;
    if (options.keepRelative) args['backing-file'] = relativePullBacking(range);
    if (options.speed !== undefined) args.speed = options.speed;
    if (options.onError !== undefined) args['on-error'] = options.onError;
    if (options.autoFinalize !== undefined) args['auto-finalize'] = options.autoFinalize;
    if (options.autoDismiss !== undefined) args['auto-dismiss'] = options.autoDismiss;
    // Refused in words when the disk is busy, and when another client changed the chain since `range` was read.
    const found = await preflight(client, range.disk, id, timeoutMs);
    const busy = busyDiskError(JOB_KINDS.pull, range.disk, id, found, false);
    if (busy) throw busy;
    const active = range.disk.layers.at(-1);
    const bitmaps = active ? new JobBitmaps(client, pullBitmapSources(range), active, label, timeoutMs) : undefined;
    // Merged before the start: the pulled images are read-only and the active image writable, and the
    // pull's own writes do not mark the active image's bitmaps (measured on QEMU 7.2), so the result is
    // libvirt's merge at the end — and no job waits at PENDING for a caller that may detach.
    await bitmaps?.carry();
    const launched = await launchJob(client, id, async () => {
      try {
        await startJobCommand(client, id, 'block-stream', args, { timeoutMs, signal: startSignal(options) });
      } catch (error) {
        if (error instanceof QmpCommandError) throw new JobCommandError(`cannot start a pull on ${label}`, context, error);
        throw error;
      }
    });
    const job = new StreamJob(startedJobInit(client, facts, launched, found.verbs, options), range);
    job.bitmaps = bitmaps;
    job.begin();
    job.cancelOn(options.cancelSignal);
    return job;
  }

  /** Attaches to a stream job that already runs, by its id (the one attach(client, target) shape of every job kind). */
  static async attach(client: QmpClient, target: { jobId: string }, options: AttachOptions = {}): Promise<StreamJob> {
    const { init, error } = await attachById(client, JOB_KINDS.pull, target.jobId, options);
    const job = new StreamJob(init, undefined);
    job.begin(error);
    job.cancelOn(options.cancelSignal);
    return job;
  }

  protected describeEnd(base: Omit<JobResult, 'outcome' | 'invalidated'> & { ended: 'completed' | 'aborted' | 'failed' }): JobResult {
    const { ended, ...rest } = base;
    const range = this.range;
    const all = range ? range.disk.layers.map((l) => l.file) : [];
    // Nothing becomes invalid; after a completed pull the pulled images are no longer in the chain.
    const invalidated = range ? { files: [], stillValid: all, removedFromChain: ended === 'completed' ? range.pulled.map((l) => l.file) : [] } : undefined;
    return { ...rest, outcome: ended, invalidated, ...(ended === 'completed' ? this.bitmaps?.report() : {}) };
  }

  /** After a pull: the pulled images left the chain. */
  protected override nodesLeftBehind(result: JobResult): string[] {
    return result.outcome === 'completed' && this.range ? this.range.pulled.map((l) => l.nodeName) : [];
  }

  protected interruptionImages(): string {
    const range = this.range;
    if (!range) return 'a pull copies only data the chain already shows: every image still reads right — delete nothing';
    return `on disk: every image still reads right (a pull copies only data the chain already shows); ${range.disk.layers.at(-1)?.file} may hold part of it already, and ${range.pulled.map((l) => l.file).join(', ')} ${range.pulled.length > 1 ? 'are' : 'is'} still its backing — delete nothing`;
  }
}
