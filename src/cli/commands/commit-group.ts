/*
 * `commit DISK… --active --pivot` and `commit --all --pivot`: every disk or none (src/jobs/group.ts).
 * The jobs start one after the other; if one cannot start, those started are cancelled again.
 */
import { JOB_KINDS } from '../../jobs/kinds.js';
import { resolveCommitRange } from '../../block/address.js';
import { findDisk, hasUser } from '../../block/chain.js';
import type { CommitRange } from '../../block/types.js';
import { assertPivotable } from '../../jobs/commit-options.js';
import { CommitJob } from '../../jobs/commit.js';
import { deleteCommittedImages } from '../../jobs/delete.js';
import { AbortedError } from '../../errors.js';
import { GroupPivotError } from '../../jobs/errors.js';
import { pivotTogether } from '../../jobs/group.js';
import { UsageError } from '../args.js';
import type { CliContext, OptionValues } from '../context.js';
import { cliDisks } from '../disks.js';
import { printPlan } from '../dry-run.js';
import { reportNodesKept } from '../job-ending.js';
import { parseBandwidth, parseTimeout } from '../job-options.js';
import { showProgress, stopSignals } from '../job-progress.js';
import { FINISH_TIMEOUT_MS, JobEventStream } from '../job-runner.js';
import type { CommitOptions } from './commit-options.js';

/** What a cancelled active commit leaves in its base: said as the single commit says it. */
export function partlyWritten(bases: readonly string[]): string {
  return bases.length === 1
    ? `base ${bases[0]} may be partly written: no longer valid on its own`
    : `bases ${bases.join(', ')} may be partly written: no longer valid on their own`;
}

/** What a group commit cannot be combined with: said before connecting. */
function checkGroupUsage(o: OptionValues<CommitOptions>, disks: readonly string[]): void {
  const several = o.all ? 'with --all' : `with several disks (${disks.join(', ')})`;
  if (o.all && disks.length) throw new UsageError('--all names every disk itself: give no DISK with it', 'commit');
  if (!o.pivot && !o['dry-run']) throw new UsageError(`${several} commit needs --pivot: the disks pivot together once every job is READY`, 'commit');
  for (const option of ['base', 'top', 'job-id'] as const)
    if (o[option] !== undefined) throw new UsageError(`--${option} names one disk's image: not ${several}`, 'commit');
  for (const option of ['shallow', 'keep-overlay', 'async', 'keep-relative', 'on-error'] as const)
    if (o[option]) throw new UsageError(`--${option} does not go ${several}`, 'commit');
}

