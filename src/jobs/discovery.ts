/*
 * Finding the block job that holds a disk, and what kind of commit it is, from QEMU's queries alone
 * (a job someone else started, or ours after a restart).
 */
import { ChainChangedError } from '../block/errors.js';
import { describeDisk, diskLabel, findSameDisk, listDisks } from '../block/chain.js';
import type { DiskChain } from '../block/types.js';
import type { QmpClient } from '../protocol/client.js';
import { jobVerbs, type JobVerbs } from '../protocol/capabilities.js';
import type { BlockJobInfo } from '../qapi/types.js';
import { JobAlreadyRunningError, JobNotFoundError } from './errors.js';
import { JOB_KINDS, type JobKind } from './kinds.js';

/**
 * Filter drivers QEMU inserts above the top of a running job: mirror_top for an active commit (and a
 * mirror), commit_top for an intermediate commit, copy-on-read for a stream (QEMU 6.0+).
 */
const COMMIT_FILTER_DRIVERS = new Set(['commit_top', 'mirror_top', 'copy-on-read']);
/** A backup's filter (QEMU 6.0+): it too says a job holds the disk, though not which commit. */
const BACKUP_FILTER_DRIVER = 'copy-before-write';

/** `commit-<name>`: the disk's best-known name (commit-vda; see diskLabel). */
export function defaultCommitJobId(disk: DiskChain | string): string {
  return `commit-${typeof disk === 'string' ? disk : diskLabel(disk)}`;
}

/** `pull-<name>`: the default id of a pull (block-stream) job on `disk`. */
export function defaultPullJobId(disk: DiskChain): string {
  return `pull-${diskLabel(disk)}`;
}

/** `copy-<name>`: the default id of a copy (blockdev-mirror) job on `disk`. */
export function defaultCopyJobId(disk: DiskChain): string {
  return `copy-${diskLabel(disk)}`;
}

