import { resolveCommitRange, validateRangeSpec, type CommitRangeSpec } from '../../block/address.js';
import { BlockError } from '../../block/errors.js';
import { CommitJob, type CommitResult } from '../../jobs/commit.js';
import { assertOnError, assertPivotable } from '../../jobs/commit-options.js';
import { deleteCommittedImages } from '../../jobs/delete.js';
import { ImageDeletionError, JobOptionError } from '../../jobs/errors.js';
import { JOB_KINDS } from '../../jobs/kinds.js';
import { UsageError } from '../args.js';
import type { CommandSpec } from '../context.js';
import { guardConvergence, parseConverge } from '../convergence.js';
import { cliDisk } from '../disks.js';
import { printPlan } from '../dry-run.js';
import { diskArgument, parseWaitOptions, readyEnd, resultRecord, runJobCommand } from '../job-runner.js';
import type { Output } from '../output.js';
import { runGroupCommit } from './commit-group.js';
import { COMMIT_OPTIONS, type CommitOptions } from './commit-options.js';

function reportInvalidated(out: Output, result: CommitResult, deleted: readonly string[]): void {
  const invalid = result.invalidated?.files ?? [];
  if (out.json) {
    if (invalid.length || deleted.length)
      out.result(undefined, { type: 'invalidated', files: invalid, stillValid: result.invalidated?.stillValid ?? [], deleted });
    return;
  }
  const remaining = invalid.filter((f) => !deleted.includes(f));
  if (remaining.length) out.result(`Images no longer valid on their own: ${remaining.join(', ')}`);
  for (const file of deleted) out.result(`Deleted: ${file}`);
}

