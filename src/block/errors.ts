/*
 * Errors of the block layer. Every one is raised BEFORE anything is sent to QEMU, so catching one
 * means the VM was not touched. They extend QmpError, so one catch still covers the whole library:
 *
 *   QmpError
 *    └── BlockError                    something about disks, chains or images is wrong
 *         ├── DiskNotFoundError         no disk has that name (lists the known ones)
 *         ├── ImageNotInChainError      an image spec names nothing in this disk's chain (says where it is, if elsewhere)
 *         ├── InvalidCommitRangeError   top/base are the same image, base is above top, --active on a non-active top, …
 *         ├── ConflictingArgumentsError two arguments that exclude each other were given
 *         ├── ChainResolutionError      QEMU's node list does not form a chain we can follow
 *         ├── ChainChangedError         the chain changed between reading it and acting on it (another client)
 *         ├── SnapshotTargetExistsError a snapshot would overwrite an existing or open file
 *         └── InvalidSnapshotSpecError  a snapshot spec is malformed (relative path, bad node name…)
 */
import { QmpError, type QmpErrorOptions } from '../errors.js';

export class BlockError extends QmpError {
  /** The disk the error is about, when there is one. */
  readonly disk: string | undefined;
  constructor(message: string, disk?: string, options?: QmpErrorOptions) {
    super(message, options);
    this.disk = disk;
  }
}

export class DiskNotFoundError extends BlockError {
  /** The names that would have worked (one per disk: qdev id, else drive id, else node name). */
  readonly known: readonly string[];
  constructor(name: string, known: readonly string[], hint?: string) {
    const list = known.length ? known.map((k) => `'${k}'`).join(', ') : 'none';
    super(`disk '${name}' not found${hint ? ` (${hint})` : ''}; known disks: ${list}`, name);
    this.known = known;
  }
}

export class ImageNotInChainError extends BlockError {
  /** What the caller asked for (file name, node name or dev[N]). */
  readonly spec: string;
  /** The disk whose chain does hold it, when it is another disk's image. */
  readonly otherDisk: string | undefined;
  constructor(spec: string, disk: string, reason: string, otherDisk?: string) {
    super(`'${spec}' is not in the backing chain of disk '${disk}': ${reason}`, disk);
    this.spec = spec;
    this.otherDisk = otherDisk;
  }
}

export type InvalidRangeReason = 'same-image' | 'base-above-top' | 'not-active' | 'active-not-requested' | 'no-image-below';

export class InvalidCommitRangeError extends BlockError {
  readonly reason: InvalidRangeReason;
  constructor(disk: string, reason: InvalidRangeReason, message: string) {
    super(`invalid commit range on disk '${disk}': ${message}`, disk);
    this.reason = reason;
  }
}

export class ConflictingArgumentsError extends BlockError {
  /** The arguments that cannot be given together. */
  readonly arguments: readonly string[];
  constructor(args: readonly string[], message: string, disk?: string) {
    super(message, disk);
    this.arguments = args;
  }
}

export class ChainResolutionError extends BlockError {}

export class ChainChangedError extends BlockError {
  /** The chain as it was read, and as it is now (node names, base first; empty: the disk is gone). */
  readonly before: readonly string[];
  readonly now: readonly string[];
  constructor(disk: string, before: readonly string[], now: readonly string[]) {
    super(
      `the chain of disk '${disk}' changed since it was read (another client?): it was ${before.join(' ← ')}, it is ${now.length ? now.join(' ← ') : 'gone'}; nothing was started — read the chain again`,
      disk,
    );
    this.before = before;
    this.now = now;
  }
}

export class SnapshotTargetExistsError extends BlockError {
  readonly file: string;
  constructor(file: string, disk: string, why: string) {
    super(`snapshot of disk '${disk}' refused: target '${file}' ${why}`, disk);
    this.file = file;
  }
}

export class InvalidSnapshotSpecError extends BlockError {}

/** The snapshot transaction was sent and not answered; the message says what the chains show. */
export class SnapshotOutcomeUnknownError extends BlockError {
  /** The live chains could not be read either: the guest may run on the new overlays now. */
  readonly chainsUnread: boolean;
  constructor(message: string, disk?: string, options?: QmpErrorOptions, chainsUnread = false) {
    super(message, disk, options);
    this.chainsUnread = chainsUnread;
  }
}

/** The guest device's I/O limits could not be read, set or restored (say which, and what they were). */
export class IoThrottleError extends BlockError {}
