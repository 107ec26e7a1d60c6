import path from 'node:path';
import { MirrorJob, type MirrorDestination } from '../../jobs/mirror.js';
import { checkMirrorOptions, type CopyMode } from '../../jobs/mirror-options.js';
import { JobOptionError } from '../../jobs/errors.js';
import { parseSeconds, UsageError } from '../args.js';
import { flag, stringOption, type CliContext, type CommandSpec } from '../context.js';
import { cliDisk } from '../disks.js';
import { JOB_WAIT_OPTIONS, abortStartedJob, reportNodesKept, reportUnfinishedJob } from '../job-ending.js';
import type { Output } from '../output.js';
import { parseBandwidth, showProgress, stopSignals } from '../job-progress.js';
import { guardConvergence, parseConverge } from '../convergence.js';

/** How long the last step (pivot or finish after READY, milliseconds in QEMU) may take before we stop waiting. */
const FINISH_TIMEOUT_MS = 60_000;

/** `--NAME N`: a whole number of bytes, or undefined when absent. */
function byteCount(context: CliContext, name: string): number | undefined {
  const text = stringOption(context, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--${name} wants a whole number of bytes, got '${text}'`, 'copy');
  return Number(text);
}

/** `--copy-mode background|write-blocking` (also `job DISK --copy-mode`). */
export function parseCopyMode(context: CliContext, command: string): CopyMode | undefined {
  const mode = stringOption(context, 'copy-mode');
  if (mode !== undefined && mode !== 'background' && mode !== 'write-blocking') throw new UsageError(`--copy-mode is background or write-blocking, got '${mode}'`, command);
  return mode;
}

/** After a copy that did not pivot: where the destination file is, and a node that could not be removed. */
function reportDestination(out: Output, destination: Readonly<MirrorDestination>, partial: boolean): void {
  if (destination.file && destination.created && partial) out.message(`The destination ${destination.file} is left as it is (an unfinished copy): delete it if you do not want it`);
  if (destination.node === 'unknown' && destination.nodeName) out.error(`the destination's node ${destination.nodeName} could not be removed (${destination.nodeError ?? 'unknown'}): blockdev-del it`);
}

export const copyCommand: CommandSpec = {
  name: 'copy',
  summary: 'copy a live disk onto a new image, then pivot onto it or keep the copy (virsh blockcopy)',
  usage: 'copy DISK --dest FILE [--format raw|qcow2] [--shallow] [--reuse-external [--allow-existing-data]] [--pivot | --finish] [--wait] [--verbose] [--timeout SECONDS] [--async] [--bandwidth N [--bytes]] [--granularity N] [--buf-size N] [--copy-mode background|write-blocking] [--converge throttle=N] [--job-id ID]',
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
  options: {
    dest: { type: 'string' },
    format: { type: 'string' },
    shallow: { type: 'boolean' },
    'reuse-external': { type: 'boolean' },
    'allow-existing-data': { type: 'boolean' },
    pivot: { type: 'boolean' },
    finish: { type: 'boolean' },
    granularity: { type: 'string' },
    'buf-size': { type: 'string' },
    'copy-mode': { type: 'string' },
    converge: { type: 'string' },
    ...JOB_WAIT_OPTIONS,
  },
  async run(context) {
    const [diskName, ...extra] = context.positionals;
    if (!diskName) throw new UsageError('copy wants a DISK', 'copy');
    if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`, 'copy');
    const dest = stringOption(context, 'dest');
    if (dest === undefined || dest === '') throw new UsageError('copy wants --dest FILE', 'copy');
    const format = stringOption(context, 'format') ?? 'qcow2';
    if (format !== 'qcow2' && format !== 'raw') throw new UsageError(`--format is raw or qcow2, got '${format}'`, 'copy');
    const pivot = flag(context, 'pivot');
    const finish = flag(context, 'finish');
    if (pivot && finish) throw new UsageError('--pivot and --finish exclude each other', 'copy');
    const timeoutText = stringOption(context, 'timeout');
    const timeoutMs = timeoutText === undefined ? undefined : parseSeconds(timeoutText, '--timeout', 'copy') * 1000;
    const wait = flag(context, 'wait') || pivot || finish || timeoutMs !== undefined;
    if (flag(context, 'verbose') && !wait) throw new UsageError('--verbose needs --wait (or --pivot, --finish, --timeout)', 'copy');
    if (flag(context, 'async') && !wait) throw new UsageError('--async goes with --timeout or --wait', 'copy');
    if (flag(context, 'allow-existing-data') && !(flag(context, 'reuse-external') && flag(context, 'shallow'))) throw new UsageError('--allow-existing-data goes with --reuse-external --shallow', 'copy');
    const speed = parseBandwidth(context, 'copy');
    const granularity = byteCount(context, 'granularity');
    const bufSize = byteCount(context, 'buf-size');
    const copyMode = parseCopyMode(context, 'copy');
    const converge = parseConverge(context, 'copy');
    if (converge !== undefined && !wait) throw new UsageError('--converge goes with a copy that is waited for (--wait, --pivot or --finish)', 'copy');
    try {
      // What needs no disk is a usage mistake, said before connecting (the library's own check).
      checkMirrorOptions({ file: dest, format, shallow: flag(context, 'shallow') }, { ...(granularity !== undefined ? { granularity } : {}), ...(bufSize !== undefined ? { bufSize } : {}) });
    } catch (error) {
      if (error instanceof JobOptionError) throw new UsageError(error.message, 'copy');
      throw error;
    }
    const out = context.out;
    const client = await context.connect();
    const { disk } = await cliDisk(context, client, diskName);
    const jobId = stringOption(context, 'job-id');
    const file = path.resolve(dest);
    // A job we leave running (no --wait, or --wait returning at READY) may fail with nobody watching: QEMU keeps it for `jobs`.
    const leftRunning = !pivot && !finish;
    const job = await MirrorJob.start(client, disk, { file, format, shallow: flag(context, 'shallow'), reuseExisting: flag(context, 'reuse-external'), allowExistingData: flag(context, 'allow-existing-data') }, {
      ...(leftRunning ? { autoDismiss: false } : {}),
      ...(jobId ? { jobId } : {}),
      ...(speed !== undefined ? { speed } : {}),
      ...(granularity !== undefined ? { granularity } : {}),
      ...(bufSize !== undefined ? { bufSize } : {}),
      ...(copyMode ? { copyMode } : {}),
      signal: context.signal,
    });
    const { destination } = job;
    out.result(undefined, { type: 'started', job: job.id, disk: diskName, dest: file, format, shallow: destination.shallow, created: destination.created, node: destination.nodeName ?? null });
    // A signal while the start was in flight: the job it started is aborted, as when waiting.
    if (!wait && context.signal.aborted) return await abortStartedJob(job, out, 'Copy', context.signal);
    if (!wait) {
      out.message('Block Copy started');
      await job.detach();
      return 0;
    }
    const { deadline, stopSignal } = stopSignals(context, timeoutMs);
    const stopProgress = flag(context, 'verbose') ? showProgress(job, out, 'Block Copy', stopSignal) : () => {};
    // Until READY (and with a limit, until the job ends): watch that what is left shrinks.
    const guard = guardConvergence(context, client, job, disk, converge);
    try {
      await context.whileAlive(job.waitUntilReady({ signal: stopSignal }));
      stopProgress();
      if (flag(context, 'verbose')) out.progress('Block Copy', 100);
      if (leftRunning) {
        out.message('Now in mirroring phase');
        await job.detach();
        return 0;
      }
      // Once complete/cancel is sent, Ctrl-C cannot take it back: say so and wait (bounded) for QEMU.
      const note = (): void => out.warn(`${pivot ? 'the pivot' : 'finishing the copy'} was already requested: waiting for QEMU to carry it out (Ctrl-C again to stop waiting)`);
      context.signal.addEventListener('abort', note, { once: true });
      let result;
      try {
        result = await context.whileAlive(pivot ? job.pivot({ timeoutMs: FINISH_TIMEOUT_MS }) : job.finish({ timeoutMs: FINISH_TIMEOUT_MS }));
      } finally {
        context.signal.removeEventListener('abort', note);
      }
      out.message(pivot ? 'Successfully pivoted' : 'Successfully copied');
      const leftChain = result.invalidated?.removedFromChain ?? [];
      out.result(undefined, { type: 'result', job: job.id, outcome: result.outcome, states: result.states, timings: result.timings, dest: file, node: result.destination.node ?? null, leftChain, ...(result.nodes ? { nodes: result.nodes } : {}) });
      reportNodesKept(out, result);
      if (leftChain.length) out.result(`The guest no longer uses: ${leftChain.join(', ')} (every image still reads as before)`, {});
      reportDestination(out, result.destination, false);
      return 0;
    } catch (error) {
      stopProgress();
      const code = await reportUnfinishedJob(job, error, { out, noun: 'Copy', stopSignal, deadline, timeoutText, async: flag(context, 'async') });
      reportDestination(out, job.destination, true);
      return code;
    } finally {
      await guard.finish();
    }
  },
};
