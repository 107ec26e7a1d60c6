/*
 * Where the data is after QEMU refused a pivot or an abort: the job's status and the image the
 * guest runs on, read back from QEMU right then (never assumed from what was sent).
 */
import { findDisk, listDisks } from '../block/chain.js';
import type { QmpClient } from '../protocol/client.js';
import { isJobStatus } from './state.js';
import type { RefusalFacts } from './errors.js';

/**
 * The job `id`'s status (`gone` when QEMU has no such job) and the active image of the disk whose
 * device is `device`. Either is left undefined when it cannot be read: a failed read must never
 * hide the refusal itself.
 */
export async function readRefusalFacts(client: QmpClient, id: string, device: string, timeoutMs: number): Promise<Pick<RefusalFacts, 'jobStatus' | 'guestImage'>> {
  const options = { timeoutMs };
  const [jobs, disks] = await Promise.all([
    client.execute('query-jobs', undefined, options).catch(() => undefined),
    listDisks(client, options).catch(() => undefined),
  ]);
  const job = jobs?.find((j) => j.id === id);
  const jobStatus = jobs === undefined ? undefined : job === undefined ? ('gone' as const) : isJobStatus(job.status) ? job.status : undefined;
  let guestImage: string | undefined;
  try {
    guestImage = disks ? findDisk(disks, device).layers.at(-1)?.file : undefined;
  } catch {
    guestImage = undefined; // no disk answers to that device name any more: unknown, not guessed
  }
  return { jobStatus, guestImage };
}
