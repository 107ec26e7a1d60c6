/*
 * A write to a peer that has gone (a share client that left, a virsh child that died, a reader of
 * stdout that closed) fails with EPIPE, and the kernel raises SIGPIPE for it as well. The CLI treats
 * a SIGPIPE sent to it as a request to stop (src/cli/run.ts), so it must tell those apart: each of
 * our writes that fails with EPIPE is noted here, and a SIGPIPE that comes with one is ours.
 */
let lastAt = Number.NEGATIVE_INFINITY;

/** Notes that one of our own writes failed with EPIPE (call it from the error handler). */
export function noteOwnEpipe(error?: unknown): void {
  if (error === undefined || (error as NodeJS.ErrnoException | null)?.code === 'EPIPE') lastAt = performance.now();
}

/** Whether one of our writes failed with EPIPE within the last `withinMs`. */
export function ownEpipeWithin(withinMs: number): boolean {
  return performance.now() - lastAt <= withinMs;
}
