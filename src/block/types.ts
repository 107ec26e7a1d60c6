/*
 * The shared vocabulary of the block layer (src/block: chains, addressing, snapshots) and the job
 * layer (src/jobs: commit, state machine). Both build on these types; the CLI renders them.
 */

/** One image of a live backing chain, as QEMU has it open now. */
export interface ChainLayer {
  /**
   * The image's name in `DISK[N]`: by default its position, 1 = the bottom image (base), rising to
   * the active layer. A transport may rename it (libvirt numbers a chain it found at start from the
   * top, 1 = active, and gives each later snapshot the next free number). It is a name only: the
   * order of a chain is always the order of `DiskChain.layers`, never the order of these numbers.
   */
  index: number;
  /** The format node's name (explicit with -blockdev, "#blockNNN" with -drive). */
  nodeName: string;
  /** The image file name as QEMU reports it (`image.filename`, or `file` for non-file protocols). */
  file: string;
  /** Format driver: qcow2, raw, … */
  format: string;
  /** The backing file string recorded in this image (as written, may be relative); undefined for the base. */
  backingFile?: string;
  /** Virtual size in bytes. */
  virtualSize: number;
}

/** A guest disk and its live chain. */
export interface DiskChain {
  /**
   * The name to pass as `device` to block-commit/blockdev-snapshot-sync: the -drive id when there is
   * one, else the active layer's node name (QEMU accepts a node name there; a qdev id it does not).
   */
  device: string;
  /** -drive id (query-block `device`), empty for -blockdev disks. */
  driveId?: string | undefined;
  /** Guest device id (e.g. "vda" from /machine/peripheral/vda/virtio-backend), when a device is attached. */
  qdevId?: string | undefined;
  /** Full QOM path of the guest device, when attached. */
  qdevPath?: string | undefined;
  /** The guest's name for the disk when a manager gives one (libvirt's target, e.g. "vda"). */
  target?: string | undefined;
  /** Ids of the block exports (NBD, vhost-user-blk, FUSE: query-block-exports) that serve this chain. */
  exports?: string[] | undefined;
  /** The name the caller looked the disk up by (findDisk), so messages say what the user typed. */
  requestedAs?: string | undefined;
  /** Layers, base first (layers[0] is the bottom image, the last one is the active layer). */
  layers: ChainLayer[];
}

/** What `block-commit` is asked to merge, resolved against a DiskChain before anything is sent. */
export interface CommitRange {
  disk: DiskChain;
  /** The image merged down from (inclusive). Active layer ⇒ active commit. */
  top: ChainLayer;
  /** The image merged into. */
  base: ChainLayer;
  /** True when top is the active layer (the job will reach READY and needs complete/cancel). */
  active: boolean;
}

/** Which images a finished commit left invalid on their own (Eric Blake's note in the seed). */
export interface InvalidatedImages {
  /** Files that are no longer valid in isolation: the intermediates, plus the old top after a pivot. */
  files: string[];
  /** Files that stay valid: the base, and the top after an intermediate commit or a cancel after READY. */
  stillValid: string[];
  /** Files QEMU no longer uses for this disk after the job (the old top and intermediates); optional, added by the job layer. */
  removedFromChain?: string[];
}

/** What `block-stream` is asked to pull into the active layer, resolved before anything is sent. */
export interface PullRange {
  disk: DiskChain;
  /** The image that stays as the active layer's backing; undefined: the active layer becomes standalone. */
  base: ChainLayer | undefined;
  /** The images whose data the pull copies into the active layer (between base and the active layer). */
  pulled: ChainLayer[];
}
