/*
 * A job's persistent bitmaps (src/block/bitmaps.ts): checked when the job starts, so a bitmap QEMU
 * cannot use is refused by name before anything runs, and carried into the image that stays at the
 * job's last moment — before the pivot while in sync, or at PENDING while the leaving images are
 * still in the graph — as libvirt's qemuBlockBitmapsHandleCommitFinish / …HandleBlockcopy do.
 */
import { carryBitmaps, checkBitmapMoves, describeBitmapMoves, type BitmapHolder, type BitmapMove } from '../block/bitmaps.js';
import type { BlockQueryClient } from '../block/chain.js';
import type { JobResult } from './types.js';

export class JobBitmaps {
  /** What was carried, once it was. */
  moved: BitmapMove[] | undefined;
  /** Why carrying failed at PENDING (the job itself was finalized all the same: its data comes first). */
  error: Error | undefined;

  constructor(
    private readonly client: BlockQueryClient,
    private readonly sources: readonly BitmapHolder[],
    private readonly target: BitmapHolder,
    private readonly disk: string,
    private readonly timeoutMs: number,
  ) {}

  /** The moves as the bitmaps stand now; throws BitmapNotUsableError naming an unusable one. */
  check(): Promise<BitmapMove[]> {
    return checkBitmapMoves(this.client, this.sources, this.target, { disk: this.disk, timeoutMs: this.timeoutMs });
  }

  /** Carries them now; a failure is thrown (before a pivot: the job stays in sync, nothing else changed). */
  async carry(): Promise<void> {
    this.moved = await carryBitmaps(this.client, this.sources, this.target, { disk: this.disk, timeoutMs: this.timeoutMs });
  }

  /** Carries them now and keeps a failure for the result instead of throwing (at PENDING). */
  async carryKeepingError(): Promise<void> {
    try {
      await this.carry();
    } catch (error) {
      this.error = error instanceof Error ? error : new Error(String(error));
    }
  }

  /** For the job's result: what moved, or why not. */
  report(): Pick<JobResult, 'bitmaps'> {
    if (this.error)
      return {
        bitmaps: { moved: [], error: `the bitmaps of the images that left the chain were not carried into ${this.target.file}: ${this.error.message}` },
      };
    return this.moved?.length ? { bitmaps: { moved: describeBitmapMoves(this.moved) } } : {};
  }
}
