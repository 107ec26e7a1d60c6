// `backup DISK… --target FILE…` (virsh backup-begin, push mode): the library's BackupJob, always waited for.
import { findDisk } from '../../block/chain.js';
import { BackupJob } from '../../jobs/backup.js';
import { booleanOptions, stringOptions, UsageError, type OptionSpecs } from '../args.js';
import type { CommandSpec } from '../context.js';
import { cliDisks } from '../disks.js';
import { printBackupPlan } from '../dry-run.js';
import { reportUnfinishedJob } from '../job-ending.js';
import { BOUNDED_OPTIONS, parseBandwidth, parseTimeout } from '../job-options.js';
import { showProgress, stopSignals } from '../job-progress.js';

const BACKUP_OPTIONS = {
  target: { type: 'string', multiple: true },
  ...stringOptions('incremental', 'checkpoint'),
  ...BOUNDED_OPTIONS,
  ...booleanOptions('dry-run'),
} as const satisfies OptionSpecs;

export const backupCommand: CommandSpec<typeof BACKUP_OPTIONS> = {
  name: 'backup',
  summary: 'back up disks, full or incremental since a checkpoint, into new qcow2 files (virsh backup-begin, push mode)',
  usage: 'backup DISK… --target FILE… [--incremental CHECKPOINT] [--checkpoint NAME] [--verbose] [--timeout SECONDS] [--bandwidth N [--bytes]] [--dry-run]',
  details: `Each DISK's guest view as it is when the backup starts goes into its --target (one per DISK, in order): a new
standalone qcow2 file, created exclusively (never over an existing file or through a link), mode 0600.
--incremental C   only what changed since checkpoint C (its bitmaps in every image of the chain); rebase the file
                  onto the previous backup (qemu-img rebase -u -b PREV -F qcow2 FILE) to read the whole view
--checkpoint N    start checkpoint N at the same instant, kept only if the backup succeeds
--verbose         progress: Block Backup: [ 42.00 %]
--timeout S       abort if not done after S seconds; Ctrl-C aborts too
--bandwidth N     MiB/s per disk (bytes/s with --bytes)
--dry-run         start nothing: say per disk the target, full or incremental (which bitmaps), the new checkpoint
Several disks start in one transaction and complete as a group: all succeed, or none does.`,
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock backup vda --target /backup/vda-full.qcow2 --checkpoint chk0',
    'qmp-blockjob --socket /tmp/qmp.sock backup vda --target /backup/vda-inc1.qcow2 --incremental chk0 --checkpoint chk1',
  ],
  options: BACKUP_OPTIONS,
  async run(context) {
    const o = context.options;
    const names = context.positionals;
    const targets = o.target ?? [];
    if (!names.length) throw new UsageError('backup wants at least one DISK', 'backup');
    if (targets.length !== names.length)
      throw new UsageError(`backup wants one --target per DISK (${names.length} disks, ${targets.length} targets)`, 'backup');
    const { timeoutText, timeoutMs } = parseTimeout(o, 'backup');
    const speed = parseBandwidth(o, 'backup');
    const incremental = o.incremental;
    const checkpoint = o.checkpoint;
    const out = context.out;
    const client = await context.connect();
    const all = await cliDisks(context, client);
    const specs = names.map((n, i) => ({ disk: findDisk(all, n), target: targets[i]! }));
    const options = {
      signal: context.signal,
      ...(incremental ? { incremental } : {}),
      ...(checkpoint ? { checkpoint } : {}),
      ...(speed !== undefined ? { speed } : {}),
    };
    if (o['dry-run']) return printBackupPlan(context, await BackupJob.plan(client, specs, options));
    const jobs = await BackupJob.start(client, specs, options);
    for (const [i, job] of jobs.entries())
      out.result(undefined, {
        type: 'started',
        job: job.id,
        disk: names[i]!,
        target: job.target,
        incremental: incremental ?? null,
        checkpoint: checkpoint ?? null,
      });
    const { deadline, stopSignal } = stopSignals(context, timeoutMs);
    const stops = o.verbose ? jobs.map((job, i) => showProgress(job, out, jobs.length > 1 ? `Block Backup ${names[i]}` : 'Block Backup', stopSignal)) : [];
    let code = 0;
    // Grouped: one disk's failure cancels the others, so every job is waited for and reported.
    const ended = await Promise.allSettled(jobs.map((job) => context.whileAlive(job.wait({ signal: stopSignal }))));
    for (const stop of stops) stop();
    for (const [i, end] of ended.entries()) {
      const job = jobs[i]!;
      const label = jobs.length > 1 ? `Block Backup ${names[i]}` : 'Block Backup';
      if (end.status === 'fulfilled') {
        if (o.verbose) out.progress(label, 100);
        const mark = end.value.checkpoint;
        const note = !mark
          ? ''
          : mark.kept
            ? `; checkpoint ${mark.name} starts where it ends`
            : `; checkpoint ${mark.name} not kept: another disk's backup did not complete`;
        out.result(`Backup of ${names[i]} complete: ${job.target}${note}`, {
          type: 'result',
          job: job.id,
          outcome: end.value.outcome,
          target: job.target,
          states: end.value.states,
          timings: end.value.timings,
          ...(mark ? { checkpoint: mark } : {}),
        });
        if (mark && !mark.kept) code = 1;
      } else if (stopSignal.aborted) {
        // Ctrl-C or --timeout: every disk of the group is aborted (one may have been already, by the group).
        const why = deadline?.aborted ? `timeout of ${timeoutText} s reached` : 'interrupted';
        const result = await job.cancel({ timeoutMs: 60_000 }).catch(() => undefined);
        out.message(`Backup of ${names[i]} aborted`);
        out.result(undefined, { type: 'result', job: job.id, outcome: result?.outcome ?? 'aborted', reason: why, target: job.target });
        code = 1;
      } else {
        code = Math.max(
          code,
          await reportUnfinishedJob(job, end.reason, { out, noun: `Backup of ${names[i]}`, stopSignal, deadline, timeoutText, async: false }),
        );
      }
    }
    return code;
  },
};
