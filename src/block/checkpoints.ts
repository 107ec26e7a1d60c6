/*
 * Checkpoints (virsh checkpoint-create / -list / -delete): a checkpoint is one persistent dirty
 * bitmap of the same name on each disk's active layer, all added in one transaction, so every disk's
 * bitmap starts at the same instant. Snapshots and jobs carry them along (bitmaps.ts); an
 * incremental backup since a checkpoint reads the union of its bitmaps down the chain.
 */
import type { TransactionAction } from '../qapi/types.js';
import { QmpCommandError } from '../errors.js';
import { readBitmaps, type DirtyBitmap } from './bitmaps.js';
import { diskLabel, findDisk, hasUser, listDisks, type BlockQueryClient, type ChainQueryOptions } from './chain.js';
import { BlockError, ConflictingArgumentsError } from './errors.js';
import type { DiskChain } from './types.js';

export class CheckpointError extends BlockError {}

export interface CheckpointOptions extends ChainQueryOptions {
  /** The disks, as the block layer resolves them; default every disk a device, drive or export uses. */
  disks?: readonly string[] | undefined;
  /** Runs right before the transaction is sent (a guest freeze). */
  beforeTransaction?: (() => Promise<void>) | undefined;
}

/** One disk's images with the bitmaps each holds, base first. */
export interface DiskCheckpoints {
  disk: string;
  layers: Array<{ index: number; file: string; node: string; bitmaps: DirtyBitmap[] }>;
}

/** QEMU's bitmap names are free text up to 1023 bytes; we keep to names a shell and a file system take as they are. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

function chosenDisks(all: readonly DiskChain[], names: readonly string[] | undefined): DiskChain[] {
  if (names?.length) return names.map((n) => findDisk(all, n));
  return all.filter((d) => hasUser(d));
}

/** Bitmaps per layer, oldest first (QEMU lists a node's bitmaps newest first). */
function layersWithBitmaps(disk: DiskChain, bitmaps: ReadonlyMap<string, readonly DirtyBitmap[]>): DiskCheckpoints {
  return {
    disk: diskLabel(disk),
    layers: disk.layers.map((l) => ({ index: l.index, file: l.file, node: l.nodeName, bitmaps: [...(bitmaps.get(l.nodeName) ?? [])].reverse() })),
  };
}

/** Every disk's (or the named ones') layers and the named bitmaps in each. */
export async function listCheckpoints(client: BlockQueryClient, options: Omit<CheckpointOptions, 'beforeTransaction'> = {}): Promise<DiskCheckpoints[]> {
  const query = { signal: options.signal, timeoutMs: options.timeoutMs };
  const [disks, bitmaps] = [await listDisks(client, query), await readBitmaps(client, query)];
  return chosenDisks(disks, options.disks).map((d) => layersWithBitmaps(d, bitmaps));
}

/**
 * Adds the persistent bitmap `name` to the active layer of every chosen disk, in one transaction.
 * Refused before sending when the name is malformed or a bitmap of that name exists in a chosen chain.
 */
