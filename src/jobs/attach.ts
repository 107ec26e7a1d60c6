/*
 * How each job kind attaches to a running job by id: its class. Beside the table of kinds
 * (kinds.ts), which stays data only because the job classes read it; the mapped type makes a
 * new row of JOB_KINDS fail to compile until its class is named here.
 */
import type { QmpClient } from '../protocol/client.js';
import { CommitJob } from './commit.js';
import { JobUnsupportedError } from './errors.js';
import { JOB_KINDS, type JobKind, type JobKindName } from './kinds.js';
import { MirrorJob } from './mirror.js';
import { StreamJob } from './stream.js';
import type { AttachOptions } from './types.js';

/** Every job class a kind's row can attach. */
export type AnyJob = CommitJob | StreamJob | MirrorJob;

type Attach = (client: QmpClient, target: { jobId: string }, options: AttachOptions) => Promise<AnyJob>;

// A backup is followed by the command that started it (its group, its target and checkpoint live there): no attach by id.
const noAttach =
  (kind: JobKindName): Attach =>
  (_client, target) =>
    Promise.reject(
      new JobUnsupportedError(
        `job '${target.jobId}' is a ${JOB_KINDS[kind].noun} job: this library follows it only from the command that started it`,
        { jobId: target.jobId },
        `attach to a ${JOB_KINDS[kind].noun} job`,
      ),
    );

const ATTACH: { readonly [K in JobKindName]: Attach } = {
  commit: (client, target, options) => CommitJob.attach(client, target, options),
  'active-commit': (client, target, options) => CommitJob.attach(client, target, options),
  pull: (client, target, options) => StreamJob.attach(client, target, options),
  copy: (client, target, options) => MirrorJob.attach(client, target, options),
  backup: noAttach('backup'),
};

/** Attaches to the running job `jobId` of `kind` with that kind's class. */
export function attachJob(kind: JobKind, client: QmpClient, target: { jobId: string }, options: AttachOptions): Promise<AnyJob> {
  return ATTACH[kind.name](client, target, options);
}
