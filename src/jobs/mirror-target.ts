/*
 * A copy's (or a backup's) destination on this host: created exclusively (O_EXCL: never clobbering a file, never
 * following a link) or checked when reused, its node blockdev-add'ed, and that node removed again
 * once the copy ended without a pivot — after re-reading the live chains, so a node the guest runs
 * on is never removed.
 */
import { constants } from 'node:fs';
import { lstat, open, unlink } from 'node:fs/promises';
import { hasUser, listDisks } from '../block/chain.js';
import type { DiskChain } from '../block/types.js';
import { CommandOutcomeUnknownError, QmpCommandError } from '../errors.js';
import { executeCreating } from '../protocol/in-flight.js';
import type { QmpClient } from '../protocol/client.js';
import { createImage, imageChain, imageMap } from '../transport/qemu-img.js';
import { MirrorTargetError, type JobErrorContext } from './errors.js';
import { JOB_KINDS, type JobKind } from './kinds.js';
import type { MirrorPlan } from './mirror-options.js';

/** The words of `kind`'s refusals: a copy's as they always were, any other kind's from its row of the kinds table. */
function words(kind: JobKind, file: string): { cannot: string; left: string } {
  return kind === JOB_KINDS.copy
    ? { cannot: `cannot copy to ${file}`, left: `the file it was to copy into is left at ${file}` }
    : { cannot: `cannot start ${kind.startNoun} to ${file}`, left: `the file the ${kind.noun} was to write is left at ${file}` };
}

/** What became of the destination's node after the job: removed, still the disk's (pivoted, or in use), or already gone. */
export type TargetNodeFate = 'removed' | 'in-use' | 'gone' | 'unknown';

/**
 * Makes the destination file ready: creates it (exclusively, 0600: it will hold the guest's data)
 * and formats it with qemu-img, or checks the reused one. Returns whether it was created.
 */
export async function prepareDestination(
  plan: MirrorPlan,
  file: string,
  context: JobErrorContext,
  signal?: AbortSignal,
  kind: JobKind = JOB_KINDS.copy,
): Promise<boolean> {
  if (!plan.create) {
    await checkReused(plan, file, context);
    return false;
  }
  let made;
  try {
    const handle = await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    made = await handle.stat();
    await handle.close();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Only a copy can be told to reuse an existing file.
    const reuse = kind === JOB_KINDS.copy ? ' (give reuseExisting to copy into it)' : '';
    const why = code === 'EEXIST' ? `it exists already${reuse}` : `it cannot be created (${(error as Error).message})`;
    throw new MirrorTargetError(`${words(kind, file).cannot}: ${why}`, context, file, false, { cause: error }, code === 'EEXIST' ? 'exists' : undefined);
  }
  const { create } = plan;
  try {
    await createImage(file, {
      format: create.format,
      size: String(create.size),
      ...(create.backing ? { backing: create.backing.file, backingFormat: create.backing.format, unsafeBacking: true } : {}),
      ...(signal ? { signal } : {}),
    });
    const now = await lstat(file);
    if (!now.isFile() || now.ino !== made.ino || now.dev !== made.dev) throw new Error('the file was replaced while qemu-img wrote it');
  } catch (error) {
    // Our own file, still the one we made and holding no guest data yet: remove it; anything else stays.
    const now = await lstat(file).catch(() => undefined);
    const ours = now?.isFile() && now.ino === made.ino && now.dev === made.dev;
    if (ours) await unlink(file).catch(() => undefined);
    throw new MirrorTargetError(
      `cannot create the destination ${file}: ${(error as Error).message}${ours ? ' (the empty file we had made is removed)' : ''}`,
      context,
      file,
      false,
      { cause: error },
    );
  }
  return true;
}

