import { resolveCommitRange, validateRangeSpec, type CommitRangeSpec } from '../../block/address.js';
import { BlockError } from '../../block/errors.js';
import { CommitJob, type CommitResult } from '../../jobs/commit.js';
import { assertPivotable } from '../../jobs/commit-options.js';
import { deleteCommittedImages } from '../../jobs/delete.js';
import { ImageDeletionError } from '../../jobs/errors.js';
import { JOB_RUN_OPTIONS, abortStartedJob, reportNodesKept, reportUnfinishedJob } from '../job-ending.js';
import { eventJobId, type QmpEvent } from '../../qapi/types.js';
import { parseSeconds, UsageError } from '../args.js';
import { flag, stringOption, type CommandSpec } from '../context.js';
import type { Output } from '../output.js';
import { cliDisk } from '../disks.js';
import { parseBandwidth, showProgress, stopSignals } from '../job-progress.js';
import { printPlan } from '../dry-run.js';
import { runGroupCommit } from './commit-group.js';
import { guardConvergence, parseConverge } from '../convergence.js';

/** How long the last step (pivot or cancel after READY, milliseconds in QEMU) may take before we stop waiting. */
const FINISH_TIMEOUT_MS = 60_000;

function reportInvalidated(out: Output, result: CommitResult, deleted: readonly string[]): void {
  const invalid = result.invalidated?.files ?? [];
  if (out.json) {
    if (invalid.length || deleted.length) out.result(undefined, { type: 'invalidated', files: invalid, stillValid: result.invalidated?.stillValid ?? [], deleted });
    return;
  }
  const remaining = invalid.filter((f) => !deleted.includes(f));
  if (remaining.length) out.result(`Images no longer valid on their own: ${remaining.join(', ')}`, {});
  for (const file of deleted) out.result(`Deleted: ${file}`, {});
}

