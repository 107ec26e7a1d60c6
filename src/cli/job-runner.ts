/*
 * The one skeleton of the commands that run a job (commit, pull, copy): the options that say how to
 * wait, the start, the --json event stream, progress, --timeout and Ctrl-C, READY, the end that was
 * asked for and the result. A command is a spec on it: how its job starts, what its records hold,
 * what it does after (delete, report the destination). Group commit and `job` use its parts: `job`
 * follows a job (followJob) and ends one (endJob) as the commands that start it do.
 */
import type { CommitJob, CommitResult } from '../jobs/commit.js';
import type { BlockJob } from '../jobs/core.js';
import type { JobKind } from '../jobs/kinds.js';
import type { MirrorJob, MirrorResult } from '../jobs/mirror.js';
import type { JobResult } from '../jobs/types.js';
import type { QmpClient } from '../protocol/client.js';
import { eventJobId, type QmpEvent } from '../qapi/types.js';
import { UsageError } from './args.js';
import type { CliContext, OptionValues } from './context.js';
import { abortStartedJob, reportNodesKept, reportUnfinishedJob } from './job-ending.js';
import { parseBandwidth, parseTimeout, type JOB_WAIT_OPTIONS } from './job-options.js';
import { showProgress, stopSignals } from './job-progress.js';
import { errorStopStep } from './next-step.js';
import type { Output } from './output.js';
import type { CliRecord, ResultRecord } from './records.js';

/** How long the last step (pivot or cancel after READY, milliseconds in QEMU) may take before we stop waiting. */
export const FINISH_TIMEOUT_MS = 60_000;

/** The one DISK a job command takes. */
export function diskArgument(context: CliContext, command: string): string {
  const [diskName, ...extra] = context.positionals;
  if (!diskName) throw new UsageError(`${command} wants a DISK`, command);
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, command);
  return diskName;
}

export interface WaitChoice {
  wait: boolean;
  verbose: boolean;
  async: boolean;
  timeoutText: string | undefined;
  timeoutMs: number | undefined;
  jobId: string | undefined;
  /** --bandwidth in bytes/s. */
  speed: number | undefined;
}

/**
 * The waiting options every job command shares. `implied`: the command's options that imply --wait
 * (`--pivot`), with whether each was given.
 */
export function parseWaitOptions(
  options: OptionValues<typeof JOB_WAIT_OPTIONS>,
  command: string,
  implied: ReadonlyArray<readonly [string, boolean]>,
): WaitChoice {
  const { timeoutText, timeoutMs } = parseTimeout(options, command);
  const wait = options.wait === true || implied.some(([, given]) => given) || timeoutMs !== undefined;
  const verbose = options.verbose === true;
  const async = options.async === true;
  if (verbose && !wait) throw new UsageError(`--verbose needs --wait (or ${[...implied.map(([name]) => name), '--timeout'].join(', ')})`, command);
  if (async && !wait) throw new UsageError('--async goes with --timeout or --wait', command);
  return { wait, verbose, async, timeoutText, timeoutMs, jobId: options['job-id'], speed: parseBandwidth(options, command) };
}

/**
 * --json: every event of the command's own jobs, as `event` records. A job's events from before its
 * start returned (its id unknown until then, unless given) are printed from the client's history.
 */
export class JobEventStream {
  private readonly ids = new Set<string>();
  private readonly cursor: number;
  private readonly onEvent = (e: QmpEvent): void => {
    const id = eventJobId(e);
    if (id !== undefined && this.ids.has(id)) this.out.event(e);
  };

  constructor(
    private readonly out: Output,
    private readonly client: QmpClient,
    knownIds: readonly string[] = [],
  ) {
    this.cursor = client.eventCursor();
    if (!out.json) return;
    for (const id of knownIds) this.ids.add(id);
    client.on('event', this.onEvent);
  }

  /** Jobs now started: what they sent before is printed (oldest first), then what they send. */
  add(ids: readonly string[]): void {
    if (!this.out.json) return;
    const fresh = ids.filter((id) => !this.ids.has(id));
    for (const e of this.client.recentEvents(this.cursor)) {
      const id = eventJobId(e);
      if (id !== undefined && fresh.includes(id)) this.out.event(e);
    }
    for (const id of fresh) this.ids.add(id);
  }

  stop(): void {
    this.client.off('event', this.onEvent);
  }
}

/** Once complete/cancel is sent, Ctrl-C cannot take it back: said, and QEMU is waited for (bounded). */
export async function whileEnding<T>(context: CliContext, what: string, work: () => Promise<T>): Promise<T> {
  const note = (): void => context.out.warn(what);
  context.signal.addEventListener('abort', note, { once: true });
  try {
    return await context.whileAlive(work());
  } finally {
    context.signal.removeEventListener('abort', note);
  }
}

/**
 * Follows a job to READY (a kind that has it) or to its end, drawing progress under `label` with
 * --verbose, 100 % once there: the result when the job ended, undefined at READY. Shared by the
 * commands that start a job and by `job DISK --info --verbose`.
 */