export async function runGroupCommit(context: CliContext<CommitOptions>): Promise<number> {
  const names = context.positionals;
  const o = context.options;
  checkGroupUsage(o, names);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new UsageError(`disk '${twice}' is named twice: one commit per disk`, 'commit');
  const { timeoutText, timeoutMs } = parseTimeout(o, 'commit');
  const speed = parseBandwidth(o, 'commit');
  const out = context.out;
  const client = await context.connect();
  const disks = await cliDisks(context, client);
  // --all: each disk named as the user knows it (libvirt's target, the qdev id), never by its node name.
  const chosen = o.all
    ? disks.filter((d) => d.layers.length > 1 && hasUser(d)).map((d) => ({ ...d, requestedAs: d.target ?? d.qdevId ?? d.driveId ?? d.device }))
    : names.map((name) => ({ ...findDisk(disks, name), requestedAs: name }));
  if (!chosen.length) throw new UsageError('--all: no disk has a backing chain to commit', 'commit');
  const same = chosen.find((disk, i) => chosen.findIndex((d) => d.device === disk.device) !== i);
  if (same)
    throw new UsageError(
      `${chosen
        .filter((d) => d.device === same.device)
        .map((d) => `'${d.requestedAs}'`)
        .join(' and ')} name the same disk (${same.device}): one commit per disk`,
      'commit',
    );
  const ranges: CommitRange[] = chosen.map((disk) =>
    resolveCommitRange(
      disk,
      { active: true },
      disks.filter((d) => d.device !== disk.device),
    ),
  );
  // Every range is checked before any job starts: a disk that cannot pivot stops the group here.
  for (const range of ranges) assertPivotable(range);
  if (o['dry-run']) {
    for (const range of ranges)
      await printPlan(context, { commit: range, pivot: true, others: disks.filter((d) => d.device !== range.disk.device) }, speed, client);
    return 0;
  }
  const label = (range: CommitRange): string => range.disk.requestedAs ?? range.disk.target ?? range.disk.qdevId ?? range.disk.device;
  const jobs: CommitJob[] = [];
  // --json: every event of the group's jobs, from before the first start on.
  const events = new JobEventStream(out, client);
  try {
    for (const range of ranges) jobs.push(await CommitJob.start(client, range, { ...(speed !== undefined ? { speed } : {}), signal: context.signal }));
  } catch (error) {
    await Promise.allSettled(jobs.map((job) => job.cancel({ timeoutMs: FINISH_TIMEOUT_MS })));
    const why =
      error instanceof AbortedError && context.signal.aborted
        ? `interrupted before every job was started (${String((context.signal.reason as Error | undefined)?.message ?? 'signal')})`
        : (error as Error).message;
    out.error(
      `${why}; ${jobs.length ? `cancelled the jobs already started (${jobs.map((j) => j.id).join(', ')}): every disk stays on its top and reads as before; ${partlyWritten(jobs.map((j) => j.range!.base.file))}` : 'nothing was started'}`,
    );
    events.stop();
    return 1;
  }
  events.add(jobs.map((j) => j.id));
  for (const [i, job] of jobs.entries())
    out.result(undefined, { type: 'started', job: job.id, disk: label(ranges[i]!), top: ranges[i]!.top.file, base: ranges[i]!.base.file, active: true });
  const { deadline, stopSignal } = stopSignals(context, timeoutMs);
  const stops = o.verbose ? jobs.map((job, i) => showProgress(job, out, `${JOB_KINDS['active-commit'].progressLabel} ${label(ranges[i]!)}`, stopSignal)) : [];
  const note = (): void => out.warn('the pivots were already requested: waiting for QEMU to finish them (Ctrl-C again to stop waiting)');
  try {
    const group = await context.whileAlive(
      pivotTogether(jobs, {
        signal: stopSignal,
        finishTimeoutMs: FINISH_TIMEOUT_MS,
        onAllReady: () => {
          for (const stop of stops) stop();
          context.signal.addEventListener('abort', note, { once: true });
        },
      }),
    );
    for (const [i, result] of group.results.entries()) {
      const range = ranges[i]!;
      out.message(`${label(range)}: Successfully pivoted`);
      out.result(undefined, {
        type: 'result',
        job: result.jobId,
        disk: label(range),
        outcome: result.outcome,
        states: result.states,
        timings: result.timings,
        ...(result.nodes ? { nodes: result.nodes } : {}),
      });
      reportNodesKept(out, result);
      const deleted = o.delete ? await deleteCommittedImages(client, range, result, { signal: context.signal }) : [];
      const invalid = (result.invalidated?.files ?? []).filter((f) => !deleted.includes(f));
      out.result(invalid.length ? `${label(range)}: Images no longer valid on their own: ${invalid.join(', ')}` : undefined, {
        type: 'invalidated',
        disk: label(range),
        files: result.invalidated?.files ?? [],
        stillValid: result.invalidated?.stillValid ?? [],
        deleted,
      });
      for (const file of deleted) out.result(`Deleted: ${file}`);
    }
    out.result(
      `All ${jobs.length} disks pivoted; the pivots were written within ${group.sentWithinMs.toFixed(2)} ms, and QEMU concluded them within ${group.concludedSpreadMs.toFixed(2)} ms of each other`,
      { type: 'group', pivoted: true, disks: ranges.map(label), sentWithinMs: group.sentWithinMs, concludedSpreadMs: group.concludedSpreadMs },
    );
    return 0;
  } catch (error) {
    for (const stop of stops) stop();
    if (!(error instanceof GroupPivotError)) throw error;
    const why = deadline?.aborted ? `timeout of ${timeoutText} s reached` : context.signal.aborted ? 'interrupted' : undefined;
    out.message(error.members.some((m) => m.outcome === 'pivoted') ? 'Group commit partly pivoted' : 'Group commit aborted: no disk pivoted');
    out.error(why ? `${why}: ${error.message}` : error.message);
    const nameOf = (jobId: string): string => {
      const i = jobs.findIndex((j) => j.id === jobId);
      return i >= 0 ? label(ranges[i]!) : jobId;
    };
    for (const member of error.members)
      out.result(undefined, {
        type: 'result',
        job: member.jobId,
        disk: nameOf(member.jobId),
        outcome: member.outcome,
        where: member.where,
        ...(member.error ? { error: member.error } : {}),
      });
    out.result(undefined, { type: 'group', pivoted: false, disks: ranges.map(label), ...(why ? { reason: why } : {}) });
    return 1;
  } finally {
    context.signal.removeEventListener('abort', note);
    events.stop();
  }
}