export async function createCheckpoint(client: BlockQueryClient, name: string, options: CheckpointOptions = {}): Promise<DiskCheckpoints[]> {
  if (!NAME.test(name))
    throw new CheckpointError(`checkpoint name '${name}' must start with a letter or digit and hold only letters, digits, '_', '.', ':', '-' (at most 128)`);
  const query = { signal: options.signal, timeoutMs: options.timeoutMs };
  const disks = chosenDisks(await listDisks(client, query), options.disks);
  if (disks.length === 0) throw new CheckpointError('no disk to checkpoint: no device, drive or export uses a disk');
  const bitmaps = await readBitmaps(client, query);
  const twice = disks.find((d, i) => disks.findIndex((e) => e.device === d.device) !== i);
  if (twice) throw new ConflictingArgumentsError(['disks'], `disk '${diskLabel(twice)}' is named twice`, diskLabel(twice));
  for (const disk of disks) {
    const holder = disk.layers.find((l) => bitmaps.get(l.nodeName)?.some((b) => b.name === name));
    if (holder)
      throw new CheckpointError(`checkpoint '${name}' exists already on disk '${diskLabel(disk)}' (a bitmap of that name in ${holder.file})`, diskLabel(disk));
  }
  const actions: TransactionAction[] = disks.map((d) => ({
    type: 'block-dirty-bitmap-add',
    data: { node: d.layers.at(-1)!.nodeName, name, persistent: true },
  }));
  await options.beforeTransaction?.();
  try {
    await client.execute('transaction', { actions }, query);
  } catch (error) {
    if (!(error instanceof QmpCommandError)) throw error;
    throw new CheckpointError(
      `cannot create checkpoint '${name}' on ${disks.map((d) => diskLabel(d)).join(', ')}: ${error.message}; no disk got it (one transaction)`,
      diskLabel(disks[0]!),
      { cause: error },
    );
  }
  const after = await readBitmaps(client, { timeoutMs: options.timeoutMs });
  return disks.map((d) => layersWithBitmaps(d, after));
}

/**
 * Deletes checkpoint `name` on every chosen disk that has it, as libvirt does: where a layer also
 * holds the checkpoint made before it, `name`'s dirty bits are merged into that one first, so the
 * older checkpoint still covers them; then the bitmap is removed — one transaction for all disks.
 * A bitmap of that name in a read-only backing image cannot be removed there: refused, naming it.
 */
export async function deleteCheckpoint(
  client: BlockQueryClient,
  name: string,
  options: Omit<CheckpointOptions, 'beforeTransaction'> = {},
): Promise<Array<{ disk: string; removedFrom: string[]; mergedInto: string | undefined }>> {
  const query = { signal: options.signal, timeoutMs: options.timeoutMs };
  const disks = chosenDisks(await listDisks(client, query), options.disks);
  const bitmaps = await readBitmaps(client, query);
  const nodes = await client.execute('query-named-block-nodes', { flat: true }, query);
  const readOnly = new Set(nodes.filter((n) => n.ro).flatMap((n) => n['node-name'] ?? []));
  const actions: TransactionAction[] = [];
  const done: Array<{ disk: string; removedFrom: string[]; mergedInto: string | undefined }> = [];
  for (const disk of disks) {
    const holders = disk.layers.filter((l) => bitmaps.get(l.nodeName)?.some((b) => b.name === name));
    if (!holders.length) continue;
    const stuck = holders.find((l) => readOnly.has(l.nodeName));
    if (stuck)
      throw new CheckpointError(
        `checkpoint '${name}' of disk '${diskLabel(disk)}' lives also in ${stuck.file}, a read-only backing image QEMU cannot remove it from: commit that image first (its bitmaps move into the image that stays)`,
        diskLabel(disk),
      );
    // The checkpoint made before `name`: the bitmap just older than it on the active layer (oldest first there).
    const active = [...(bitmaps.get(disk.layers.at(-1)!.nodeName) ?? [])].reverse().filter((b) => b.persistent);
    const at = active.findIndex((b) => b.name === name);
    const previous = at > 0 ? active[at - 1]?.name : undefined;
    for (const layer of holders) {
      if (previous !== undefined && bitmaps.get(layer.nodeName)?.some((b) => b.name === previous)) {
        actions.push({ type: 'block-dirty-bitmap-merge', data: { node: layer.nodeName, target: previous, bitmaps: [name] } });
      }
      actions.push({ type: 'block-dirty-bitmap-remove', data: { node: layer.nodeName, name } });
    }
    done.push({ disk: diskLabel(disk), removedFrom: holders.map((l) => l.file), mergedInto: previous });
  }
  if (!done.length) throw new CheckpointError(`no checkpoint '${name}' on ${options.disks?.length ? options.disks.join(', ') : 'any disk'}`);
  await client.execute('transaction', { actions }, query);
  return done;
}