export const commitCommand: CommandSpec<CommitOptions> = {
  name: 'commit',
  summary: "merge images of a disk's chain down into a base, live (virsh blockcommit)",
  usage:
    'commit DISK… | --all [--base X] [--top X] [--shallow] [--active] [--pivot | --keep-overlay] [--wait] [--verbose] [--timeout SECONDS] [--async] [--bandwidth N [--bytes]] [--keep-relative] [--delete] [--on-error report|stop|ignore|enospc] [--dry-run] [--converge throttle=N] [--job-id ID]',
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
--on-error A   what QEMU does on an I/O error (block-commit's on-error): report (default: the job
               fails), ignore, enospc (stop on ENOSPC only, else report), stop: the job pauses, the
               guest stays on its image; a waiting commit says so and keeps waiting (up to --timeout)
               for 'job DISK --resume' (once the cause is fixed) or 'job DISK --abort' from another shell
--converge throttle=N  an active commit that stops converging (the guest writes faster than it
               copies: said once, with both rates, in any case) gets the guest's writes limited to
               N MiB/s (block_set_io_throttle) until the job ends; the previous limits are restored
               right after the pivot, and on any exit (error, --timeout, Ctrl-C)
--dry-run      start nothing: read the live chain and each image's allocation map (qemu-img map -U)
               and print the plan: what each image holds, what the commit copies (an active
               commit's READY len), which images it invalidates and why, the time at --bandwidth;
               --format svg|html draws it (Eric Blake's strips) instead of text
Several disks (commit vda vdb --pivot, or --all: every disk with a chain): all disks or none. The
jobs run together, and the pivot happens only once every job is READY (every block-job-complete
written in one go); if a job fails, --timeout passes or Ctrl-C comes first, every job is cancelled
and every disk stays on its top. Exit 0 only if every disk pivoted.
Decisions come from the job's own QMP events; progress is only for display.`,
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock commit vda --active --pivot --verbose',
    'qmp-blockjob --socket /tmp/qmp.sock commit vda --base /images/base.raw --top /images/b.qcow2 --wait --verbose',
    "qmp-blockjob --socket /tmp/qmp.sock commit vda --base 'vda[1]' --top 'vda[3]' --wait",
    'qmp-blockjob --socket /tmp/qmp.sock commit vda --active --keep-overlay --bandwidth 50 --timeout 600',
    'qmp-blockjob --socket /tmp/qmp.sock commit vda vdb --active --pivot --timeout 600',
    'qmp-blockjob --socket /tmp/qmp.sock commit vda --active --pivot --dry-run --bandwidth 50',
  ],
  options: COMMIT_OPTIONS,
  async run(context) {
    const o = context.options;
    if (context.positionals.length > 1 || o.all) return runGroupCommit(context);
    const diskName = diskArgument(context, 'commit');
    const pivot = o.pivot === true;
    const keepOverlay = o['keep-overlay'] === true;
    if (pivot && keepOverlay) throw new UsageError('--pivot and --keep-overlay exclude each other', 'commit');
    const choice = parseWaitOptions(o, 'commit', [
      ['--pivot', pivot],
      ['--keep-overlay', keepOverlay],
    ]);
    const active = o.active === true || pivot || keepOverlay;
    const deleteImages = o.delete === true;
    if (deleteImages && keepOverlay)
      throw new UsageError('--delete with --keep-overlay: every image stays in the chain, so there is nothing to delete', 'commit');
    if (deleteImages && active && !pivot)
      throw new UsageError('--delete with --active needs --pivot: until the pivot every image is still in the chain', 'commit');
    if (deleteImages && !choice.wait) throw new UsageError('--delete needs the job to be waited for (--wait or --pivot)', 'commit');
    const converge = parseConverge(o, 'commit');
    if (converge !== undefined && !(active && choice.wait))
      throw new UsageError('--converge goes with an active commit that is waited for (--active --wait, --pivot or --keep-overlay)', 'commit');
    const spec: CommitRangeSpec = {
      ...(o.top !== undefined ? { top: o.top } : {}),
      ...(o.base !== undefined ? { base: o.base } : {}),
      shallow: o.shallow === true,
      active,
    };
    const onError = o['on-error'];
    try {
      validateRangeSpec(spec);
      assertOnError(onError, { disk: diskName });
    } catch (error) {
      // What needs no chain is checked before connecting: a usage mistake, nothing touched.
      if (error instanceof BlockError || error instanceof JobOptionError) throw new UsageError(error.message, 'commit');
      throw error;
    }

    const client = await context.connect();
    const { disk, others } = await cliDisk(context, client, diskName);
    const range = resolveCommitRange(disk, spec, others);
    if (pivot) assertPivotable(range);
    if (o['dry-run']) return await printPlan(context, { commit: range, pivot, others }, choice.speed, client);
    const out = context.out;
    return await runJobCommand<CommitJob, CommitResult>(context, client, {
      command: 'commit',
      kind: range.active ? JOB_KINDS['active-commit'] : JOB_KINDS.commit,
      choice,
      disk: { name: diskName, guestImage: range.disk.layers.at(-1)?.file },
      ...(pivot || keepOverlay ? { end: readyEnd('commit', pivot ? 'pivot' : 'finish') } : {}),
      readyWords: 'Now in synchronized phase',
      // Left running (autoDismiss false): nobody finalizes an intermediate commit, whose bitmaps merge at PENDING.
      start: (options) =>
        CommitJob.start(client, range, {
          ...options,
          ...(options.autoDismiss === false ? { detached: true } : {}),
          ...(o['keep-relative'] ? { keepRelative: true } : {}),
          ...(onError !== undefined ? { onError } : {}),
        }),
      started: (job) => ({ type: 'started', job: job.id, disk: diskName, top: range.top.file, base: range.base.file, active: range.active }),
      result: resultRecord,
      // Until READY (and with a limit, until the job ends): watch that what is left shrinks.
      ...(range.active ? { guard: (job: CommitJob) => guardConvergence(context, client, job, disk, converge) } : {}),
      after: async (_job, result) => {
        let deleted: readonly string[] = [];
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
      },
    });
  },
};
