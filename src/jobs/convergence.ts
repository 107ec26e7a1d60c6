/*
 * Whether a mirror-based job (active commit, copy) is converging: `len - offset` is what is left to
 * copy, `offset` grows by what the job copied, and the device's written bytes (query-blockstats) by
 * what the guest wrote. When what is left has not shrunk over a whole window while the guest wrote
 * (or dirtied `len` up) at least as fast as the job copied, READY may never come (KubeVirt measured minutes under heavy
 * I/O). Both are needed: a job held by --bandwidth copies in bursts and sleeps between them, and
 * QEMU's numbers stand still while it sleeps. Pure: fed samples.
 */

export interface ProgressSample {
  /** Milliseconds, any monotonic clock. */
  atMs: number;
  offset: number;
  len: number;
  /** The bytes the guest has written to the device so far. */
  written: number;
}

export interface ConvergenceVerdict {
  converging: boolean;
  /** What the guest wrote, bytes per second over the window. */
  guestBytesPerSecond: number;
  /** What the job copied, bytes per second over the window. */
  copyBytesPerSecond: number;
  remainingBytes: number;
  windowMs: number;
}

export class ConvergenceTracker {
  private samples: ProgressSample[] = [];

  constructor(readonly windowMs = 4000) {}

  /** Adds a sample; once a whole window is covered, says whether what is left shrank over it. */
  add(sample: ProgressSample): ConvergenceVerdict | undefined {
    this.samples.push(sample);
    // Keep the newest sample that is at least a window old, and everything after it.
    const cutoff = sample.atMs - this.windowMs;
    let first = 0;
    while (first + 1 < this.samples.length && (this.samples[first + 1] as ProgressSample).atMs <= cutoff) first++;
    this.samples = this.samples.slice(first);
    const oldest = this.samples[0] as ProgressSample;
    if (oldest.atMs > cutoff || oldest === sample) return undefined;
    const seconds = (sample.atMs - oldest.atMs) / 1000;
    const remaining = sample.len - sample.offset;
    // Nothing moved at all (an idle guest while the job sleeps between bursts): no evidence either way.
    if (sample.offset === oldest.offset && sample.len === oldest.len && sample.written === oldest.written) return undefined;
    // The device's counters miss writes that bypass the guest's device model (HMP qemu-io), which
    // still dirty the job's bitmap and grow len: either shows the guest writing.
    const guestBytesPerSecond = Math.max(sample.written - oldest.written, sample.len - oldest.len) / seconds;
    const copyBytesPerSecond = (sample.offset - oldest.offset) / seconds;
    const shrank = remaining < oldest.len - oldest.offset;
    return {
      converging: shrank || guestBytesPerSecond === 0 || guestBytesPerSecond < copyBytesPerSecond,
      guestBytesPerSecond,
      copyBytesPerSecond,
      remainingBytes: remaining,
      windowMs: sample.atMs - oldest.atMs,
    };
  }
}
