import type { DiskChain } from '../../block/types.js';
import type { BlockJobInfo } from '../../qapi/types.js';
import type { CommitJob } from '../../jobs/commit.js';
import { MirrorJob } from '../../jobs/mirror.js';
import { attachJob, type AnyJob } from '../../jobs/attach.js';
import { JOB_KINDS, kindOfJob, kindsOfType } from '../../jobs/kinds.js';
import { findDiskJob, isActiveCommit } from '../../jobs/discovery.js';
import { JobFailedError, JobNotFoundError } from '../../jobs/errors.js';
import { booleanOptions, UsageError, type OptionSpecs } from '../args.js';
import type { CliContext, CommandSpec } from '../context.js';
import { COPY_MODE_OPTIONS, FOLLOW_OPTIONS, parseBandwidth, parseCopyMode } from '../job-options.js';
import { abortEnd, endJob, followJob, readyEnd, resultRecord } from '../job-runner.js';
import type { JobResult } from '../../jobs/types.js';
import { cliDisk } from '../disks.js';
import { displayPercent } from '../percent.js';
import type { ResultRecord } from '../records.js';

const ACTIONS = ['abort', 'pivot', 'finish', 'pause', 'resume', 'info'] as const;

const JOB_OPTIONS = {
  ...booleanOptions(...ACTIONS, 'async'),
  ...COPY_MODE_OPTIONS,
  ...FOLLOW_OPTIONS,
} as const satisfies OptionSpecs;

export const jobCommand: CommandSpec<typeof JOB_OPTIONS> = {
  name: 'job',
  summary: 'act on the block job of a disk: abort, pivot, pause, resume, bandwidth, copy mode, info (virsh blockjob)',
  usage:
    'job DISK (--abort [--async] | --pivot [--async] | --finish | --pause | --resume | --bandwidth N [--bytes] | --copy-mode write-blocking | --info [--verbose])',
  details: `DISK is a disk name (the job is found by its id commit-DISK, or as the one job on the disk) or a job id.
--abort    cancel the job (forced: also a paused one); the guest stays on top
--pivot    after READY, switch the guest onto base (commit) or the destination (copy): block-job-complete;
           waits for the switch unless --async
--finish   after READY, end the job and leave the guest where it is: a copy keeps its destination
           ("Successfully copied", the destination node removed), an active commit keeps the overlay
           (base holds the merged data)
--copy-mode write-blocking  a running copy: from now on guest writes reach the destination at once
           (block-job-change, QEMU 8.2+)
--info     show the job's progress; with --verbose keep showing it until the job is ready or gone`,
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock job vda --info',
    'qmp-blockjob --socket /tmp/qmp.sock job vda --pivot',
    'qmp-blockjob --socket /tmp/qmp.sock job vda --bandwidth 100',
  ],
  options: JOB_OPTIONS,
  async run(context) {
    const [name, ...extra] = context.positionals;
    if (!name) throw new UsageError('job wants a DISK (or a job id)', 'job');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, 'job');
    const o = context.options;
    const actions = ACTIONS.filter((a) => o[a]);
    const speed = parseBandwidth(o, 'job');
    const copyMode = parseCopyMode(o, 'job');
    if (actions.length + (speed !== undefined ? 1 : 0) + (copyMode !== undefined ? 1 : 0) > 1)
      throw new UsageError(`choose one of --abort, --pivot, --finish, --pause, --resume, --bandwidth, --copy-mode, --info`, 'job');
    const action = actions[0] ?? (speed !== undefined ? 'bandwidth' : copyMode !== undefined ? 'copy-mode' : 'info');
    const client = await context.connect();
    const out = context.out;

    // A job id works directly; else the disk's job.
    const jobs = await client.execute('query-block-jobs', undefined, { signal: context.signal });
    let info = jobs.find((j) => j.device === name);
    let disk: DiskChain | undefined;
    if (!info) {
      disk = (await cliDisk(context, client, name)).disk;
      try {
        info = await findDiskJob(client, disk);
      } catch (error) {
        // As virsh blockjob --info: no job is an answer, not a failure (scripts poll this way).
        if (action === 'info' && error instanceof JobNotFoundError && error.candidates.length === 0) {
          out.result(`No current block job for ${name}`, { type: 'job', disk: name, job: null });
          return 0;
        }
        throw error;
      }
    }
    const id = info.device;
    if (info.status === 'concluded') {
      // Ended with nobody watching (a job left running): say how, then dismiss it, whatever was asked.
      const ended = (await client.execute('query-jobs', undefined, { signal: context.signal })).find((j) => j.id === id);
      await client.execute('job-dismiss', { id }, { signal: context.signal }).catch(() => undefined);
      const how = ended?.error !== undefined ? `failed: ${ended.error}` : 'ended without error';
      out.result(`Job ${id} on ${name} has concluded: ${how} (now dismissed)`, {
        type: 'job',
        job: id,
        disk: name,
        status: 'concluded',
        error: ended?.error ?? null,
        dismissed: true,
      });
      return ended?.error !== undefined || action !== 'info' ? 1 : 0;
    }
    // A commit is an active commit or not (one query tells): the row's attach and title are the same for both.
    const kind = kindOfJob(info.type) ?? JOB_KINDS.commit;
    const job = await attachJob(kind, client, { jobId: id }, { signal: context.signal, disk: name, ...(disk ? { device: disk.device } : {}) });
    const noun = kind.title;
    // A kind that may reach READY ends by a pivot or a finish; the library refuses one that has not (an intermediate commit).
    const pivotable = kindsOfType(info.type).some((k) => k.hasReady);
    try {
      switch (action) {
        case 'pause':
          await job.pause();
          out.message(`Job ${id} paused`);
          return 0;
        case 'resume':
          await job.resume();
          out.message(`Job ${id} resumed`);
          return 0;
        case 'bandwidth':
          await job.setSpeed(speed ?? 0);
          out.message(`Job ${id} bandwidth set to ${speed ? `${speed} bytes/s` : 'unlimited'}`);
          return 0;
        case 'copy-mode':
          if (!(job instanceof MirrorJob)) throw new UsageError(`job ${id} is a ${noun.toLowerCase()}, not a copy: only a copy has a copy mode`, 'job');
          await job.setCopyMode(copyMode ?? 'write-blocking');
          out.message(`Job ${id} copy mode set to ${copyMode ?? 'write-blocking'}`);
          return 0;
        case 'info':
          return await showInfo(context, job, info, name, disk);
        case 'abort':
        case 'pivot':
        case 'finish': {
          if (action !== 'abort' && !pivotable)
            throw new UsageError(`job ${id} is a ${kind.noun}, which completes by itself: there is nothing to ${action}`, 'job');
          if (o.async && action !== 'finish') {
            await (action === 'abort' ? job.requestCancel() : (job as CommitJob | MirrorJob).requestPivot());
            out.message(action === 'abort' ? `Abort of ${id} requested` : `Pivot of ${id} requested`);
            return 0;
          }
          // Ended as the commands that start a job end it: Ctrl-C cannot take the request back, the wait is bounded.
          if (action === 'abort') await endJob<AnyJob, JobResult>(context, job, abortEnd(kind), record);
          else if (job instanceof MirrorJob) await endJob(context, job, readyEnd('copy', action), record);
          else await endJob(context, job as CommitJob, readyEnd('commit', action), record);
          return 0;
        }
      }
    } finally {
      await job.detach();
    }
  },
};

