/*
 * The two ways a job object comes to follow a QEMU job: by starting it, or by attaching to one that
 * runs. Both subscribe to the job's events before they ask QEMU anything, so no event is lost.
 */
import type { QmpClient } from '../protocol/client.js';
import { jobVerbs, type JobVerbs } from '../protocol/capabilities.js';
import type { BlockJobInfo, JobInfo, QmpEvent } from '../qapi/types.js';
import { CommandOutcomeUnknownError } from '../errors.js';
import { executeCreating } from '../protocol/in-flight.js';
import { JobNotFoundError, JobStartUnknownError, JobVanishedError } from './errors.js';
import type { JobInit } from './job-init.js';
import type { JobKind } from './kinds.js';
import { JOB_EVENT_NAMES, JobStateMachine, isJobStatus } from './state.js';

/** The signal that stops a start before its job exists: the start's `signal` or its `cancelSignal`. */
export function startSignal(options: { signal?: AbortSignal | undefined; cancelSignal?: AbortSignal | undefined }): AbortSignal | undefined {
  const signals = [options.signal, options.cancelSignal].filter((s): s is AbortSignal => s !== undefined);
  return signals.length > 1 ? AbortSignal.any(signals) : signals[0];
}

/** A job just started: its state machine fed with what arrived before the reply, and its event stream. */
export interface Launched {
  machine: JobStateMachine;
  stream: AsyncIterableIterator<QmpEvent>;
}

/**
 * Sends the command that creates job `id` and follows it from the first event on. Subscribes before
 * sending: QEMU sends "created" and "running" before its reply, and a fast job may even end before it.
 */
export async function launchJob(client: QmpClient, id: string, send: () => Promise<unknown>): Promise<Launched> {
  const cursor = client.eventCursor();
  await send();
  // Synchronously from the reply on: the events before it from the history, the later ones from the stream.
  const machine = new JobStateMachine(id);
  for (const event of client.recentEvents(cursor)) {
    if (JOB_EVENT_NAMES.includes(event.event)) machine.apply(event);
  }
  return { machine, stream: client.events({ names: JOB_EVENT_NAMES, jobId: id }) };
}

/**
 * Sends the command that starts job `id` and waits for its reply even when `signal` fires meanwhile
 * (the job may already run: the caller sees the signal next and aborts it properly). When the reply
 * never comes, QEMU's jobs are read: a job `id` there is ours and is followed as if the reply had
 * come; otherwise JobStartUnknownError says plainly what may be live.
 */
export async function startJobCommand(
  client: QmpClient,
  id: string,
  name: string,
  args: object,
  options: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<void> {
  try {
    await executeCreating(client, name, args, options);
  } catch (error) {
    if (!(error instanceof CommandOutcomeUnknownError)) throw error;
    const jobs = await client.execute('query-jobs', undefined, { timeoutMs: options.timeoutMs }).catch(() => undefined);
    if (jobs?.some((j) => j.id === id)) return;
    const what =
      jobs === undefined
        ? `job '${id}' may be running in QEMU now: check QEMU's jobs and the chain before trusting or deleting any image`
        : `QEMU has no job '${id}' now: it did not start, or it ran and ended already — check the chain before trusting or deleting any image`;
    throw new JobStartUnknownError(`${error.message}; ${what}`, { jobId: id }, jobs === undefined, { cause: error });
  }
}

/** A running job's state read back from QEMU, for attach: follow first, then query, so no event is lost. */
export async function readJobState(
  client: QmpClient,
  id: string,
  options: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<{ info: BlockJobInfo | undefined; job: JobInfo | undefined; stream: AsyncIterableIterator<QmpEvent> }> {
  const stream = client.events({ names: JOB_EVENT_NAMES, jobId: id });
  try {
    const commandOptions = { timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) };
    const [blockJobs, allJobs] = await Promise.all([
      client.execute('query-block-jobs', undefined, commandOptions),
      client.execute('query-jobs', undefined, commandOptions),
    ]);
    return { info: blockJobs.find((j) => j.device === id), job: allJobs.find((j) => j.id === id), stream };
  } catch (error) {
    await stream.return?.();
    throw error;
  }
}

/**
 * Attach's common part: the running job `id` read back (readJobState) and checked to be of `type`,
 * (its kind's row) with its state machine at the status QEMU gives. Throws `whenGone()` when QEMU has no such job
 * (default JobVanishedError) and JobNotFoundError when it is another kind of job.
 */
export async function attachRunningJob(
  client: QmpClient,
  id: string,
  expect: { kind: JobKind; whenGone?: () => Error },
  options: { timeoutMs: number; signal?: AbortSignal | undefined },
): Promise<{ info: BlockJobInfo; error: string | undefined; stream: AsyncIterableIterator<QmpEvent>; machine: JobStateMachine; verbs: JobVerbs }> {
  // The schema is read alongside the job's state: no extra round trip before the job is followed.
  const verbsRead = jobVerbs(client, { timeoutMs: options.timeoutMs });
  verbsRead.catch(() => undefined); // said below, once the state is read
  const { info, job, stream } = await readJobState(client, id, options);
  let verbs: JobVerbs;
  try {
    verbs = await verbsRead;
  } catch (error) {
    await stream.return?.();
    throw error;
  }
  if (!info || !job) {
    await stream.return?.();
    throw (
      expect.whenGone?.() ??
      new JobVanishedError(
        `job '${id}' is not in QEMU (any more): it ended, or never existed, and how it ended is unknown — check the chain before trusting or deleting any image`,
        { jobId: id },
      )
    );
  }
  if (info.type !== expect.kind.qemuType) {
    await stream.return?.();
    throw new JobNotFoundError(`job '${id}' is a ${info.type} job, not a ${expect.kind.noun}`, { jobId: id });
  }
  const status = isJobStatus(job.status) ? job.status : info.status;
  return { info, error: job.error, stream, machine: new JobStateMachine(id, status, Date.now()), verbs };
}

/** What a job attached by id is built from: the running job as attachRunningJob read it, QEMU's own auto-finalize/dismiss kept. */
export function attachedJobInit(
  client: QmpClient,
  id: string,
  running: { info: BlockJobInfo; stream: AsyncIterableIterator<QmpEvent>; machine: JobStateMachine; verbs: JobVerbs },
  options: { device?: string | undefined; disk?: string | undefined },
  commandTimeoutMs: number,
  device?: string,
): Omit<JobInit, 'kind' | 'label'> & { label?: string | undefined } {
  return {
    client,
    id,
    disk: device ?? options.device ?? id,
    stream: running.stream,
    machine: running.machine,
    resyncing: true,
    label: options.disk,
    autoFinalize: running.info['auto-finalize'],
    autoDismiss: running.info['auto-dismiss'],
    commandTimeoutMs,
    verbs: running.verbs,
  };
}
