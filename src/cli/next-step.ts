/*
 * The one place the CLI says what to type after QEMU refused a pivot or an abort. The library gives
 * the facts (JobCommandError: the job's status read back, the image the guest runs on); the advice
 * is the CLI's, in its own command words.
 */
import { JobCommandError, JobStateError } from '../jobs/errors.js';

/** The jobs' label is "NAME" or "NAME [device]" (describeDisk): the user's word is NAME. */
function userName(label: string): string {
  return label.replace(/ \[[^\]]*\]$/, '');
}

/**
 * What to do next after a refused pivot or abort (QEMU's refusal, or the library's before sending:
 * not READY yet), or undefined when the error is not one or carries no facts.
 */
export function nextStep(error: unknown): string | undefined {
  if (!(error instanceof JobCommandError || error instanceof JobStateError) || error.verb === undefined || error.label === undefined) return undefined;
  const disk = userName(error.label);
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