export const commitCommand: CommandSpec = {
  name: 'commit',
  summary: 'merge images of a disk\'s chain down into a base, live (virsh blockcommit)',
  usage: 'commit DISK… | --all [--base X] [--top X] [--shallow] [--active] [--pivot | --keep-overlay] [--wait] [--verbose] [--timeout SECONDS] [--async] [--bandwidth N [--bytes]] [--keep-relative] [--delete] [--dry-run] [--converge throttle=N] [--job-id ID]',
  details: `DISK is a device, drive or export id, libvirt's target, or the disk's source (active image path).
X is a file name, a node name or DISK[N], N as 'chain' shows it: over a socket the position (base = 1),
with --domain libvirt's own index (libvirt counts a chain it found at start from the top, active = 1).
Order is always the chain's order: the numbers are names.
Without --top the active layer is the top, which needs --active (as in virsh).
--active       commit the active layer too: the job reaches a synchronized phase (READY)
--pivot        after READY switch the guest onto base (implies --active --wait)
--keep-overlay after READY stop, the guest stays on top, base holds the merged data (implies --active --wait)
--wait         wait for the job; with --active and neither of the above, return at READY, job left running
--verbose      progress like virsh: Block commit: [ 42.00 %]
--timeout S    abort the job if not done after S seconds (implies --wait); Ctrl-C aborts it too
--async        with --timeout/Ctrl-C: request the abort and return without waiting for it to finish
--bandwidth N  MiB/s (bytes/s with --bytes); change it later with 'job DISK --bandwidth N'
--shallow      base is the image directly below top
--keep-relative keep the backing file string relative
--delete       after success, delete every image the commit took out of the chain (virsh: "delete files
               that were successfully committed"): intermediate commit: the images above base up to
               top; pivot: all but base. Never with --keep-overlay, never on failure, and only after
               re-reading the live chains: nothing still in use is deleted.
--converge throttle=N  an active commit that stops converging (the guest writes faster than it
               copies: said once, with both rates, in any case) gets the guest's writes limited to
               N MiB/s (block_set_io_throttle) until the job ends; the previous limits are restored
               right after the pivot, and on any exit (error, --timeout, Ctrl-C)
--dry-run      start nothing: read the live chain and each image's allocation map (qemu-img map -U)
               and print the plan: what each image holds, what the commit copies (an active
               commit's READY len), which images it invalidates and why, the time at --bandwidth
Several disks (commit vda vdb --pivot, or --all: every disk with a chain): all disks or none. The
jobs run together, and the pivot happens only once every job is READY (every block-job-complete
written in one go); if a job fails, --timeout passes or Ctrl-C comes first, every job is cancelled
and every disk stays on its top. Exit 0 only if every disk pivoted.
Decisions come from the job's own QMP events; progress is only for display.`,
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock commit vda --active --pivot --verbose',
    "qmp-blockjob --socket /tmp/qmp.sock commit vda --base /images/base.raw --top /images/b.qcow2 --wait --verbose",
    "qmp-blockjob --socket /tmp/qmp.sock commit vda --base 'vda[1]' --top 'vda[3]' --wait",
    'qmp-blockjob --socket /tmp/qmp.sock commit vda --active --keep-overlay --bandwidth 50 --timeout 600',
    'qmp-blockjob --socket /tmp/qmp.sock commit vda vdb --active --pivot --timeout 600',
    'qmp-blockjob --socket /tmp/qmp.sock commit vda --active --pivot --dry-run --bandwidth 50',
  ],
  options: {
    base: { type: 'string' },
    top: { type: 'string' },
    shallow: { type: 'boolean' },
    active: { type: 'boolean' },
    pivot: { type: 'boolean' },
    'keep-overlay': { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    all: { type: 'boolean' },
    converge: { type: 'string' },
    ...JOB_RUN_OPTIONS,
  },
  async run(context) {
    if (context.positionals.length > 1 || flag(context, 'all')) return runGroupCommit(context);
    const [diskName, ...extra] = context.positionals;
    if (!diskName) throw new UsageError('commit wants a DISK', 'commit');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, 'commit');
    const pivot = flag(context, 'pivot');
    const keepOverlay = flag(context, 'keep-overlay');
    if (pivot && keepOverlay) throw new UsageError('--pivot and --keep-overlay exclude each other', 'commit');
    const timeoutText = stringOption(context, 'timeout');
    const timeoutMs = timeoutText === undefined ? undefined : parseSeconds(timeoutText, '--timeout', 'commit') * 1000;
    const active = flag(context, 'active') || pivot || keepOverlay;
    const wait = flag(context, 'wait') || pivot || keepOverlay || timeoutMs !== undefined;
    const deleteImages = flag(context, 'delete');
    if (flag(context, 'verbose') && !wait) throw new UsageError('--verbose needs --wait (or --pivot, --keep-overlay, --timeout)', 'commit');
    if (flag(context, 'async') && !wait) throw new UsageError('--async goes with --timeout or --wait', 'commit');
    if (deleteImages && keepOverlay) throw new UsageError('--delete with --keep-overlay: every image stays in the chain, so there is nothing to delete', 'commit');
    if (deleteImages && active && !pivot) throw new UsageError('--delete with --active needs --pivot: until the pivot every image is still in the chain', 'commit');
    if (deleteImages && !wait) throw new UsageError('--delete needs the job to be waited for (--wait or --pivot)', 'commit');
    const speed = parseBandwidth(context, 'commit');
    const converge = parseConverge(context, 'commit');
    if (converge !== undefined && !(active && wait)) throw new UsageError('--converge goes with an active commit that is waited for (--active --wait, --pivot or --keep-overlay)', 'commit');
    const out = context.out;
    const top = stringOption(context, 'top');
    const base = stringOption(context, 'base');
    const spec: CommitRangeSpec = { ...(top !== undefined ? { top } : {}), ...(base !== undefined ? { base } : {}), shallow: flag(context, 'shallow'), active };
    try {
      validateRangeSpec(spec);
    } catch (error) {
      // What needs no chain is checked before connecting: a usage mistake, nothing touched.
      if (error instanceof BlockError) throw new UsageError(error.message, 'commit');
      throw error;
    }

    const client = await context.connect();
    const { disk, others } = await cliDisk(context, client, diskName);
    const range = resolveCommitRange(disk, spec, others);
    if (pivot) assertPivotable(range);
    if (flag(context, 'dry-run')) return await printPlan(context, { commit: range, pivot, others }, speed, client);
    const jobId = stringOption(context, 'job-id');
    // Every event of this job, in --json mode (the job's id is known once start() returns).
    let ownJobId: string | undefined = jobId;
    const onEvent = (e: QmpEvent): void => {
      if (ownJobId !== undefined && eventJobId(e) === ownJobId) out.event(e);
    };
    if (out.json) client.on('event', onEvent);
    const cursor = client.eventCursor();
    // A job we leave running (no --wait, or --active --wait returning at READY) may fail later with
    // nobody watching: QEMU keeps it, error and all, for `jobs` / `job --info` to show, then dismiss.
    const leftRunning = !wait || (range.active && !pivot && !keepOverlay);
    const job = await CommitJob.start(client, range, {
      ...(leftRunning ? { autoDismiss: false, detached: true } : {}),
      ...(jobId ? { jobId } : {}),
      ...(speed !== undefined ? { speed } : {}),
      ...(flag(context, 'keep-relative') ? { keepRelative: true } : {}),
      signal: context.signal,
    });
    if (out.json && ownJobId === undefined) {
      ownJobId = job.id;
      for (const e of client.recentEvents(cursor)) if (eventJobId(e) === job.id) out.event(e);
    }
    out.result(undefined, { type: 'started', job: job.id, disk: diskName, top: range.top.file, base: range.base.file, active: range.active });
    // A signal while the start was in flight: the job it started is aborted, as when waiting.
    if (!wait && context.signal.aborted) return await abortStartedJob(job, out, 'Commit', context.signal);
    if (!wait) {
      out.message(range.active ? 'Active Block Commit started' : 'Block Commit started');
      await job.detach();
      return 0;
    }

    const { deadline, stopSignal } = stopSignals(context, timeoutMs);
    const stopProgress = flag(context, 'verbose') ? showProgress(job, out, 'Block commit', stopSignal) : () => {};
    // Until READY (and with a limit, until the job ends): watch that what is left shrinks.
    const guard = range.active ? guardConvergence(context, client, job, disk, converge) : undefined;
    try {
      let result: CommitResult;
      if (range.active) {
        await context.whileAlive(job.waitUntilReady({ signal: stopSignal }));
        stopProgress();
        if (flag(context, 'verbose')) out.progress('Block commit', 100);
        if (pivot || keepOverlay) {
          // Once complete/cancel is sent, Ctrl-C cannot take it back: say so and wait (bounded) for QEMU.
          const note = (): void => out.warn(`${pivot ? 'the pivot' : 'ending the job'} was already requested: waiting for QEMU to finish it (Ctrl-C again to stop waiting)`);
          context.signal.addEventListener('abort', note, { once: true });
          try {
            result = await context.whileAlive(pivot ? job.pivot({ timeoutMs: FINISH_TIMEOUT_MS }) : job.keepOverlay({ timeoutMs: FINISH_TIMEOUT_MS }));
          } finally {
            context.signal.removeEventListener('abort', note);
          }
          out.message(pivot ? 'Successfully pivoted' : 'Commit complete, overlay image kept');
        } else {
          out.message('Now in synchronized phase');
          await job.detach();
          return 0;
        }
      } else {
        result = await context.whileAlive(job.wait({ signal: stopSignal }));
        stopProgress();
        if (flag(context, 'verbose')) out.progress('Block commit', 100);
        out.message('Commit complete');
      }
      out.result(undefined, { type: 'result', job: job.id, outcome: result.outcome, states: result.states, timings: result.timings, ...(result.nodes ? { nodes: result.nodes } : {}) });
      reportNodesKept(out, result);
      let deleted: string[] = [];
      try {
        if (deleteImages) deleted = await deleteCommittedImages(client, range, result, { signal: context.signal });
      } catch (error) {
        if (!(error instanceof ImageDeletionError)) throw error;
        reportInvalidated(out, result, error.deleted);
        out.error(`the commit succeeded, but ${error.message}`);
        return 1;
      }
      reportInvalidated(out, result, deleted);
      return 0;
    } catch (error) {
      stopProgress();
      return await reportUnfinishedJob(job, error, { out, noun: 'Commit', stopSignal, deadline, timeoutText, async: flag(context, 'async') });
    } finally {
      client.off('event', onEvent);
      await guard?.finish();
    }
  },
};