export async function followJob<R extends JobResult>(
  context: CliContext,
  job: Pick<BlockJob<R>, 'waitUntilReady' | 'wait' | 'readProgress'>,
  how: { kind: JobKind; label: string; stopSignal: AbortSignal; verbose: boolean },
): Promise<R | undefined> {
  const stopProgress = how.verbose ? showProgress(job, context.out, how.label, how.stopSignal) : () => {};
  try {
    const result = how.kind.hasReady
      ? await context.whileAlive(job.waitUntilReady({ signal: how.stopSignal }))
      : await context.whileAlive(job.wait({ signal: how.stopSignal }));
    stopProgress();
    if (how.verbose) context.out.progress(how.label, 100);
    return result ?? undefined;
  } finally {
    stopProgress();
  }
}

/**
 * What ends a job as the user asked (after READY: the pivot, finishing a copy, keeping an active
 * commit's overlay; or its abort): the request, what Ctrl-C is told once it was sent, virsh's words.
 */
export interface JobEnd<J, R extends JobResult> {
  note: string;
  words: string;
  run(job: J, options: { timeoutMs: number }): Promise<R>;
}

/** The ends after READY, in the words of `commit`/`copy --pivot|--finish|--keep-overlay` and `job DISK --pivot|--finish`. */
export function readyEnd(kind: 'commit', how: 'pivot' | 'finish'): JobEnd<CommitJob, CommitResult>;
export function readyEnd(kind: 'copy', how: 'pivot' | 'finish'): JobEnd<MirrorJob, MirrorResult>;
export function readyEnd(kind: 'commit' | 'copy', how: 'pivot' | 'finish'): JobEnd<CommitJob, CommitResult> | JobEnd<MirrorJob, MirrorResult> {
  const pivot = how === 'pivot';
  if (kind === 'copy')
    return {
      note: `${pivot ? 'the pivot' : 'finishing the copy'} was already requested: waiting for QEMU to carry it out (Ctrl-C again to stop waiting)`,
      words: pivot ? 'Successfully pivoted' : 'Successfully copied',
      run: (job: MirrorJob, options: { timeoutMs: number }) => (pivot ? job.pivot(options) : job.finish(options)),
    };
  return {
    note: `${pivot ? 'the pivot' : 'ending the job'} was already requested: waiting for QEMU to finish it (Ctrl-C again to stop waiting)`,
    words: pivot ? 'Successfully pivoted' : 'Commit complete, overlay image kept',
    run: (job: CommitJob, options: { timeoutMs: number }) => (pivot ? job.pivot(options) : job.keepOverlay(options)),
  };
}

/** The abort of a job someone else left running (`job DISK --abort`): "Copy aborted", as when a waited-for job is aborted. */
export function abortEnd(kind: JobKind): JobEnd<Pick<BlockJob<JobResult>, 'cancel'>, JobResult> {
  return {
    note: 'the abort was already requested: waiting for QEMU to carry it out (Ctrl-C again to stop waiting)',
    words: `${kind.title} aborted`,
    run: (job, options) => job.cancel(options),
  };
}

/** A job's end, said: virsh's words, the result record, and the nodes QEMU kept. */
function reportEnd<R extends JobResult>(out: Output, words: string, record: CliRecord, result: R): void {
  out.message(words);
  out.result(undefined, record);
  reportNodesKept(out, result);
}

/**
 * Ends a job as asked: once the request is sent Ctrl-C cannot take it back (said, and QEMU is waited
 * for, bounded by FINISH_TIMEOUT_MS), then the closing words, the result record and the nodes kept.
 * Shared by the commands that start a job and by `job DISK --pivot|--finish|--abort`.
 */
export async function endJob<J, R extends JobResult>(context: CliContext, job: J, end: JobEnd<J, R>, record: (job: J, result: R) => CliRecord): Promise<R> {
  const result = await whileEnding(context, end.note, () => end.run(job, { timeoutMs: FINISH_TIMEOUT_MS }));
  reportEnd(context.out, end.words, record(job, result), result);
  return result;
}

/** The fields of a job's result record every kind has; a command adds its own (leftChain, dest, …). */
export function resultRecord(job: { id: string }, result: JobResult): ResultRecord {
  return {
    type: 'result',
    job: job.id,
    outcome: result.outcome,
    states: result.states,
    timings: result.timings,
    ...(result.nodes ? { nodes: result.nodes } : {}),
  };
}

/**
 * A job that stopped on an I/O error (on-error stop) stays paused in QEMU until someone resumes or
 * aborts it (virsh blockjob): said once per stop, with where the data is and what to type; the wait
 * goes on, bounded by --timeout as ever. Returns how to stop watching.
 */
