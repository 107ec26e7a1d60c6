import path from 'node:path';
import { JobOptionError } from '../../jobs/errors.js';
import { JOB_KINDS } from '../../jobs/kinds.js';
import { MirrorJob, type MirrorDestination, type MirrorResult } from '../../jobs/mirror.js';
import { checkMirrorOptions } from '../../jobs/mirror-options.js';
import { booleanOptions, stringOptions, UsageError, type OptionSpecs } from '../args.js';
import type { CommandSpec } from '../context.js';
import { guardConvergence, parseConverge } from '../convergence.js';
import { cliDisk } from '../disks.js';
import { COPY_MODE_OPTIONS, JOB_WAIT_OPTIONS, parseCopyMode } from '../job-options.js';
import { diskArgument, parseWaitOptions, readyEnd, resultRecord, runJobCommand } from '../job-runner.js';
import type { Output } from '../output.js';

/** `--NAME N`: a whole number of bytes, or undefined when absent. */
function byteCount(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--${name} wants a whole number of bytes, got '${text}'`, 'copy');
  return Number(text);
}

/** After a copy that did not pivot: where the destination file is, and a node that could not be removed. */
function reportDestination(out: Output, destination: Readonly<MirrorDestination>, partial: boolean): void {
  if (destination.file && destination.created && partial)
    out.message(`The destination ${destination.file} is left as it is (an unfinished copy): delete it if you do not want it`);
  if (destination.node === 'unknown' && destination.nodeName)
    out.error(`the destination's node ${destination.nodeName} could not be removed (${destination.nodeError ?? 'unknown'}): blockdev-del it`);
}

const COPY_OPTIONS = {
  ...stringOptions('dest', 'format', 'granularity', 'buf-size', 'converge'),
  ...booleanOptions('shallow', 'reuse-external', 'allow-existing-data', 'pivot', 'finish'),
  ...COPY_MODE_OPTIONS,
  ...JOB_WAIT_OPTIONS,
} as const satisfies OptionSpecs;

