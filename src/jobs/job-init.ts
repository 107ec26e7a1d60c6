/*
 * What a job is made of (JobInit, built by each kind's start/attach) and the job core's pure helpers,
 * beside src/jobs/core.ts so that the core keeps to the job's life.
 */
import { ConnectionClosedError, QmpTimeoutError } from '../errors.js';
import type { QmpClient } from '../protocol/client.js';
import type { JobVerbs } from '../protocol/capabilities.js';
import type { QmpEvent } from '../qapi/types.js';
import { JobOptionError, type JobErrorContext } from './errors.js';
import type { JobNoun } from './kinds.js';
import type { JobStateMachine } from './state.js';

export interface JobInit {
  client: QmpClient;
  id: string;
  /** QEMU's name of the disk: the `device` the job runs on (the job's `device`). */
  disk: string;
  /** The disk as the caller named it (callerDiskName): the job's `disk`. */
  label: string;
  /** What kind of job, for messages: its row's noun in src/jobs/kinds.ts. */
  kind: JobNoun;
  machine: JobStateMachine;
  autoFinalize: boolean;
  autoDismiss: boolean;
  commandTimeoutMs: number;
  stream: AsyncIterableIterator<QmpEvent>;
  /** True after attach: the first queued events may predate the status the query gave. */
  resyncing: boolean;
  /** The commands for complete/pause/resume/finalize/dismiss, chosen from what this QEMU has (jobVerbs). */
  verbs: JobVerbs;
}

/** Why following a job stopped, in words (JobInterruptedError's `how`). */
export function interruptionHow(cause: Error | undefined): string {
  return !cause
    ? 'the client stopped following it'
    : cause instanceof ConnectionClosedError
      ? `the connection to QEMU was lost (${cause.message})`
      : cause instanceof QmpTimeoutError
        ? `QEMU's monitor did not answer (${cause.message})`
        : `following the job stopped (${cause.message})`;
}

/** Bandwidth in bytes per second: a whole number, 0 (unlimited) or more. */
export function assertSpeed(speed: number, context: JobErrorContext): void {
  if (!(Number.isSafeInteger(speed) && speed >= 0)) {
    throw new JobOptionError(`speed must be a whole number of bytes per second, 0 or more (got ${speed})`, context);
  }
}