export function reportErrorStops<R extends JobResult>(
  out: Output,
  job: BlockJob<R>,
  how: { noun: string; disk: string; guestImage: string | undefined; timeoutText: string | undefined },
): () => void {
  let said = false;
  const check = (): void => {
    if (!job.stoppedOnError) {
      said = false;
      return;
    }
    if (said) return;
    said = true;
    const operation = job.ioErrors.at(-1)?.operation ?? 'write';
    const next = errorStopStep(how.disk);
    const where = how.guestImage ? `the guest runs on ${how.guestImage}, its chain intact` : 'the guest stays on its image, its chain intact';
    const until = how.timeoutText === undefined ? 'until it ends (Ctrl-C aborts it)' : `up to --timeout ${how.timeoutText} s`;
    out.result(`${how.noun} job stopped on an I/O error (${operation}): QEMU keeps it paused; ${where}\n${next}\nwaiting for the job ${until}`, {
      type: 'error-stop',
      job: job.id,
      disk: how.disk,
      operation,
      ...(how.guestImage ? { guestImage: how.guestImage } : {}),
      next,
    });
  };
  job.on('state', check);
  job.on('error', check);
  return () => {
    job.off('state', check);
    job.off('error', check);
  };
}

/** What the job is started with, from the waiting options; the command adds its own. */
export interface StartOptions {
  autoDismiss?: false;
  jobId?: string;
  speed?: number;
  signal: AbortSignal;
}

export interface JobCommandSpec<J extends BlockJob<R>, R extends JobResult> {
  command: string;
  kind: JobKind;
  choice: WaitChoice;
  /** The disk as the user named it, and the image its guest runs on while the job runs: said when the job stops on an I/O error. */
  disk?: { name: string; guestImage: string | undefined };
  /**
   * After READY: what ends the job, what Ctrl-C is told once it was requested, and the closing words.
   * Undefined: return at READY, the job left running.
   */
  end?: JobEnd<J, R>;
  /** virsh's words when a job with READY is left running at READY ("Now in synchronized phase"). */
  readyWords?: string;
  /** virsh's words when a job without READY has completed ("Commit complete"). */
  doneWords?: string;
  start(options: StartOptions): Promise<J>;
  started(job: J): CliRecord;
  result(job: J, result: R): CliRecord;
  /** Runs from the wait on until the job ends or is left: the convergence guard. */
  guard?(job: J): { finish(): Promise<void> };
  /** After the result record: deleting what left the chain, what the copy left. Returns the exit code. */
  after?(job: J, result: R): Promise<number>;
  /** After a job that did not end as asked was reported. */
  unfinished?(job: J): void;
}

/** Runs a job command from its start: returns the exit code (0 done as asked, 1 not). */
export async function runJobCommand<J extends BlockJob<R>, R extends JobResult>(
  context: CliContext,
  client: QmpClient,
  spec: JobCommandSpec<J, R>,
): Promise<number> {
  const { out } = context;
  const { kind, choice } = spec;
  // A job we leave running (no wait, or returning at READY) may fail later with nobody watching:
  // QEMU keeps it, error and all, for `jobs` / `job --info` to show, then dismiss.
  const leftRunning = !choice.wait || (kind.hasReady && spec.end === undefined);
  const events = new JobEventStream(out, client, choice.jobId ? [choice.jobId] : []);
  let guard: { finish(): Promise<void> } | undefined;
  let unwatch = (): void => {};
  let stops: ReturnType<typeof stopSignals> | undefined;
  let job: J | undefined;
  try {
    job = await spec.start({
      ...(leftRunning ? { autoDismiss: false } : {}),
      ...(choice.jobId ? { jobId: choice.jobId } : {}),
      ...(choice.speed !== undefined ? { speed: choice.speed } : {}),
      signal: context.signal,
    });
    events.add([job.id]);
    out.result(undefined, spec.started(job));
    // A signal while the start was in flight: the job it started is aborted, as when waiting.
    if (!choice.wait && context.signal.aborted) return await abortStartedJob(job, out, kind.title, context.signal);
    if (!choice.wait) {
      out.message(`${kind.jobLabel} started`);
      await job.detach();
      return 0;
    }
    stops = stopSignals(context, choice.timeoutMs);
    const { stopSignal } = stops;
    // Until READY (and with a limit, until the job ends): watch that what is left shrinks.
    guard = spec.guard?.(job);
    unwatch = reportErrorStops(out, job, {
      noun: kind.title,
      disk: spec.disk?.name ?? job.disk,
      guestImage: spec.disk?.guestImage,
      timeoutText: choice.timeoutText,
    });
    let result = await followJob(context, job, { kind, label: kind.progressLabel, stopSignal, verbose: choice.verbose });
    if (result === undefined) {
      if (!spec.end) {
        out.message(spec.readyWords ?? 'Now in synchronized phase');
        await job.detach();
        return 0;
      }
      result = await endJob(context, job, spec.end, spec.result);
    } else {
      reportEnd(out, spec.doneWords ?? `${kind.title} complete`, spec.result(job, result), result);
    }
    return spec.after ? await spec.after(job, result) : 0;
  } catch (error) {
    if (!job || !stops) throw error;
    const code = await reportUnfinishedJob(job, error, {
      out,
      noun: kind.title,
      stopSignal: stops.stopSignal,
      deadline: stops.deadline,
      timeoutText: choice.timeoutText,
      async: choice.async,
    });
    spec.unfinished?.(job);
    return code;
  } finally {
    unwatch();
    events.stop();
    await guard?.finish();
  }
}
