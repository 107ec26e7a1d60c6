/*
 * The convergence guard of a mirror-based job: samples its progress until READY, says once when
 * it is not converging (with the measured rates), and if asked limits the guest's writes until
 * stop() — which puts the device's previous limits back exactly, whatever way the job ended.
 */
import type { DiskChain } from '../block/types.js';
import { guestWrittenBytes, readIoLimits, setIoLimits, withWriteLimit } from '../block/guest-io.js';
import type { QmpClient } from '../protocol/client.js';
import type { BlockIoThrottle } from '../qapi/types.js';
import { ConvergenceTracker, type ConvergenceVerdict } from './convergence.js';
import type { BlockJob } from './core.js';
import type { JobResult } from './types.js';
import { setLongTimeout, type LongTimer } from '../util/timers.js';

/** What the guard reads of a job (any job type: its result type does not matter here). */
export type GuardedJob = Pick<BlockJob<JobResult>, 'readProgress' | 'isReady' | 'status'>;

export interface ConvergenceGuardOptions {
  /** How long what is left must fail to shrink before the job counts as not converging. Default 4 s. */
  windowMs?: number;
  /** How often progress is sampled. Default 500 ms. */
  intervalMs?: number;
  /** Once not converging, hold the guest's writes to this many bytes/s until stop(). */
  throttleBytesPerSecond?: number;
  /** Called once, the first time a window shows no convergence. */
  onNotConverging?: (verdict: ConvergenceVerdict) => void;
  /** Called when the guest's limit was applied, with the limits it replaced. */
  onThrottled?: (previous: BlockIoThrottle) => void;
  /** Called when sampling or applying the limit failed (the job goes on regardless). */
  onTrouble?: (error: Error) => void;
  commandTimeoutMs?: number;
}

export interface ConvergenceReport {
  /** The first window that showed no convergence, if any. */
  notConverging?: ConvergenceVerdict;
  /** How long the guest's writes were limited, and the limits put back after. */
  throttle?: { bytesPerSecond: number; milliseconds: number; restored: BlockIoThrottle };
}

export class ConvergenceGuard {
  private readonly tracker: ConvergenceTracker;
  private timer: LongTimer | undefined;
  private tick: Promise<void> = Promise.resolve();
  private stopped = false;
  private notConverging: ConvergenceVerdict | undefined;
  private previous: BlockIoThrottle | undefined;
  private throttledAt: number | undefined;

  private constructor(
    private readonly client: QmpClient,
    private readonly job: GuardedJob,
    private readonly disk: DiskChain,
    private readonly options: ConvergenceGuardOptions,
  ) {
    this.tracker = new ConvergenceTracker(options.windowMs ?? 4000);
  }

  static start(client: QmpClient, job: GuardedJob, disk: DiskChain, options: ConvergenceGuardOptions = {}): ConvergenceGuard {
    const guard = new ConvergenceGuard(client, job, disk, options);
    // The first sample after one interval: a job that is READY before then never needed watching.
    guard.schedule(options.intervalMs ?? 500);
    return guard;
  }

  /** Stops sampling and restores the guest's previous limits if they were changed. */
  async stop(): Promise<ConvergenceReport> {
    this.stopped = true;
    this.timer?.clear();
    await this.tick;
    const report: ConvergenceReport = this.notConverging ? { notConverging: this.notConverging } : {};
    if (this.previous && this.throttledAt !== undefined) {
      const restored = this.previous;
      this.previous = undefined;
      await setIoLimits(this.client, this.disk, restored, this.timeout());
      report.throttle = { bytesPerSecond: this.options.throttleBytesPerSecond ?? 0, milliseconds: performance.now() - this.throttledAt, restored };
    }
    return report;
  }

  private timeout(): { timeoutMs?: number } {
    return this.options.commandTimeoutMs !== undefined ? { timeoutMs: this.options.commandTimeoutMs } : {};
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setLongTimeout(
      () => {
        this.tick = this.sample().finally(() => this.schedule(this.options.intervalMs ?? 500));
      },
      Math.max(1, delayMs),
    );
  }

  private async sample(): Promise<void> {
    if (this.stopped || this.job.isReady) {
      // READY: what was left is copied; the limit (if any) stays until stop(), so the pivot is quick too.
      this.stopped = true;
      return;
    }
    try {
      const timeoutMs = this.options.commandTimeoutMs ?? 5000;
      const [progress, written] = await Promise.all([this.job.readProgress({ timeoutMs }), guestWrittenBytes(this.client, this.disk, { timeoutMs })]);
      const verdict = this.tracker.add({ atMs: performance.now(), offset: progress.offset, len: progress.len, written });
      if (!verdict || verdict.converging || this.notConverging) return;
      this.notConverging = verdict;
      this.options.onNotConverging?.(verdict);
      const limit = this.options.throttleBytesPerSecond;
      if (limit === undefined || this.stopped) return;
      const previous = await readIoLimits(this.client, this.disk, this.timeout());
      // Remember what to restore before changing anything, so stop() can always put it back.
      this.previous = previous;
      this.throttledAt = performance.now();
      await setIoLimits(this.client, this.disk, withWriteLimit(previous, limit), this.timeout());
      this.options.onThrottled?.(previous);
    } catch (error) {
      // The job may just have ended between two samples; its own events decide what happens next.
      if (!this.job.isReady && this.job.status !== 'concluded' && this.job.status !== 'null') this.options.onTrouble?.(error as Error);
    }
  }
}