async function checkReused(plan: MirrorPlan, file: string, context: JobErrorContext): Promise<void> {
  const info = await lstat(file).catch((error: unknown) => {
    throw new MirrorTargetError(`cannot reuse the destination ${file}: ${(error as Error).message}`, context, file, false, { cause: error });
  });
  if (!info.isFile() && !info.isBlockDevice()) {
    throw new MirrorTargetError(
      `cannot reuse the destination ${file}: it is ${info.isSymbolicLink() ? 'a symbolic link (name the file it points to)' : 'not a regular file or block device'}`,
      context,
      file,
      false,
    );
  }
  if (plan.blockdev.driver !== 'qcow2') return;
  const [top] = await imageChain(file, { forceShare: true }).catch((error: unknown) => {
    throw new MirrorTargetError(`cannot reuse the destination ${file}: ${(error as Error).message}`, context, file, false, { cause: error });
  });
  if (top?.format !== 'qcow2')
    throw new MirrorTargetError(`cannot reuse the destination ${file} as qcow2: it is ${top?.format ?? 'unreadable'}`, context, file, false);
  const backing = top['full-backing-filename'] ?? top['backing-filename'];
  // A full copy skips what reads as zero: a backing file in the header would show through later.
  if (!plan.backing && backing !== undefined) {
    throw new MirrorTargetError(
      `cannot reuse the destination ${file} for a full copy: it records the backing file ${backing}, which would show through where the copy wrote nothing`,
      context,
      file,
      false,
    );
  }
  if (plan.backing && backing !== plan.backing.file) {
    throw new MirrorTargetError(
      `cannot reuse the destination ${file} for a shallow copy: it records ${backing === undefined ? 'no backing file' : `the backing file ${backing}`}, not the disk's backing image ${plan.backing.file}`,
      context,
      file,
      false,
    );
  }
  if (plan.backing && !plan.allowExistingData) {
    // A shallow copy writes only what the active layer holds: anything else the destination holds
    // itself (data or zero clusters) would hide the backing image there, and the guest read it after a pivot.
    const own = (
      await imageMap(file).catch((error: unknown) => {
        throw new MirrorTargetError(`cannot reuse the destination ${file}: its allocation cannot be read (${(error as Error).message})`, context, file, false, {
          cause: error,
        });
      })
    ).filter((e) => e.depth === 0 && (e.data || e.present === true));
    const bytes = own.reduce((sum, e) => sum + e.length, 0);
    if (bytes > 0) {
      throw new MirrorTargetError(
        `cannot reuse the destination ${file} for a shallow copy: it already holds ${bytes} bytes of its own (first at offset ${own[0]!.start}), which would hide the backing image ${plan.backing.file} where the copy writes nothing and corrupt what the guest reads after a pivot; start from an empty overlay, or say it is meant (allowExistingData)`,
        context,
        file,
        false,
        undefined,
        'holds-data',
      );
    }
  }
}

/** blockdev-add of the destination's node; QEMU's refusal (permissions, size) becomes MirrorTargetError. */
export async function addTargetNode(
  client: QmpClient,
  plan: MirrorPlan,
  file: string,
  created: boolean,
  context: JobErrorContext,
  timeoutMs: number,
  signal?: AbortSignal,
  kind: JobKind = JOB_KINDS.copy,
): Promise<void> {
  const said = words(kind, file);
  try {
    await executeCreating(client, 'blockdev-add', plan.blockdev, { timeoutMs, signal });
  } catch (error) {
    if (error instanceof CommandOutcomeUnknownError) {
      // The node may have been added: re-read the graph and remove it if it is there.
      const removed = await removeTargetNode(client, plan.nodeName, timeoutMs);
      const node =
        removed.fate === 'removed' || removed.fate === 'gone'
          ? `its node ${plan.nodeName} is not in QEMU (${removed.fate})`
          : `its node ${plan.nodeName} may be left in QEMU (${removed.error ?? removed.fate}): blockdev-del it`;
      throw new MirrorTargetError(`${said.cannot}: ${error.message}; ${node}; nothing was started${created ? `; ${said.left}` : ''}`, context, file, created, {
        cause: error,
      });
    }
    if (!(error instanceof QmpCommandError)) throw error;
    throw new MirrorTargetError(
      `QEMU cannot open the destination ${file} (${error.errorClass}: ${error.desc})${created ? `; ${said.left}` : ''}`,
      context,
      file,
      created,
      { cause: error },
    );
  }
}

/**
 * Removes the destination's node unless a used disk's chain (re-read now) holds it: after a pivot
 * it is the disk. Never throws: says what became of it.
 */
export async function removeTargetNode(client: QmpClient, nodeName: string, timeoutMs: number): Promise<{ fate: TargetNodeFate; error?: string }> {
  try {
    const [disks, nodes] = await Promise.all([listDisks(client, { timeoutMs }), client.execute('query-named-block-nodes', { flat: true }, { timeoutMs })]);
    // Our node alone shows as a bare chain no one uses: only a device, drive or export makes it in use.
    if (disks.some((d: DiskChain) => hasUser(d) && d.layers.some((l) => l.nodeName === nodeName))) return { fate: 'in-use' };
    if (!nodes.some((n) => n['node-name'] === nodeName)) return { fate: 'gone' };
    await client.execute('blockdev-del', { 'node-name': nodeName }, { timeoutMs });
    return { fate: 'removed' };
  } catch (error) {
    return { fate: 'unknown', error: (error as Error).message };
  }
}
