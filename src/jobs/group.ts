/*
 * All disks or none: active commits on several disks of one guest, pivoted only once every job is
 * READY, the block-job-complete commands written back to back in one go. Until then any failure,
 * timeout or Ctrl-C cancels every job and every disk stays on its top. Once the completes are sent
 * there is no way back: a disk whose complete QEMU refused is reported with where its data is.
 */
import { AbortedError } from '../errors.js';
import type { CommitJob, CommitResult } from './commit.js';
import { GroupPivotError, JobFailedError, JobStateError, type GroupMemberOutcome } from './errors.js';

export interface GroupPivotOptions {
  /** Ctrl-C, --timeout: before the pivot it cancels every job. */
  signal?: AbortSignal | undefined;
  /** How long the pivots (or the cancels) may take once sent. Default 60 s. */
  finishTimeoutMs?: number | undefined;
  /** Told once every job is READY, right before the completes are written. */
  onAllReady?: (() => void) | undefined;
}

export interface GroupPivotResult {
  results: CommitResult[];
  /** Milliseconds it took us to write every block-job-complete (one synchronous loop). */
  sentWithinMs: number;
  /** The spread of QEMU's own "concluded" timestamps across the jobs, in milliseconds. */
  concludedSpreadMs: number;
}

function top(job: CommitJob): string {
  return job.range?.top.file ?? 'its top image';
}

function base(job: CommitJob): string {
  return job.range?.base.file ?? 'its base image';
}

/** Cancels every job that has not ended and says how each ended: the "none" of all-or-none. */
async function cancelAll(jobs: readonly CommitJob[], finishTimeoutMs: number): Promise<GroupMemberOutcome[]> {
  return Promise.all(
    jobs.map(async (job): Promise<GroupMemberOutcome> => {
      const member = { disk: job.disk, device: job.device, jobId: job.id };
      try {
        // A job that already ended (the one that failed) refuses the cancel; its end is still known.
        await job.requestCancel().catch((error: unknown) => {
          if (!(error instanceof JobStateError)) throw error;
        });
        const result = await job.wait({ timeoutMs: finishTimeoutMs });
        return { ...member, outcome: result.outcome, where: `cancelled, the guest stays on ${top(job)}; ${base(job)} may be partly written` };
      } catch (error) {
        if (error instanceof JobFailedError) {
          return {
            ...member,
            outcome: error.result.outcome,
            where: `the job ${error.result.outcome}, the guest stays on ${top(job)}; ${base(job)} may be partly written`,
            ...(error.result.error ? { error: error.result.error } : {}),
          };
        }
        return {
          ...member,
          outcome: 'failed',
          where: `could not be cancelled (${(error as Error).message}); the guest is on ${top(job)} while the job is ${job.status}`,
          error: (error as Error).message,
        };
      }
    }),
  );
}

/** Waits for every job's READY, then pivots them all together; otherwise cancels them all. */
export async function pivotTogether(jobs: readonly CommitJob[], options: GroupPivotOptions = {}): Promise<GroupPivotResult> {
  const finishTimeoutMs = options.finishTimeoutMs ?? 60_000;
  const firstFailure = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, firstFailure.signal]) : firstFailure.signal;
  const ready = await Promise.allSettled(
    jobs.map((job) =>
      job.waitUntilReady({ signal }).catch((error: unknown) => {
        firstFailure.abort(error);
        throw error;
      }),
    ),
  );
  if (ready.some((r) => r.status === 'rejected')) {
    // The job that failed first says why; the others were only stopped waiting because of it.
    const failures = ready.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    const cause = failures.find((e) => !(e instanceof AbortedError)) ?? failures[0];
    const members = await cancelAll(jobs, finishTimeoutMs);
    const why = options.signal?.aborted
      ? 'stopped before every disk was ready (timeout or interrupt)'
      : `a job did not reach READY: ${cause?.message ?? 'unknown'}`;
    throw new GroupPivotError(why, members, { cause });
  }
  options.onAllReady?.();
  const start = performance.now();
  // One synchronous loop: each pivot() writes its block-job-complete before its first await.
  const pivots = jobs.map((job) => job.pivot({ timeoutMs: finishTimeoutMs }));
  const sentWithinMs = performance.now() - start;
  const settled = await Promise.allSettled(pivots);
  if (settled.some((s) => s.status === 'rejected')) {
    const members = settled.map((s, i): GroupMemberOutcome => {
      const job = jobs[i] as CommitJob;
      const member = { disk: job.disk, device: job.device, jobId: job.id };
      if (s.status === 'fulfilled') return { ...member, outcome: s.value.outcome, where: `pivoted: the guest runs on ${base(job)}` };
      const error = s.reason as Error;
      return {
        ...member,
        outcome: 'failed',
        where: `not pivoted (${error.message}); the guest is on ${top(job)}, and base ${base(job)} holds the merged data`,
        error: error.message,
      };
    });
    throw new GroupPivotError('a pivot failed after every job was ready (the others could not be taken back)', members, {
      cause: settled.find((s) => s.status === 'rejected')?.reason,
    });
  }
  const results = settled.map((s) => (s as PromiseFulfilledResult<CommitResult>).value);
  const concluded = results.map((r) => r.timings.concludedAt).filter((t): t is number => t !== undefined);
  const concludedSpreadMs = concluded.length ? Math.max(...concluded) - Math.min(...concluded) : 0;
  return { results, sentWithinMs, concludedSpreadMs };
}
