import { AbortedError } from '../errors.js';
import { JobFailedError } from '../jobs/errors.js';
import type { BlockJob } from '../jobs/core.js';
import type { JobResult } from '../jobs/types.js';
import type { Output } from './output.js';

export interface EndingContext {
  out: Output;
  /** "Commit", "Pull", "Copy": virsh's words start with it. */
  noun: string;
  /** What stopped the wait: Ctrl-C and/or the --timeout deadline. */
  stopSignal: AbortSignal;
  deadline: AbortSignal | undefined;
  timeoutText: string | undefined;
  /** --async: request the abort and return. */
  async: boolean;
}

/**
 * How a waited-for job that did not end as asked is reported, as virsh does: --timeout or Ctrl-C
 * abort it ("… aborted"; with --async only requested), someone else's cancel is "… aborted" too, a
 * failure is "… failed: why". Returns the exit code; rethrows what is none of these.
 */
export async function reportUnfinishedJob<R extends JobResult>(job: BlockJob<R>, error: unknown, c: EndingContext): Promise<number> {
  const { out, noun } = c;
  if (error instanceof AbortedError && c.stopSignal.aborted) {
    const why = c.deadline?.aborted ? `timeout of ${c.timeoutText} s reached` : 'interrupted';
    if (c.async) {
      await job.requestCancel().catch(() => undefined);
      out.message(`${noun} abort requested (${why})`);
      return 1;
    }
    const result = await job.cancel({ timeoutMs: 60_000 });
    out.message(`${noun} aborted`);
    out.result(undefined, { type: 'result', job: job.id, outcome: result.outcome, states: result.states, reason: why });
    return 1;
  }
  if (error instanceof JobFailedError && error.result.outcome === 'aborted') {
    // Cancelled by someone else (another terminal's `job DISK --abort`, virsh blockjob --abort).
    out.message(`${noun} aborted`);
    out.error(error.message);
    out.result(undefined, { type: 'result', job: job.id, outcome: 'aborted', states: error.result.states, reason: 'cancelled by someone else' });
    return 1;
  }
  if (error instanceof JobFailedError) {
    out.error(`${noun} failed: ${error.message}`);
    out.result(undefined, { type: 'result', job: job.id, outcome: error.result.outcome, states: error.result.states, error: error.result.error });
    return 1;
  }
  throw error;
}

/** Nodes that left the disk's chain and QEMU would not delete: said, with the way out (the rest went, or are used by others). */
export function reportNodesKept(out: Output, result: JobResult): void {
  for (const { node, why } of result.nodes?.kept ?? []) {
    if (why !== 'still in use')
      out.warn(`node ${node} left the disk's chain but stays open in QEMU (${why}): 'qmp blockdev-del node-name=${node}' removes it once nothing uses it`);
  }
}

/** The job a signal interrupted the start of (its reply was awaited): aborted, reported as an interrupted wait is. */
export function abortStartedJob<R extends JobResult>(job: BlockJob<R>, out: Output, noun: string, signal: AbortSignal): Promise<number> {
  return reportUnfinishedJob(job, new AbortedError(`starting ${noun.toLowerCase()} job '${job.id}'`, { cause: signal.reason }), {
    out,
    noun,
    stopSignal: signal,
    deadline: undefined,
    timeoutText: undefined,
    async: false,
  });
}
