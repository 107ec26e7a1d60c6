/*
 * virsh blockcommit --delete: remove the images a successful commit took out of the disk's chain.
 * Deleting is the one step that cannot be undone, so it trusts nothing it read before the job: the
 * live chains are read again right before, and a file is deleted only when no chain still uses it
 * and every image the disk now runs on is still there under its name.
 */
import { JOB_KINDS, type JobNoun } from './kinds.js';
import { constants } from 'node:fs';
import { open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { findSameDisk, listDisks, type BlockQueryClient, type ChainQueryOptions } from '../block/chain.js';
import type { CommitRange, InvalidatedImages } from '../block/types.js';
import { diskContext, ImageDeletionError } from './errors.js';
import type { JobOutcome } from './types.js';

/** What deleteCommittedImages needs from a commit result. */
export interface DeletableResult {
  jobId: string;
  outcome: JobOutcome;
  invalidated: InvalidatedImages | undefined;
}

/** qcow2's magic, and where its header keeps the backing file name (offset u64 at 8, size u32 at 16). */
const QCOW2_MAGIC = 0x514649fb;

/** The backing file a qcow2 image records (resolved against its directory), or undefined. Reads the header only. */
async function qcow2Backing(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    const header = Buffer.alloc(20);
    if ((await handle.read(header, 0, 20, 0)).bytesRead < 20 || header.readUInt32BE(0) !== QCOW2_MAGIC) return undefined;
    const offset = Number(header.readBigUInt64BE(8));
    const size = header.readUInt32BE(16);
    if (!offset || !size || size > 1023) return undefined;
    const name = Buffer.alloc(size);
    await handle.read(name, 0, size, offset);
    const text = name.toString('utf8');
    return text.startsWith('json:') ? text : path.resolve(path.dirname(file), text);
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/**
 * The images next to `candidates` (in their directories) that are not candidates themselves and
 * record one of them as their backing file: deleting it would break them.
 */
async function imagesBackedBy(candidates: readonly string[]): Promise<Array<{ image: string; backing: string }>> {
  const doomed = new Set(candidates);
  const found: Array<{ image: string; backing: string }> = [];
  for (const dir of new Set(candidates.filter((f) => path.isAbsolute(f)).map((f) => path.dirname(f)))) {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const image = path.join(dir, entry.name);
      if (!entry.isFile() || doomed.has(image)) continue;
      const backing = await qcow2Backing(image);
      if (backing !== undefined && doomed.has(backing)) found.push({ image, backing });
    }
  }
  return found;
}

async function missingOnDisk(files: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const file of files) {
    // Only local paths can be checked; a protocol node (nbd://, rbd:…) is not a file of ours.
    if (!path.isAbsolute(file)) continue;
    try {
      await stat(file);
    } catch {
      missing.push(file);
    }
  }
  return missing;
}

/**
 * Deletes the images that left `range`'s chain (`result.invalidated.removedFromChain`), as virsh
 * --delete does, after an intermediate commit ("completed") or a pivot. Refuses — deleting
 * nothing — when the job ended otherwise, when any of those files is still used by a live chain
 * (read again now), or when an image the disk now runs on is no longer on disk (then the removed
 * layers may be the only copy left). Returns the deleted files, in chain order.
 */
export async function deleteCommittedImages(
  client: BlockQueryClient,
  range: Pick<CommitRange, 'disk'>,
  result: DeletableResult,
  options: ChainQueryOptions & { kind?: JobNoun } = {},
): Promise<string[]> {
  const kind = options.kind ?? JOB_KINDS.commit.noun;
  const context = { ...diskContext(range.disk), jobId: result.jobId };
  const refuse = (why: string, keep: readonly string[] = []): ImageDeletionError => new ImageDeletionError(context, why, [], keep, undefined, kind);
  if (result.outcome !== 'completed' && result.outcome !== 'pivoted') {
    throw refuse(
      result.outcome === 'overlay-kept'
        ? 'the commit ended with the overlay kept: every image is still in the chain'
        : `the ${kind} ended ${result.outcome}: only a finished ${kind} takes images out of the chain`,
    );
  }
  const candidates = result.invalidated?.removedFromChain;
  if (!candidates) throw refuse('which images left the chain is not known (the job was attached without its range)');
  if (candidates.length === 0) return [];

  const disks = await listDisks(client, options);
  const now = findSameDisk(disks, range.disk);
  if (!now) throw refuse("the disk is no longer in QEMU's block graph, so what it runs on cannot be checked", candidates);
  const missing = await missingOnDisk(now.layers.map((l) => l.file));
  if (missing.length) {
    throw refuse(
      `the disk now runs on ${missing.join(', ')}, which is no longer on disk under that name: the old layers may be the only copy of its data`,
      candidates,
    );
  }
  const removedNodes = new Set(range.disk.layers.filter((l) => candidates.includes(l.file)).map((l) => l.nodeName));
  const inUse = new Set<string>();
  for (const other of disks) {
    // A chain rooted in one of the removed nodes is what the job left behind (its nodes stay open
    // until blockdev-del), unless something uses it — then disksFromQueries lists it as a disk with users.
    const leftover = other !== now && removedNodes.has(other.layers.at(-1)?.nodeName ?? '') && !other.qdevPath && !other.driveId && !other.exports?.length;
    if (leftover) continue;
    for (const layer of other.layers) inUse.add(layer.file);
  }
  const used = candidates.filter((f) => inUse.has(f));
  if (used.length) throw refuse(`${used.join(', ')} ${used.length > 1 ? 'are' : 'is'} still in a live chain`, candidates);
  // An image QEMU no longer has open may still back onto one (the old top a shallow copy left): it would lose its data.
  const dependants = await imagesBackedBy(candidates);
  if (dependants.length) {
    throw refuse(
      dependants.map(({ image, backing }) => `${image} still uses ${backing} as its backing file`).join('; ') +
        ' — deleting would break it; delete it first if it is not wanted',
      candidates,
    );
  }

  const deleted: string[] = [];
  for (const file of candidates) {
    try {
      await unlink(file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue; // already gone: nothing to do
      throw new ImageDeletionError(
        context,
        `deleting ${file} failed (${(error as Error).message})`,
        deleted,
        candidates.filter((f) => !deleted.includes(f)),
        { cause: error },
        kind,
      );
    }
    deleted.push(file);
  }
  return deleted;
}
