/*
 * A live block-commit, on the shared job core.
 *
 * Intermediate commit (top below the active layer) runs to completion by itself. Active commit
 * reaches READY and stays in sync until the caller decides: pivot() (job-complete: the guest
 * runs on base), keepOverlay() (cancel after READY: the guest stays on top, base holds the merged
 * data; QEMU 7.2 ends that with BLOCK_JOB_COMPLETED) or abort() (forced cancel).
 */
import { layersBetween } from '../block/address.js';
import type { CommitRange } from '../block/types.js';
import type { QmpClient } from '../protocol/client.js';
import { QmpCommandError } from '../errors.js';
import { commandHasArgument, isProtocolDriver } from '../protocol/capabilities.js';
import type { WaitOptions } from '../util/wait.js';
import { assertPivotable, commitArguments, type CommitOptions } from './commit-options.js';
import { BlockJob } from './core.js';
import { attachById, kindInit, requireReady, startedJobInit, startFacts, type KindlessInit } from './job-kind-parts.js';
import { launchJob, startJobCommand, startSignal } from './launch.js';
import { JOB_KINDS } from './kinds.js';
import { busyDiskError, defaultCommitJobId, findDiskJob, isActiveCommit, preflight } from './discovery.js';
import { diskContext, JobAlreadyRunningError, JobCommandError, JobNotFoundError, JobOptionError, JobStateError, type InterruptionFacts } from './errors.js';
import { invalidatedBy } from './invalidated.js';
import { JobBitmaps } from './job-bitmaps.js';
import { commitBitmapSources } from '../block/bitmaps.js';
import type { AttachOptions, JobOutcome, JobResult } from './types.js';

export type CommitResult = JobResult;
export type AttachTarget = { jobId: string; range?: CommitRange | undefined } | { range: CommitRange; jobId?: string | undefined };

export class CommitJob extends BlockJob<CommitResult> {
  /** Undefined only for a job attached by id without its range. */
  readonly range: CommitRange | undefined;
  /** For a job attached without its range: whether it is an active commit (from its filter node). */
  private attachedActive: boolean | undefined;
  /** The persistent bitmaps of the committed images, merged into base before the job ends. */
  private bitmaps: JobBitmaps | undefined;

  private constructor(init: KindlessInit, range: CommitRange | undefined) {
    super(kindInit(JOB_KINDS.commit, init, range?.disk));
    this.range = range;
  }

  /**
   * Starts block-commit for `range`, after reading the disk's jobs and chain once more right before
   * (a chain another client changed since `range` was resolved is refused: ChainChangedError).
   */
  static async start(client: QmpClient, range: CommitRange, options: CommitOptions = {}): Promise<CommitJob> {
    const facts = startFacts(client, range.disk, options, defaultCommitJobId);
    const { id, label, context, timeoutMs } = facts;
    const args = commitArguments(range, id, options, context);
    const stop = startSignal(options);
    const signal = stop ? { signal: stop } : {};
    // A base that is a protocol node (libvirt's plain raw image) would be recorded as the overlay's backing format: say "raw" where QEMU can.
    if (isProtocolDriver(range.base.format) && (await commandHasArgument(client, 'block-commit', 'backing-mask-protocol', { timeoutMs })))
      args['backing-mask-protocol'] = true;

    // QEMU would answer a second commit on this disk with a bare "Need a root block node": say what is going on instead.
    const found = await preflight(client, range.disk, id, timeoutMs);
    const busy = busyDiskError(JOB_KINDS.commit, range.disk, id, found, true);
    if (busy) {
      const sameId = found.jobs.some((j) => j.device === id);
      if (options.ifRunning === 'attach') {
        const attached = await CommitJob.attach(client, sameId ? { jobId: id, range } : { range }, { commandTimeoutMs: timeoutMs, ...signal });
        attached.cancelOn(options.cancelSignal);
        return attached;
      }
      throw busy;
    }
    // Refused here, by name, when a bitmap to carry cannot be used; an intermediate commit merges at PENDING, so QEMU waits for us there.
    const bitmaps = new JobBitmaps(client, commitBitmapSources(range), range.base, label, timeoutMs);
    const moves = await bitmaps.check();
    // A detached one would wait at PENDING for nobody; merged at the start instead it races a fast job
    // (measured on QEMU 7.2: a 1 MiB commit ended before the merge, base read-only again): refused.
    if (!range.active && moves.length > 0 && options.detached) {
      throw new JobOptionError(
        `cannot leave this commit on ${label} running unattended: the bitmaps ${moves.map((m) => m.name).join(', ')} of the committed images must be merged into ${range.base.file} as it ends — follow the job to its end (--wait)`,
        context,
      );
    }
    const mergeAtPending = !range.active && moves.length > 0;
    if (mergeAtPending) args['auto-finalize'] = false;

    const launched = await launchJob(client, id, async () => {
      try {
        await startJobCommand(client, id, 'block-commit', args, { timeoutMs, ...signal });
      } catch (error) {
        if (error instanceof QmpCommandError && /Need a root block node|already in use/.test(error.desc)) {
          throw new JobAlreadyRunningError(`cannot start commit on ${label}: ${error.desc} (another job holds the disk)`, context, [], { cause: error });
        }
        if (error instanceof QmpCommandError) throw new JobCommandError(`cannot start commit on ${label}`, context, error);
        throw error;
      }
    });
    const autoFinalize = mergeAtPending ? false : options.autoFinalize;
    const job = new CommitJob(startedJobInit(client, facts, launched, found.verbs, { autoFinalize, autoDismiss: options.autoDismiss }), range);
    job.bitmaps = bitmaps;
    // The job may already wait for us, or even be gone, by the time the reply came.
    job.begin();
    job.cancelOn(options.cancelSignal);
    return job;
  }

