/*
 * What the classes of commit, pull and copy share beyond the job core: who a started job is (its id,
 * the disk's words, the error context, the command timeout), the JobInit of a job just launched or
 * attached by id, the kind's words filled in, and the READY rule of a pivot or finish. Each kind keeps
 * its own order of reads before the start, so the commands QEMU sees stay as they were.
 */
import { callerDiskName, describeDisk } from '../block/chain.js';
import type { DiskChain } from '../block/types.js';
import type { JobVerbs } from '../protocol/capabilities.js';
import type { QmpClient } from '../protocol/client.js';
import type { BlockJobInfo, JobStatus } from '../qapi/types.js';
import { diskContext, JobStateError, type JobErrorContext } from './errors.js';
import type { JobInit } from './job-init.js';
import type { JobKind } from './kinds.js';
import { attachedJobInit, attachRunningJob, type Launched } from './launch.js';

import type { AttachOptions, JobRequest } from './types.js';

/** A job's init as start and attach build it: kindInit adds the kind and, unless given, the label. */
export type KindlessInit = Omit<JobInit, 'kind' | 'label'> & { label?: string | undefined };

/** Each kind's constructor: its row's noun, and the disk's words unless the caller named it (or the device, attached by id). */
export function kindInit(kind: JobKind, init: KindlessInit, disk: DiskChain | undefined): JobInit {
  return { ...init, kind: kind.noun, label: init.label ?? (disk ? callerDiskName(disk) : init.disk) };
}

export interface StartFacts {
  id: string;
  /** The disk in words, for messages. */
  label: string;
  /** The errors' context: the caller's name of the disk (`disk`) and QEMU's (`device`). */
  context: JobErrorContext & { jobId: string; disk: string; device: string };
  timeoutMs: number;
}

/** Who a start is about: the caller's job id or the kind's default, the disk's words, the errors' context, the command timeout. */
export function startFacts(
  client: QmpClient,
  disk: DiskChain,
  options: { jobId?: string | undefined; commandTimeoutMs?: number | undefined },
  defaultId: (disk: DiskChain) => string,
): StartFacts {
  const id = options.jobId ?? defaultId(disk);
  return { id, label: describeDisk(disk), context: { ...diskContext(disk), jobId: id }, timeoutMs: options.commandTimeoutMs ?? client.commandTimeoutMs };
}

/** A job just launched: followed from its first event, QEMU's auto-finalize and auto-dismiss as asked (both by default). */
export function startedJobInit(
  client: QmpClient,
  facts: StartFacts,
  launched: Launched,
  verbs: JobVerbs,
  options: { autoFinalize?: boolean | undefined; autoDismiss?: boolean | undefined },
): KindlessInit {
  return {
    client,
    id: facts.id,
    disk: facts.context.device,
    machine: launched.machine,
    stream: launched.stream,
    resyncing: false,
    autoFinalize: options.autoFinalize ?? true,
    autoDismiss: options.autoDismiss ?? true,
    commandTimeoutMs: facts.timeoutMs,
    verbs,
  };
}

/**
 * Attach by id, as every kind does: the running job read back (attachRunningJob: a job of another
 * kind or none is refused) and the init it is followed from; `device` QEMU's name of the disk when the caller knows it.
 */
export async function attachById(
  client: QmpClient,
  kind: JobKind,
  jobId: string,
  options: AttachOptions,
  extra: { whenGone?: () => Error; device?: string | undefined } = {},
): Promise<{ init: KindlessInit; info: BlockJobInfo; error: string | undefined; timeoutMs: number }> {
  const timeoutMs = options.commandTimeoutMs ?? client.commandTimeoutMs;
  const running = await attachRunningJob(
    client,
    jobId,
    { kind, ...(extra.whenGone ? { whenGone: extra.whenGone } : {}) },
    { timeoutMs, signal: options.signal },
  );
  return { init: attachedJobInit(client, jobId, running, options, timeoutMs, extra.device), info: running.info, error: running.error, timeoutMs };
}

/**
 * What ending a job after READY needs (pivot, finish, keep the overlay): READY reached and nothing
 * requested before; else the refusal in the kind's words. `cancelled`: the kind's name for its cancel
 * after READY ("keeping the overlay", "finishing").
 */
export function requireReady(
  job: { noun: string; id: string; status: JobStatus; isReady: boolean; request: JobRequest | undefined; context: JobErrorContext },
  verb: string,
  cancelled: string,
): void {
  if (!job.isReady)
    throw new JobStateError(`cannot ${verb} ${job.noun} job '${job.id}': not ready yet (status ${job.status}); wait for READY first`, job.context, job.status);
  if (job.request) {
    const earlier = job.request === 'complete' ? 'the pivot' : job.request === 'cancel' ? cancelled : 'an abort';
    throw new JobStateError(`cannot ${verb} ${job.noun} job '${job.id}': ${earlier} was already requested`, job.context, job.status);
  }
}
