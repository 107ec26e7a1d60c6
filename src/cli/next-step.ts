/*
 * The one place the CLI gives advice in its own command words. The library's errors carry facts and
 * a short message an embedder can use as it is (JobCommandError: the job's status read back, the
 * image the guest runs on; MirrorTargetError.refusal; …); what to type next is said here only.
 */
import { InvalidCommitRangeError, SnapshotOutcomeUnknownError } from '../block/errors.js';
import { MonitorBusyError } from '../errors.js';
import { JobAlreadyRunningError, JobCommandError, JobInterruptedError, JobStartUnknownError, JobStateError, MirrorTargetError } from '../jobs/errors.js';

/** `message` with `text` put right after `anchor` (at its end when the anchor is not there). */
function after(message: string, anchor: string, text: string): string {
  const at = message.indexOf(anchor);
  return at < 0 ? `${message}${text}` : `${message.slice(0, at + anchor.length)}${text}${message.slice(at + anchor.length)}`;
}

/**
 * The library's message with the CLI's words put in where they belong: the commands and flags that
 * help, which an embedder of the library does not have.
 */
export function advisedMessage(error: Error): string {
  const { message } = error;
  if (error instanceof MonitorBusyError) return `${message}: close that client, add another -qmp monitor, or run it through 'qmp-blockjob share'`;
  if (error instanceof JobAlreadyRunningError && error.failure !== undefined)
    return after(message, `it failed: ${error.failure}`, "; 'jobs' shows and dismisses it");
  if (error instanceof JobStartUnknownError && error.maybeRunning) return message.replace("check QEMU's jobs", "check 'jobs'");
  if (error instanceof JobInterruptedError && error.pivotRequested) return after(message, 'Check which image the disk runs on', ` with 'chain ${error.disk}'`);
  if (error instanceof SnapshotOutcomeUnknownError && error.chainsUnread) return `${message}; check with 'chain'`;
  // Only a copy's refusal offers reuse; a backup's target that exists has no flag to name.
  if (error instanceof MirrorTargetError && error.refusal === 'exists' && message.includes('(give reuseExisting'))
    return after(message, '(give reuseExisting', ' / --reuse-external');
  if (error instanceof MirrorTargetError && error.refusal === 'holds-data') return after(message, '(allowExistingData', ' / --allow-existing-data');
  if (error instanceof InvalidCommitRangeError && error.reason === 'active-not-requested') return message.replace('(active: true)', '(virsh --active)');
  return message;
}

/**
 * What to do next after a refused pivot or abort (QEMU's refusal, or the library's before sending:
 * not READY yet), or undefined when the error is not one or carries no facts.
 */
export function nextStep(error: unknown): string | undefined {
  if (!(error instanceof JobCommandError || error instanceof JobStateError) || error.verb === undefined || error.disk === undefined) return undefined;
  const disk = error.disk;
  const on = error.guestImage !== undefined ? ` on ${error.guestImage}` : ' where it is';
  switch (error.jobStatus) {
    case undefined:
      return `next: 'job ${disk} --info' shows the job, 'chain ${disk}' which image the guest runs on`;
    case 'gone':
      return `next: 'chain ${disk}' shows which image the disk runs on; delete nothing before`;
    case 'ready':
      return `next: 'job ${disk} --pivot' to switch the guest, or 'job ${disk} --abort' to leave it${on}`;
    case 'paused':
    case 'standby':
      // Paused (by a client, or at READY: standby): QEMU takes no pivot until it runs again.
      return `next: 'job ${disk} --resume', then 'job ${disk} --pivot'${error.jobStatus === 'paused' ? ' once READY' : ''}; or 'job ${disk} --abort' to leave the guest${on}`;
    case 'created':
    case 'running':
      if (error instanceof JobStateError && error.completesByItself) {
        return `next: 'job ${disk} --info --verbose' follows it to its end (it needs no pivot); or 'job ${disk} --abort' (the guest stays${on})`;
      }
      return `next: 'job ${disk} --info --verbose' follows the job until READY, then 'job ${disk} --pivot'; or 'job ${disk} --abort' to leave the guest${on}`;
    default:
      // waiting, pending, aborting, concluded: QEMU is ending the job; the jobs list says how it ended.
      return `next: 'jobs' shows how the job ends, then 'chain ${disk}' which image the guest runs on`;
  }
}

/** What to do about a job that stopped on an I/O error (on-error stop): QEMU keeps it paused. */
export function errorStopStep(disk: string): string {
  return `next: fix the cause (space, storage), then 'job ${disk} --resume'; or 'job ${disk} --abort' to end the job`;
}
