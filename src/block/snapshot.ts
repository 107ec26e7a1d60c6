/*
 * Live external snapshots: a new qcow2 overlay on top of each disk's active layer, for several disks
 * in one `transaction` of `blockdev-snapshot-sync` actions, so either every disk gets its overlay or
 * none does (virsh snapshot-create-as --disk-only --atomic).
 */
import { randomBytes } from 'node:crypto';
import { access, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { BlockdevSnapshotSyncArguments, TransactionAction } from '../qapi/types.js';
import { diskLabel, findDisk, hasUser, listDisks, type BlockQueryClient, type ChainQueryOptions } from './chain.js';
import { CommandOutcomeUnknownError } from '../errors.js';
import { executeCreating } from '../protocol/in-flight.js';
import { ChainResolutionError, ConflictingArgumentsError, SnapshotOutcomeUnknownError, InvalidSnapshotSpecError, SnapshotTargetExistsError } from './errors.js';
import type { DiskChain } from './types.js';
import { readBitmaps, snapshotBitmapActions } from './bitmaps.js';

export interface SnapshotSpec {
  /** The disk, as resolveDisk takes it (qdev id, QOM path, drive id or active node name). */
  disk: string;
  /** Absolute path of the new overlay; QEMU creates it, so it must not exist yet. */
  file: string;
  /** Node name for the new overlay. Default: a generated "snap-…" name. */
  nodeName?: string | undefined;
}

/** Where the overlay files live, to refuse overwriting one and to remove what a failed transaction left. */
export interface TargetFiles {
  exists(file: string): Promise<boolean>;
  remove(file: string): Promise<void>;
}

/** The files are on this host (QEMU over a local socket). */
export const localTargetFiles: TargetFiles = {
  async exists(file) {
    try {
      await access(file);
      return true;
    } catch {
      return false;
    }
  },
  remove: (file) => unlink(file),
};

export interface SnapshotOptions extends ChainQueryOptions {
  /**
   * How to see the target files. Default: this host's file system. `null` when QEMU runs on another
   * host (then only files QEMU has open are refused, and nothing is cleaned up after a failure).
   */
  files?: TargetFiles | null | undefined;
  /** Runs after every check passed, right before the transaction is sent (the guest-agent freeze of a quiesced snapshot). */
  beforeTransaction?: (() => Promise<void>) | undefined;
}

/** QEMU's rule for ids and node names (id_wellformed), and its 31-character limit. */
const NODE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,30}$/;

interface PlannedSnapshot {
  spec: SnapshotSpec;
  disk: DiskChain;
  nodeName: string;
}

/** What a spec is checked for without QEMU (a caller may check it before connecting): an absolute target path. */
export function checkSnapshotSpec(spec: SnapshotSpec, label = spec.disk): void {
  if (!path.posix.isAbsolute(spec.file)) {
    throw new InvalidSnapshotSpecError(
      `snapshot of disk '${label}': target '${spec.file}' must be an absolute path (QEMU would resolve it against its own working directory)`,
      label,
    );
  }
}

function plan(specs: readonly SnapshotSpec[], disks: readonly DiskChain[]): PlannedSnapshot[] {
  if (specs.length === 0) throw new InvalidSnapshotSpecError('no snapshot requested: give at least one { disk, file }');
  const openFiles = new Map<string, string>();
  const usedNames = new Set<string>();
  for (const disk of disks) {
    for (const layer of disk.layers) {
      openFiles.set(layer.file, diskLabel(disk));
      usedNames.add(layer.nodeName);
    }
  }
  const planned: PlannedSnapshot[] = [];
  for (const spec of specs) {
    const disk = findDisk(disks, spec.disk);
    const label = diskLabel(disk);
    checkSnapshotSpec(spec, label);
    if (!hasUser(disk)) {
      // Measured on QEMU 7.2: the transaction succeeds and creates the file, but the new node has no
      // parent to hold it and is dropped at once; the chain is unchanged.
      throw new InvalidSnapshotSpecError(
        `snapshot of disk '${label}' refused: it is a bare -blockdev chain that no device, drive or export uses, so QEMU would create '${spec.file}' and drop the new overlay at once`,
        label,
      );
    }
    const twin = planned.find((p) => p.disk.device === disk.device);
    if (twin) {
      throw new ConflictingArgumentsError(
        ['disk'],
        `disk '${label}' is named twice ('${twin.spec.disk}' and '${spec.disk}'): one snapshot per disk per transaction`,
        label,
      );
    }
    const sameFile = planned.find((p) => p.spec.file === spec.file);
    if (sameFile) {
      throw new ConflictingArgumentsError(['file'], `disks '${diskLabel(sameFile.disk)}' and '${label}' both target '${spec.file}'`, label);
    }
    const holder = openFiles.get(spec.file);
    if (holder !== undefined) throw new SnapshotTargetExistsError(spec.file, label, `is already an image of disk '${holder}'`);
    let nodeName = spec.nodeName;
    if (nodeName !== undefined) {
      if (!NODE_NAME.test(nodeName)) {
        throw new InvalidSnapshotSpecError(
          `snapshot of disk '${label}': node name '${nodeName}' must start with a letter, hold only letters, digits, '-', '_', '.', and be at most 31 characters`,
          label,
        );
      }
      if (usedNames.has(nodeName) || planned.some((p) => p.nodeName === nodeName)) {
        throw new ConflictingArgumentsError(['nodeName'], `snapshot of disk '${label}': node name '${nodeName}' is already in use`, label);
      }
    } else {
      do nodeName = `snap-${randomBytes(4).toString('hex')}`;
      while (usedNames.has(nodeName) || planned.some((p) => p.nodeName === nodeName));
    }
    planned.push({ spec, disk, nodeName });
  }
  return planned;
}