export const copyCommand: CommandSpec<typeof COPY_OPTIONS> = {
  name: 'copy',
  summary: 'copy a live disk onto a new image, then pivot onto it or keep the copy (virsh blockcopy)',
  usage:
    'copy DISK --dest FILE [--format raw|qcow2] [--shallow] [--reuse-external [--allow-existing-data]] [--pivot | --finish] [--wait] [--verbose] [--timeout SECONDS] [--async] [--bandwidth N [--bytes]] [--granularity N] [--buf-size N] [--copy-mode background|write-blocking] [--converge throttle=N] [--job-id ID]',
  details: `The destination is created (qcow2 of the disk's size unless --format raw; never over an existing
file or through a link) or, with --reuse-external, used as it is. The copy reaches a synchronized
phase (READY) and keeps both images in step until it is ended:
--pivot        after READY switch the guest onto the destination ("Successfully pivoted"; implies --wait)
--finish       after READY stop, the guest stays on the source and the destination holds a copy
               ("Successfully copied"; implies --wait)
--wait         wait for READY; without --pivot/--finish the job is then left running ('job DISK --pivot')
--shallow      copy only the active image: the destination backs onto the same backing image
--allow-existing-data  with --reuse-external --shallow: copy into a destination that already holds
               data of its own (refused otherwise: it would hide the backing image after the pivot)
--verbose      progress like virsh: Block Copy: [ 42.00 %]
--timeout S    abort the copy if not done after S seconds (implies --wait); Ctrl-C aborts it too
--async        with --timeout/Ctrl-C: request the abort and return without waiting for it
--bandwidth N  MiB/s (bytes/s with --bytes)
--granularity N, --buf-size N  bytes, passed to blockdev-mirror
--copy-mode write-blocking  guest writes reach the destination at once, so the copy always converges
--converge throttle=N  a copy the guest outpaces is said in any case; with this the guest's writes are
               limited to N MiB/s until the job ends, its previous I/O limits restored on every exit
The destination's node is removed again after --finish, an abort or a failure; its file is never deleted.`,
  examples: [
    'qmp-blockjob --socket /tmp/qmp.sock copy vda --dest /images/new.qcow2 --pivot --verbose',
    'qmp-blockjob --socket /tmp/qmp.sock copy vda --dest /backup/vda.raw --format raw --finish',
    'qmp-blockjob --socket /tmp/qmp.sock copy vda --dest /images/top.qcow2 --shallow --wait',
  ],
  options: COPY_OPTIONS,
  async run(context) {
    const diskName = diskArgument(context, 'copy');
    const o = context.options;
    const dest = o.dest;
    if (dest === undefined || dest === '') throw new UsageError('copy wants --dest FILE', 'copy');
    const format = o.format ?? 'qcow2';
    if (format !== 'qcow2' && format !== 'raw') throw new UsageError(`--format is raw or qcow2, got '${format}'`, 'copy');
    const pivot = o.pivot === true;
    const finish = o.finish === true;
    if (pivot && finish) throw new UsageError('--pivot and --finish exclude each other', 'copy');
    const choice = parseWaitOptions(o, 'copy', [
      ['--pivot', pivot],
      ['--finish', finish],
    ]);
    const shallow = o.shallow === true;
    if (o['allow-existing-data'] && !(o['reuse-external'] && shallow))
      throw new UsageError('--allow-existing-data goes with --reuse-external --shallow', 'copy');
    const granularity = byteCount(o.granularity, 'granularity');
    const bufSize = byteCount(o['buf-size'], 'buf-size');
    const copyMode = parseCopyMode(o, 'copy');
    const converge = parseConverge(o, 'copy');
    if (converge !== undefined && !choice.wait) throw new UsageError('--converge goes with a copy that is waited for (--wait, --pivot or --finish)', 'copy');
    try {
      // What needs no disk is a usage mistake, said before connecting (the library's own check).
      checkMirrorOptions(
        { file: dest, format, shallow },
        { ...(granularity !== undefined ? { granularity } : {}), ...(bufSize !== undefined ? { bufSize } : {}) },
      );
    } catch (error) {
      if (error instanceof JobOptionError) throw new UsageError(error.message, 'copy');
      throw error;
    }
    const out = context.out;
    const client = await context.connect();
    const { disk } = await cliDisk(context, client, diskName);
    const file = path.resolve(dest);
    return await runJobCommand<MirrorJob, MirrorResult>(context, client, {
      command: 'copy',
      kind: JOB_KINDS.copy,
      choice,
      ...(pivot || finish ? { end: readyEnd('copy', pivot ? 'pivot' : 'finish') } : {}),
      readyWords: 'Now in mirroring phase',
      start: (options) =>
        MirrorJob.start(
          client,
          disk,
          { file, format, shallow, reuseExisting: o['reuse-external'] === true, allowExistingData: o['allow-existing-data'] === true },
          {
            ...options,
            ...(granularity !== undefined ? { granularity } : {}),
            ...(bufSize !== undefined ? { bufSize } : {}),
            ...(copyMode ? { copyMode } : {}),
          },
        ),
      started: ({ id, destination }) => ({
        type: 'started',
        job: id,
        disk: diskName,
        dest: file,
        format,
        shallow: destination.shallow,
        created: destination.created,
        node: destination.nodeName ?? null,
      }),
      result: (job, result) => ({
        ...resultRecord(job, result),
        dest: file,
        node: result.destination.node ?? null,
        leftChain: result.invalidated?.removedFromChain ?? [],
      }),
      // Until READY (and with a limit, until the job ends): watch that what is left shrinks.
      guard: (job) => guardConvergence(context, client, job, disk, converge),
      after: async (_job, result) => {
        const leftChain = result.invalidated?.removedFromChain ?? [];
        if (leftChain.length) out.result(`The guest no longer uses: ${leftChain.join(', ')} (every image still reads as before)`);
        reportDestination(out, result.destination, false);
        return 0;
      },
      unfinished: (job) => reportDestination(out, job.destination, true),
    });
  },
};