/** `backup-<name>`: the id of a backup (blockdev-backup) job on `disk`, QEMU's id characters only. */
export function defaultBackupJobId(disk: DiskChain): string {
  return `backup-${diskLabel(disk)}`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

/** Jobs QEMU runs now, whether one of them holds this disk (a job's filter on one of its images), and that filter's driver. */
export async function jobsOnDisk(
  client: QmpClient,
  disk: DiskChain,
  timeoutMs: number,
): Promise<{ jobs: BlockJobInfo[]; diskBusy: boolean; filter: string | undefined }> {
  const [jobs, nodes] = await Promise.all([
    client.execute('query-block-jobs', undefined, { timeoutMs }),
    client.execute('query-named-block-nodes', { flat: true }, { timeoutMs }),
  ]);
  const files = new Set(disk.layers.map((l) => l.file));
  const onDisk = nodes.filter((n) => files.has(n.file));
  const filter = (onDisk.find((n) => COMMIT_FILTER_DRIVERS.has(n.drv)) ?? onDisk.find((n) => n.drv === BACKUP_FILTER_DRIVER))?.drv;
  return { jobs, diskBusy: filter !== undefined, filter };
}
/**
 * The block job that holds `disk`: the one named after it (`commit-<device>` or a disk name), else the
 * only job of the given types whose filter node sits on the disk's images. Throws JobNotFoundError when
 * there is none, or when several could be meant (then the caller must name the job id).
 */
export async function findDiskJob(client: QmpClient, disk: DiskChain, options: { timeoutMs?: number; types?: readonly string[] } = {}): Promise<BlockJobInfo> {
  const { jobs, diskBusy } = await jobsOnDisk(client, disk, options.timeoutMs ?? client.commandTimeoutMs);
  const names = new Set(
    [
      defaultCommitJobId(disk),
      defaultCommitJobId(disk.device),
      defaultPullJobId(disk),
      defaultCopyJobId(disk),
      defaultBackupJobId(disk),
      disk.device,
      disk.driveId,
      disk.qdevId,
    ].filter((n): n is string => !!n),
  );
  const byName = jobs.find((j) => names.has(j.device));
  if (byName) return byName;
  const candidates = jobs.filter((j) => !options.types || options.types.includes(j.type));
  const kinds = options.types ? `${options.types.join('/')} jobs` : 'jobs';
  if (diskBusy && candidates.length === 1 && candidates[0]) return candidates[0];
  if (diskBusy) {
    const ids = candidates.map((j) => j.device);
    throw new JobNotFoundError(
      `disk ${describeDisk(disk)} has a job, but ${candidates.length} ${kinds} run (${ids.join(', ')}): name the job id`,
      { disk: disk.device },
      ids,
    );
  }
  throw new JobNotFoundError(`no ${options.types ? kinds.replace(/s$/, '') : 'block job'} runs on disk ${describeDisk(disk)}`, { disk: disk.device });
}

/**
 * Whether a running commit job is an active commit (top = the active layer, it will reach READY):
 * QEMU runs those on its mirror machinery, so a `mirror_top` filter sits on the disk. Decided from
 * the filter, not from `ready`, so the answer does not flip when the job becomes ready.
 */
export async function isActiveCommit(client: QmpClient, job: BlockJobInfo, disk: DiskChain | undefined, timeoutMs = client.commandTimeoutMs): Promise<boolean> {
  if (job.type !== JOB_KINDS['active-commit'].qemuType) return false;
  if (job.ready) return true;
  if (disk) return (await jobsOnDisk(client, disk, timeoutMs)).filter === 'mirror_top';
  const nodes = await client.execute('query-named-block-nodes', { flat: true }, { timeoutMs });
  const filters = nodes.filter((n) => COMMIT_FILTER_DRIVERS.has(n.drv));
  return filters.length > 0 && filters.every((n) => n.drv === 'mirror_top');
}

/** What preflight found: the jobs QEMU runs, whether one holds the disk, and a failure kept under the same id. */
export interface Preflight {
  jobs: BlockJobInfo[];
  diskBusy: boolean;
  sameIdError?: string;
  /** The job verbs this QEMU's schema chose, read alongside (no extra round trip before the job starts). */
  verbs: JobVerbs;
}

/**
 * What every job's start() checks right before its command: the jobs on the disk, and that the chain
 * is still the one the caller resolved (another client may have taken a snapshot since; with -drive,
 * QEMU would then act on the old chain and report it oddly). A concluded job of ours under the same
 * id that ended without error (left for `jobs` to show) is dismissed: nothing is lost by that.
 */
export async function preflight(client: QmpClient, disk: DiskChain, jobId: string, timeoutMs: number): Promise<Preflight> {
  const [onDisk, disks, verbs] = await Promise.all([jobsOnDisk(client, disk, timeoutMs), listDisks(client, { timeoutMs }), jobVerbs(client, { timeoutMs })]);
  const now = findSameDisk(disks, disk);
  const before = disk.layers.map((l) => l.nodeName);
  const after = now?.layers.map((l) => l.nodeName) ?? [];
  if (before.length !== after.length || before.some((n, i) => n !== after[i])) throw new ChainChangedError(describeDisk(disk), before, after);
  const sameId = onDisk.jobs.find((j) => j.device === jobId);
  if (sameId?.status !== 'concluded') return { ...onDisk, verbs };
  const info = (await client.execute('query-jobs', undefined, { timeoutMs })).find((j) => j.id === jobId);
  if (info?.error !== undefined) return { ...onDisk, sameIdError: info.error, verbs };
  await client.executeUntyped(verbs.dismiss.command, { [verbs.dismiss.key]: jobId }, { timeoutMs }).catch(() => undefined);
  return { ...onDisk, jobs: onDisk.jobs.filter((j) => j !== sameId), verbs };
}

/**
 * The refusal to start a `kind` job that preflight found in the way (the id taken, or the disk held
 * by another job), in words instead of QEMU's bare "Need a root block node"; undefined when free.
 * `attachable`: the caller could attach to it instead (commit's ifRunning: 'attach').
 */
export function busyDiskError(kind: JobKind, disk: DiskChain, jobId: string, found: Preflight, attachable: boolean): JobAlreadyRunningError | undefined {
  const sameId = found.jobs.find((j) => j.device === jobId);
  if (!sameId && !found.diskBusy) return undefined;
  const label = describeDisk(disk);
  const context = { jobId, disk: disk.device };
  if (sameId) {
    const failed = found.sameIdError ? `: it failed: ${found.sameIdError}` : '';
    return new JobAlreadyRunningError(
      `cannot start ${kind.startNoun} on ${label}: job id '${jobId}' is already in use (status ${sameId.status}${failed}); ${attachable ? 'attach to it or ' : ''}choose another id`,
      context,
      [sameId.device],
      undefined,
      found.sameIdError,
    );
  }
  const existing = found.jobs.map((j) => j.device);
  return new JobAlreadyRunningError(
    `cannot start ${kind.startNoun} on ${label}: the disk already has a block job running (${existing.join(', ') || 'unknown id'}); ${attachable ? 'attach to it, ' : ''}end it, or wait for it to end`,
    context,
    existing,
  );
}
