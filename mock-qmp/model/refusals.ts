/*
 * What QEMU refuses, with its own error classes and texts: a job verb in a state that does not take it
 * (QEMU's job.c verb table), an unknown job or device, a job id in use, a second job on a busy disk,
 * a backup's unknown bitmap or busy target (texts recorded from QEMU 7.2, 10.0 and 11.1 alike).
 * A refusal the transcript recorded for the same command wins over these texts (session.ts).
 */

export interface QmpErrorBody {
  class: string;
  desc: string;
}

/** QEMU's JobVerbTable (job.c): the states in which each verb is accepted. */
const VERB_STATES: Record<string, readonly string[]> = {
  cancel: ['created', 'running', 'paused', 'ready', 'standby', 'waiting', 'pending', 'aborting'],
  pause: ['created', 'running', 'paused', 'ready', 'standby'],
  resume: ['created', 'running', 'paused', 'ready', 'standby'],
  'set-speed': ['created', 'running', 'paused', 'ready', 'standby'],
  change: ['running', 'paused', 'ready', 'standby'],
  complete: ['ready'],
  finalize: ['pending'],
  dismiss: ['concluded'],
};

/** QEMU's refusal of a verb in the job's state, or undefined when the state takes it. */
export function verbRefusal(id: string, status: string, verb: string): QmpErrorBody | undefined {
  const states = VERB_STATES[verb];
  if (!states || states.includes(status)) return undefined;
  return { class: 'GenericError', desc: `Job '${id}' in state '${status}' cannot accept command verb '${verb}'` };
}

/** No such job: block-job-* commands look block jobs up by device (DeviceNotActive), job-* by id. */
export function unknownJob(command: string, id: string): QmpErrorBody {
  return command.startsWith('block-job-')
    ? { class: 'DeviceNotActive', desc: `Block job '${id}' not found` }
    : { class: 'GenericError', desc: 'Job not found' };
}

export const notPaused: QmpErrorBody = { class: 'GenericError', desc: "Can't resume a job that was not paused" };
export const alreadyPaused: QmpErrorBody = { class: 'GenericError', desc: 'Job is already paused' };

export function jobIdInUse(id: string): QmpErrorBody {
  return { class: 'GenericError', desc: `Job ID '${id}' already in use` };
}

/** An unknown device or node: block-commit says DeviceNotFound, the other job commands bdrv_lookup_bs's text. */
export function unknownDevice(command: string, device: string): QmpErrorBody {
  return command === 'block-commit'
    ? { class: 'DeviceNotFound', desc: `Device '${device}' not found` }
    : { class: 'GenericError', desc: `Cannot find device='${device}' nor node-name='${device}'` };
}

/** A job's filter sits on top of the device's chain: the node the client named is no longer a root. */
export const needRootNode: QmpErrorBody = { class: 'GenericError', desc: 'Need a root block node' };

export function nodeBusy(node: string, type: string): QmpErrorBody {
  return { class: 'GenericError', desc: `Node '${node}' is busy: block device is in use by block job: ${type}` };
}

/** blockdev-backup's bitmap is not on the node it backs up (do_backup_common). */
export function unknownBitmap(bitmap: string): QmpErrorBody {
  return { class: 'GenericError', desc: `Bitmap '${bitmap}' could not be found` };
}
