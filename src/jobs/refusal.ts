/*
 * Where the data is after QEMU refused a pivot or an abort: the job's status and the image the
 * guest runs on, read back from QEMU right then (never assumed from what was sent).
 */
import { findDisk, listDisks } from '../block/chain.js';
import type { DiskChain } from '../block/types.js';
import type { QmpClient } from '../protocol/client.js';
import { isJobStatus } from './state.js';
import type { QmpCommandError } from '../errors.js';
import { isJobNotFound, type RefusalFacts } from './errors.js';

/**
 * The job `id`'s status (`gone` when QEMU has no such job) and the active image of the disk whose
 * device is `device`. Either is left undefined when it cannot be read: a failed read must never
 * hide the refusal itself.
 */
export async function readRefusalFacts(
  client: QmpClient,
  id: string,
  device: string,
  timeoutMs: number,
  refusal?: QmpCommandError,
): Promise<Pick<RefusalFacts, 'jobStatus' | 'guestImage'>> {
  const options = { timeoutMs };
  const [jobs, disks] = await Promise.all([
    client.execute('query-jobs', undefined, options).catch(() => undefined),
    listDisks(client, options).catch(() => undefined),
  ]);
  const job = jobs?.find((j) => j.id === id);
  // Unread, QEMU's own "no such job" still says it (DeviceNotActive from block-job-*, GenericError "Job not found" from job-*).
  const jobStatus =
    jobs === undefined
      ? refusal && isJobNotFound(refusal)
        ? ('gone' as const)
        : undefined
      : job === undefined
        ? ('gone' as const)
        : isJobStatus(job.status)
          ? job.status
          : undefined;
  const disk = disks && (byDevice(disks, device) ?? (await byJobEdges(client, disks, id, timeoutMs)));
  return { jobStatus, guestImage: disk?.layers.at(-1)?.file };
}

function byDevice(disks: readonly DiskChain[], device: string): DiskChain | undefined {
  try {
    return findDisk(disks, device);
  } catch {
    return undefined; // attached by job id: the device is not known by name
  }
}

/** The disk one of whose images job `id` holds (the block graph's job → node edges); undefined once the job is gone. */
async function byJobEdges(client: QmpClient, disks: readonly DiskChain[], id: string, timeoutMs: number): Promise<DiskChain | undefined> {
  const graph = await client.execute('x-debug-query-block-graph', undefined, { timeoutMs }).catch(() => undefined);
  const job = graph?.nodes.find((n) => n.type === 'block-job' && n.name === id);
  if (!graph || !job) return undefined;
  const held = new Set(graph.edges.filter((e) => e.parent === job.id).map((e) => graph.nodes.find((n) => n.id === e.child)?.name));
  const holding = disks.filter((d) => d.layers.some((l) => held.has(l.nodeName)));
  return holding.length === 1 ? holding[0] : undefined;
}