/** A result record of `job`: a copy's says where its destination is and what became of its node. */
function record(job: { id: string }, result: JobResult): ResultRecord {
  return { ...resultRecord(job, result), ...(job instanceof MirrorJob ? { dest: job.destination.file ?? null, node: job.destination.node ?? null } : {}) };
}

/** `job DISK --info [--verbose]`: progress now, or followed to READY (active commit) / the end. */
async function showInfo(context: CliContext<typeof JOB_OPTIONS>, job: AnyJob, info: BlockJobInfo, name: string, disk: DiskChain | undefined): Promise<number> {
  const { out } = context;
  const id = info.device;
  const readyPhase = kindsOfType(info.type).length > 1 ? await isActiveCommit(job.client, info, disk) : undefined;
  const kind = kindOfJob(info.type, readyPhase) ?? JOB_KINDS.commit;
  const label = kind.jobLabel;
  // Jobs with a synchronized phase are followed to READY, the others to their end.
  const toReady = kind.hasReady;
  if (context.options.verbose) {
    // Until READY (active commit) or the end (intermediate): an end that is not success is said, not shown as 100 %.
    const ended = await followJob<JobResult>(context, job, { kind, label, stopSignal: context.signal, verbose: true }).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (ended !== undefined) {
      if (!(ended instanceof JobFailedError)) throw ended;
      const last = await job.readProgress({ signal: context.signal }).catch(() => undefined);
      if (last) out.progress(label, displayPercent(last.offset, last.len, false, 'running'));
      out.endProgress();
      out.error(
        `job ${id} on ${name} ended ${ended.result.outcome}${ended.result.error ? `: ${ended.result.error}` : ''} before it was ${toReady ? 'ready' : 'complete'}`,
      );
      out.result(undefined, { ...resultRecord(job, ended.result), error: ended.result.error });
      return 1;
    }
  } else {
    const p = await job.readProgress({ signal: context.signal });
    out.progress(label, displayPercent(p.offset, p.len, p.ready, p.status), { job: id, offset: p.offset, len: p.len, status: p.status, speed: p.speed });
  }
  out.endProgress();
  if (!out.json && info.speed) out.result(`    Bandwidth limit: ${info.speed} bytes/s (${(info.speed / 2 ** 20).toFixed(3)} MiB/s)`);
  return 0;
}
