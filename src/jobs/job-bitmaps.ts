/*
 * A job's persistent bitmaps (src/block/bitmaps.ts): checked when the job starts, so a bitmap QEMU
 * cannot use is refused by name before anything runs, and carried into the image that stays at the
 * job's last moment — before the pivot while in sync, or at PENDING while the leaving images are
 * still in the graph — as libvirt's qemuBlockBitmapsHandleCommitFinish / …HandleBlockcopy do. A job
 * attached by id (started by another process) carries them at its pivot too, read from the graph.
 */
import { carryBitmaps, checkBitmapMoves, describeBitmapMoves, runningJobBitmapHolders, type BitmapHolder, type BitmapMove } from '../block/bitmaps.js';
import type { BlockQueryClient } from '../block/chain.js';
import type { JobResult } from './types.js';

type Holders = { sources: readonly BitmapHolder[]; target: BitmapHolder };

export class JobBitmaps {
  /** What was carried, once it was. */
  moved: BitmapMove[] | undefined;
  /** Why carrying failed at PENDING (the job itself was finalized all the same: its data comes first). */
  error: Error | undefined;

  /** Where they come from and go; for a job attached by id, read from the graph at first use. */
  private holders: Holders | (() => Promise<Holders | undefined>) | undefined;

  constructor(
    private readonly client: BlockQueryClient,
    sources: readonly BitmapHolder[],
    target: BitmapHolder,
    private readonly disk: string,
    private readonly timeoutMs: number,
  ) {
    this.holders = { sources, target };
  }

  /**
   * The bitmaps of a running active commit or copy that someone else started (attached by id): its
   * source images and target are read from the block graph when its pivot comes, so that pivot
   * carries them as the started job's does.
   */
  static ofRunningJob(client: BlockQueryClient, jobId: string, disk: string, timeoutMs: number): JobBitmaps {
    const bitmaps = new JobBitmaps(client, [], { nodeName: '', file: '' }, disk, timeoutMs);
    bitmaps.holders = () => runningJobBitmapHolders(client, jobId, { timeoutMs });
    return bitmaps;
  }

  private async resolved(): Promise<Holders | undefined> {
    if (typeof this.holders === 'function') this.holders = await this.holders();
    return this.holders;
  }

  /** The moves as the bitmaps stand now; throws BitmapNotUsableError naming an unusable one. */
  async check(): Promise<BitmapMove[]> {
    const holders = await this.resolved();
    return holders ? checkBitmapMoves(this.client, holders.sources, holders.target, { disk: this.disk, timeoutMs: this.timeoutMs }) : [];
  }

  /** Carries them now; a failure is thrown (before a pivot: the job stays in sync, nothing else changed). */
  async carry(): Promise<void> {
    const holders = await this.resolved();
    this.moved = holders ? await carryBitmaps(this.client, holders.sources, holders.target, { disk: this.disk, timeoutMs: this.timeoutMs }) : [];
  }

  /** Carries them now and keeps a failure for the result instead of throwing (at PENDING). */
  async carryKeepingError(): Promise<void> {
    try {
      await this.carry();
    } catch (error) {
      this.error = error instanceof Error ? error : new Error(String(error));
    }
  }

  private get targetFile(): string {
    return typeof this.holders === 'object' ? this.holders.target.file : 'the image that stays';
  }

  /** For the job's result: what moved, or why not. */
  report(): Pick<JobResult, 'bitmaps'> {
    if (this.error)
      return {
        bitmaps: {
          moved: [],
          error: `the bitmaps of the images that left the chain were not carried into ${this.targetFile}: ${this.error.message}`,
        },
      };
    return this.moved?.length ? { bitmaps: { moved: describeBitmapMoves(this.moved) } } : {};
  }
}
