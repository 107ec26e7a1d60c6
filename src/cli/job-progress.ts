/* What every job-running command shares: what stops the wait, and progress drawn from query-jobs. */
import type { BlockJob } from '../jobs/core.js';
import type { JobResult } from '../jobs/types.js';
import type { CliContext } from './context.js';
import type { Output } from './output.js';
import { displayPercent } from './percent.js';
import { setLongTimeout, timeoutSignal, type LongTimer } from '../util/timers.js';

/** Prints progress from query-jobs while a job runs: display only, never a decision. */
export function showProgress(job: Pick<BlockJob<JobResult>, 'readProgress'>, out: Output, label: string, signal: AbortSignal): () => void {
  let stopped = false;
  let timer: LongTimer | undefined;
  const tick = async (): Promise<void> => {
    try {
      const progress = await job.readProgress({ signal, timeoutMs: 5000 });
      const percent = displayPercent(progress.offset, progress.len, progress.ready, progress.status);
      if (!stopped) out.progress(label, percent, { offset: progress.offset, len: progress.len, status: progress.status });
    } catch {
      // The job may have just ended between two ticks; its own events decide what happens next.
    }
    if (!stopped) timer = setLongTimeout(() => void tick(), 250);
  };
  void tick();
  return () => {
    stopped = true;
    timer?.clear();
  };
}

/** What stops waiting for a job: Ctrl-C, and the --timeout deadline when one was given. */
export function stopSignals(context: CliContext, timeoutMs: number | undefined): { deadline: AbortSignal | undefined; stopSignal: AbortSignal } {
  const deadline = timeoutMs === undefined ? undefined : timeoutSignal(timeoutMs);
  return { deadline, stopSignal: deadline ? AbortSignal.any([context.signal, deadline]) : context.signal };
}