  /**
   * Attaches to a commit job that already runs (our controller died, or someone else started it):
   * rebuilds its state from query-block-jobs / query-jobs, then follows its events. With only a
   * range, the job is found by the default id or as the one commit job holding the disk.
   */
  static async attach(client: QmpClient, target: AttachTarget, options: AttachOptions = {}): Promise<CommitJob> {
    const timeoutMs = options.commandTimeoutMs ?? client.commandTimeoutMs;
    const range = target.range;
    const device = range?.disk.device;
    const byRange = target.jobId === undefined;
    let id = target.jobId;
    if (id === undefined && range) id = (await findDiskJob(client, range.disk, { timeoutMs, types: [JOB_KINDS.commit.qemuType] })).device;
    if (id === undefined) throw new JobOptionError('attach needs a job id or a range', {});
    const context = range ? diskContext(range.disk, id) : { jobId: id };
    const { init, info, error } = await attachById(client, JOB_KINDS.commit, id, options, {
      device,
      ...(byRange ? { whenGone: () => new JobNotFoundError(`commit job '${id}' on ${device ?? 'its disk'} is gone`, context) } : {}),
    });
    const job = new CommitJob(init, range);
    if (!range) job.attachedActive = await isActiveCommit(client, info, undefined, timeoutMs).catch(() => undefined);
    // Its pivot carries the committed images' bitmaps into base, as the started job's does.
    job.bitmaps = range
      ? new JobBitmaps(client, commitBitmapSources(range), range.base, job.disk, timeoutMs)
      : JobBitmaps.ofRunningJob(client, id, job.disk, timeoutMs);
    job.begin(error);
    job.cancelOn(options.cancelSignal);
    return job;
  }

  /** True for an active commit (it reaches READY); undefined when attached by id and not known. */
  get active(): boolean | undefined {
    return this.range?.active ?? this.attachedActive;
  }

  /** Active commit after READY: switch the guest to base (job-complete) and wait for the end. */
  async pivot(options: WaitOptions = {}): Promise<CommitResult> {
    const refused = this.refusedHere('pivot', () => this.requireReady('pivot'));
    if (refused !== undefined) return refused;
    if (this.range) assertPivotable(this.range, this.id);
    await this.bitmaps?.carry();
    return this.requestComplete('pivot', options);
  }

  /** pivot() without waiting: returns at QEMU's reply to the complete command. */
  async requestPivot(options: WaitOptions = {}): Promise<void> {
    const refused = this.refusedHere('pivot', () => this.requireReady('pivot'));
    if (refused !== undefined) return refused;
    if (this.range) assertPivotable(this.range, this.id);
    await this.bitmaps?.carry();
    await this.sendComplete('pivot', options);
  }

  /** Active commit after READY: end the job, the guest stays on top (cancel after READY). */
  async keepOverlay(options: WaitOptions = {}): Promise<CommitResult> {
    const refused = this.refusedHere('keep the overlay of', () => this.requireReady('keep the overlay of'));
    if (refused !== undefined) return refused;
    return this.requestPlainCancel('keep the overlay of', options);
  }

  protected describeEnd(base: Omit<JobResult, 'outcome' | 'invalidated'> & { ended: 'completed' | 'aborted' | 'failed' }): CommitResult {
    const { ended, ...rest } = base;
    const active = this.active ?? this.machine.hasBeenReady;
    // Finished by someone else, an active commit ends in COMPLETED after a pivot and after a cancel alike: unknown which.
    const outcome: JobOutcome =
      ended !== 'completed' || !active ? ended : this.request === 'complete' ? 'pivoted' : this.request === 'cancel' ? 'overlay-kept' : 'completed';
    const invalidatedAs = active && outcome === 'completed' ? 'unknown' : outcome;
    return {
      ...rest,
      outcome,
      invalidated: this.range ? invalidatedBy(this.range, invalidatedAs) : undefined,
      ...(outcome === 'pivoted' || outcome === 'completed' ? this.bitmaps?.report() : {}),
    };
  }

  /** An intermediate commit's bitmaps merge into base while it still holds them all. */
  protected override async beforeFinalize(): Promise<void> {
    if (this.range && !this.range.active) await this.bitmaps?.carryKeepingError();
  }

  /** After a pivot: everything above base; after an intermediate commit: what lay between base and top, top included. */
  protected override nodesLeftBehind(result: CommitResult): string[] {
    const range = this.range;
    if (!range || (result.outcome !== 'pivoted' && !(result.outcome === 'completed' && !range.active))) return [];
    const { between, above } = layersBetween(range.disk, range.base, range.top);
    return [...(result.outcome === 'pivoted' ? above.reverse() : []), range.top, ...between.reverse()].map((l) => l.nodeName);
  }

  protected interruptionImages(): InterruptionFacts['images'] {
    const range = this.range;
    if (!range) return undefined;
    const { above, between } = layersBetween(range.disk, range.base, range.top);
    return { top: range.top.file, base: range.base.file, above: above.map((l) => l.file), between: between.map((l) => l.file) };
  }

  private requireReady(verb: string): void {
    if (this.active === false) {
      throw new JobStateError(
        `cannot ${verb} commit job '${this.id}': it is an intermediate commit, which completes by itself (wait for it, or abort it)`,
        this.context(),
        this.machine.status,
        { completesByItself: true },
      );
    }
    const { status, isReady } = this.machine;
    requireReady({ noun: this.kind, id: this.id, status, isReady, request: this.request, context: this.context() }, verb, 'keeping the overlay');
  }
}
