import { resolvePullRange } from '../../block/address.js';
import { printPlan } from '../dry-run.js';
import { deleteCommittedImages } from '../../jobs/delete.js';
import { ImageDeletionError } from '../../jobs/errors.js';
import { JOB_RUN_OPTIONS, abortStartedJob, reportNodesKept, reportUnfinishedJob } from '../job-ending.js';
import { StreamJob } from '../../jobs/stream.js';
import { parseSeconds, UsageError } from '../args.js';
import { flag, stringOption, type CommandSpec } from '../context.js';
import { cliDisk } from '../disks.js';
import { parseBandwidth, showProgress, stopSignals } from '../job-progress.js';

export const pullCommand: CommandSpec = {
  name: 'pull',
  summary: 'pull the images below the active layer up into it, live (virsh blockpull)',
  usage: 'pull DISK [--base X] [--wait] [--verbose] [--timeout SECONDS] [--async] [--bandwidth N [--bytes]] [--keep-relative] [--delete] [--dry-run] [--job-id ID]',
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
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock pull vda --wait --verbose',
    "qmp-blockjob --socket /tmp/qmp.sock pull vda --base 'vda[1]' --wait",
  ],
  options: {
    base: { type: 'string' },
    'dry-run': { type: 'boolean' },
    ...JOB_RUN_OPTIONS,
  },
  async run(context) {
    const [diskName, ...extra] = context.positionals;
    if (!diskName) throw new UsageError('pull wants a DISK', 'pull');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, 'pull');
    const timeoutText = stringOption(context, 'timeout');
    const timeoutMs = timeoutText === undefined ? undefined : parseSeconds(timeoutText, '--timeout', 'pull') * 1000;
    const wait = flag(context, 'wait') || timeoutMs !== undefined;
    if (flag(context, 'verbose') && !wait) throw new UsageError('--verbose needs --wait (or --timeout)', 'pull');
    if (flag(context, 'async') && !wait) throw new UsageError('--async goes with --timeout or --wait', 'pull');
    if (flag(context, 'delete') && !wait) throw new UsageError('--delete needs the job to be waited for (--wait)', 'pull');
    if (flag(context, 'keep-relative') && stringOption(context, 'base') === undefined) throw new UsageError('--keep-relative needs --base: a pull of the whole chain leaves no backing link', 'pull');
    const speed = parseBandwidth(context, 'pull');
    const out = context.out;
    const client = await context.connect();
    const { disk, others } = await cliDisk(context, client, diskName);
    const base = stringOption(context, 'base');
    const range = resolvePullRange(disk, base === undefined ? {} : { base }, others);
    if (flag(context, 'dry-run')) return await printPlan(context, { pull: range }, speed, client);
    const jobId = stringOption(context, 'job-id');
    const job = await StreamJob.start(client, range, {
      ...(wait ? {} : { autoDismiss: false }),
      ...(jobId ? { jobId } : {}),
      ...(speed !== undefined ? { speed } : {}),
      ...(flag(context, 'keep-relative') ? { keepRelative: true } : {}),
      signal: context.signal,
    });
    out.result(undefined, { type: 'started', job: job.id, disk: diskName, base: range.base?.file ?? null, pulled: range.pulled.map((l) => l.file) });
    // A signal while the start was in flight: the job it started is aborted, as when waiting.
    if (!wait && context.signal.aborted) return await abortStartedJob(job, out, 'Pull', context.signal);
    if (!wait) {
      out.message('Block Pull started');
      await job.detach();
      return 0;
    }
    const { deadline, stopSignal } = stopSignals(context, timeoutMs);
    const stopProgress = flag(context, 'verbose') ? showProgress(job, out, 'Block Pull', stopSignal) : () => {};
    try {
      const result = await context.whileAlive(job.wait({ signal: stopSignal }));
      stopProgress();
      if (flag(context, 'verbose')) out.progress('Block Pull', 100);
      out.message('Pull complete');
      out.result(undefined, { type: 'result', job: job.id, outcome: result.outcome, states: result.states, timings: result.timings, leftChain: result.invalidated?.removedFromChain ?? [], ...(result.nodes ? { nodes: result.nodes } : {}) });
      reportNodesKept(out, result);
      if (!flag(context, 'delete')) return 0;
      try {
        const deleted = await deleteCommittedImages(client, range, result, { signal: context.signal, kind: 'pull' });
        for (const file of deleted) out.result(`Deleted: ${file}`, {});
        out.result(undefined, { type: 'deleted', files: deleted });
        return 0;
      } catch (error) {
        if (!(error instanceof ImageDeletionError)) throw error;
        out.error(`the pull succeeded, but ${error.message}`);
        return 1;
      }
    } catch (error) {
      stopProgress();
      return await reportUnfinishedJob(job, error, { out, noun: 'Pull', stopSignal, deadline, timeoutText, async: flag(context, 'async') });
    }
  },
};
