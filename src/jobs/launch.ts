/*
 * The two ways a job object comes to follow a QEMU job: by starting it, or by attaching to one that
 * runs. Both subscribe to the job's events before they ask QEMU anything, so no event is lost.
 */
import type { QmpClient } from '../protocol/client.js';
import type { BlockJobInfo, JobInfo, QmpEvent } from '../qapi/types.js';
import { JOB_EVENT_NAMES, JobStateMachine } from './state.js';

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

/** A running job's state read back from QEMU, for attach: follow first, then query, so no event is lost. */
export async function readJobState(client: QmpClient, id: string, options: { timeoutMs: number; signal?: AbortSignal | undefined }): Promise<{ info: BlockJobInfo | undefined; job: JobInfo | undefined; stream: AsyncIterableIterator<QmpEvent> }> {
  const stream = client.events({ names: JOB_EVENT_NAMES, jobId: id });
  try {
    const commandOptions = { timeoutMs: options.timeoutMs, ...(options.signal ? { signal: options.signal } : {}) };
    const [blockJobs, allJobs] = await Promise.all([client.execute('query-block-jobs', undefined, commandOptions), client.execute('query-jobs', undefined, commandOptions)]);
    return { info: blockJobs.find((j) => j.device === id), job: allJobs.find((j) => j.id === id), stream };
  } catch (error) {
    await stream.return?.();
    throw error;
  }
}

