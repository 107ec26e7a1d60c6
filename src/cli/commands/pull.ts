import { resolvePullRange } from '../../block/address.js';
import { deleteCommittedImages } from '../../jobs/delete.js';
import { ImageDeletionError } from '../../jobs/errors.js';
import { JOB_KINDS } from '../../jobs/kinds.js';
import { StreamJob } from '../../jobs/stream.js';
import type { JobResult } from '../../jobs/types.js';
import { booleanOptions, stringOptions, UsageError, type OptionSpecs } from '../args.js';
import type { CommandSpec } from '../context.js';
import { cliDisk } from '../disks.js';
import { printPlan } from '../dry-run.js';
import { JOB_RUN_OPTIONS } from '../job-options.js';
import { diskArgument, parseWaitOptions, resultRecord, runJobCommand } from '../job-runner.js';

const PULL_OPTIONS = {
  ...stringOptions('base'),
  ...booleanOptions('dry-run'),
  ...JOB_RUN_OPTIONS,
} as const satisfies OptionSpecs;

export const pullCommand: CommandSpec<typeof PULL_OPTIONS> = {
  name: 'pull',
  summary: 'pull the images below the active layer up into it, live (virsh blockpull)',
  usage:
    'pull DISK [--base X] [--wait] [--verbose] [--timeout SECONDS] [--async] [--bandwidth N [--bytes]] [--keep-relative] [--delete] [--dry-run] [--job-id ID]',
  details: `Without --base the active image takes in the whole chain and stands alone; with --base X (a file,
node name or DISK[N]) the images above X are pulled in and the active image then backs onto X —
the choice when the base is shared by other guests or read-only. No image becomes invalid (a pull
copies only what the chain already shows); the pulled images leave the chain.
--wait         wait for the job to complete
--verbose      progress like virsh: Block Pull: [ 42.00 %]
--timeout S    abort the job if not done after S seconds (implies --wait); Ctrl-C aborts it too
--async        with --timeout/Ctrl-C: request the abort and return without waiting for it
--bandwidth N  MiB/s (bytes/s with --bytes)
--keep-relative keep the active image's backing link relative (needs --base)
--delete       after the pull, delete the images that left the chain (after re-reading the live chains;
               a file another chain still uses is kept)
--dry-run      start nothing: print what each image holds, what the pull copies and what leaves the chain`,
  examples: ['qmp-blockjob --socket /tmp/qmp.sock pull vda --wait --verbose', "qmp-blockjob --socket /tmp/qmp.sock pull vda --base 'vda[1]' --wait"],
  options: PULL_OPTIONS,
  async run(context) {
    const diskName = diskArgument(context, 'pull');
    const o = context.options;
    const choice = parseWaitOptions(o, 'pull', []);
    if (o.delete && !choice.wait) throw new UsageError('--delete needs the job to be waited for (--wait)', 'pull');
    if (o['keep-relative'] && o.base === undefined)
      throw new UsageError('--keep-relative needs --base: a pull of the whole chain leaves no backing link', 'pull');
    const client = await context.connect();
    const { disk, others } = await cliDisk(context, client, diskName);
    const range = resolvePullRange(disk, o.base === undefined ? {} : { base: o.base }, others);
    if (o['dry-run']) return await printPlan(context, { pull: range }, choice.speed, client);
    return await runJobCommand<StreamJob, JobResult>(context, client, {
      command: 'pull',
      kind: JOB_KINDS.pull,
      choice,
      start: (options) => StreamJob.start(client, range, { ...options, ...(o['keep-relative'] ? { keepRelative: true } : {}) }),
      started: (job) => ({ type: 'started', job: job.id, disk: diskName, base: range.base?.file ?? null, pulled: range.pulled.map((l) => l.file) }),
      result: (job, result) => ({ ...resultRecord(job, result), leftChain: result.invalidated?.removedFromChain ?? [] }),
      after: async (_job, result) => {
        if (!o.delete) return 0;
        try {
          const deleted = await deleteCommittedImages(client, range, result, { signal: context.signal, kind: JOB_KINDS.pull.noun });
          for (const file of deleted) context.out.result(`Deleted: ${file}`);
          context.out.result(undefined, { type: 'deleted', files: deleted });
          return 0;
        } catch (error) {
          if (!(error instanceof ImageDeletionError)) throw error;
          context.out.error(`the pull succeeded, but ${error.message}`);
          return 1;
        }
      },
    });
  },
};