function action({ spec, disk, nodeName }: PlannedSnapshot): TransactionAction {
  const data: BlockdevSnapshotSyncArguments = { 'snapshot-file': spec.file, 'snapshot-node-name': nodeName, format: 'qcow2', mode: 'absolute-paths' };
  // A -drive id reaches the disk's root; a bare -blockdev chain has only node names, and QEMU's
  // `device` argument does not accept those.
  if (disk.driveId) data.device = disk.driveId;
  else data['node-name'] = disk.device;
  return { type: 'blockdev-snapshot-sync', data };
}

/**
 * Puts a new qcow2 overlay on top of the active layer of every disk in `specs`, atomically, and
 * returns the new chains in the order of `specs`. Refuses before sending anything when a target
 * exists or is open, a disk is named twice, or a spec is malformed. When QEMU refuses the
 * transaction no disk changes, and overlay files QEMU created before refusing are removed again.
 */
export async function createSnapshots(client: BlockQueryClient, specs: readonly SnapshotSpec[], options: SnapshotOptions = {}): Promise<DiskChain[]> {
  const files = options.files === undefined ? localTargetFiles : options.files;
  const queryOptions = { signal: options.signal, timeoutMs: options.timeoutMs };
  const planned = plan(specs, await listDisks(client, queryOptions));
  if (files) {
    for (const p of planned) {
      if (await files.exists(p.spec.file)) throw new SnapshotTargetExistsError(p.spec.file, diskLabel(p.disk), 'already exists; QEMU would overwrite it');
    }
  }

  // Each recording persistent bitmap of an old top goes on in its new overlay, in the same transaction (as libvirt does).
  const bitmaps = await readBitmaps(client, queryOptions);
  const actions = [
    ...planned.map(action),
    ...planned.flatMap((p) => (p.disk.layers.at(-1) ? snapshotBitmapActions(p.disk.layers.at(-1)!, p.nodeName, bitmaps) : [])),
  ];

  await options.beforeTransaction?.();
  try {
    // Once sent, never given up on: a Ctrl-C now must not call a live overlay "aborted".
    await executeCreating(client, 'transaction', { actions }, queryOptions);
  } catch (error) {
    if (error instanceof CommandOutcomeUnknownError) return afterUnknownOutcome(client, files, planned, error, options.timeoutMs);
    if (files) await removeLeftovers(client, files, planned, { timeoutMs: options.timeoutMs });
    throw error;
  }
  return readBack(planned, await listDisks(client, { timeoutMs: options.timeoutMs }));
}

/**
 * The transaction's reply never came: the live chains say whether it ran (it is atomic: every
 * overlay or none). Taken: returned as if the reply had come. Not taken: leftovers removed, an
 * error. Unknown: an error that says which files may be the guest's live images now.
 */
async function afterUnknownOutcome(
  client: BlockQueryClient,
  files: TargetFiles | null,
  planned: readonly PlannedSnapshot[],
  error: CommandOutcomeUnknownError,
  timeoutMs: number | undefined,
): Promise<DiskChain[]> {
  const disks = await listDisks(client, { timeoutMs }).catch(() => undefined);
  const targets = planned.map((p) => p.spec.file).join(', ');
  if (!disks) {
    throw new SnapshotOutcomeUnknownError(
      `${error.message}, and the chains cannot be read now: the guest may already run on ${targets} — do not delete ${planned.length > 1 ? 'them' : 'it'}`,
      diskLabel(planned[0]!.disk),
      { cause: error },
      true,
    );
  }
  const taken = planned.filter((p) => disks.some((d) => d.layers.at(-1)?.nodeName === p.nodeName));
  if (taken.length) return readBack(planned, disks);
  if (files) await removeLeftovers(client, files, planned, { timeoutMs });
  throw new SnapshotOutcomeUnknownError(
    `${error.message}; the live chains show it did not: no disk runs on ${targets}, every disk is unchanged`,
    diskLabel(planned[0]!.disk),
    { cause: error },
  );
}

/** Each planned overlay's new chain, in the order of the specs. */
function readBack(planned: readonly PlannedSnapshot[], after: readonly DiskChain[]): DiskChain[] {
  return planned.map((p) => {
    const chain = after.find((d) => d.layers[d.layers.length - 1]?.nodeName === p.nodeName);
    if (!chain || chain.layers[chain.layers.length - 1]?.file !== p.spec.file) {
      throw new ChainResolutionError(
        `snapshot of disk '${diskLabel(p.disk)}' was accepted, but no disk has '${p.spec.file}' (${p.nodeName}) as its active layer now`,
        diskLabel(p.disk),
      );
    }
    return chain;
  });
}

/** QEMU creates each overlay while preparing the transaction and leaves the files behind when a later action fails. */
async function removeLeftovers(client: BlockQueryClient, files: TargetFiles, planned: readonly PlannedSnapshot[], options: ChainQueryOptions): Promise<void> {
  let open: Set<string>;
  try {
    open = new Set((await listDisks(client, options)).flatMap((d) => d.layers.map((l) => l.file)));
  } catch {
    return; // Cannot tell what QEMU holds: leave the files rather than risk removing a live image.
  }
  for (const p of planned) {
    if (open.has(p.spec.file)) continue;
    try {
      if (await files.exists(p.spec.file)) await files.remove(p.spec.file);
    } catch {
      // Best effort: the caller gets QEMU's error, which matters more than a leftover file.
    }
  }
}
