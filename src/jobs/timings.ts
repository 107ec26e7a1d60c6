// A job's timings, from QEMU's own event timestamps in its state history (not from our clock).
import type { JobStateChange } from './state.js';
import type { JobTimings } from './types.js';

/** A job's timings from its history (QEMU's event timestamps) and the time READY was seen. */
export function timingsOf(history: readonly JobStateChange[], readyAt: number | undefined): JobTimings {
  const startedAt = history[0]?.at ?? Number.NaN;
  const concludedAt = history.find((c) => c.status === 'concluded')?.at;
  const timings: JobTimings = { startedAt };
  if (readyAt !== undefined) {
    timings.readyAt = readyAt;
    timings.msToReady = readyAt - startedAt;
  }
  if (concludedAt !== undefined) {
    timings.concludedAt = concludedAt;
    timings.totalMs = concludedAt - startedAt;
  }
  return timings;
}
