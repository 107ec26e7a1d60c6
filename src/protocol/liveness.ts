import { MonitorUnresponsiveError, QmpCommandError, QmpTimeoutError } from '../errors.js';
import { setLongTimeout } from '../util/timers.js';

export interface LivenessOptions {
  /** How long a probe may go unanswered. Default: the client's command timeout (30 s). */
  timeoutMs?: number | undefined;
  /** Pause between an answer and the next probe. Default: half the timeout, at most 5 s. */
  intervalMs?: number | undefined;
  /** Stops watching (the promise then resolves). */
  signal?: AbortSignal | undefined;
}

/**
 * Probes the monitor with `query-status` (cheap, answered even while a job runs) one at a time and
 * rejects with MonitorUnresponsiveError when a probe goes unanswered for `timeoutMs`. Resolves when
 * the signal fires or the connection closes (whoever waits on the connection learns why from its
 * own error, which says more than "closed"). Race it against a long wait for events:
 * `Promise.race([job.waitUntilReady(), client.watchLiveness({ signal })])`.
 */
/** What the watch needs of a connection: a probe, its default timeout, and when it closes. */
export interface LivenessTarget {
  readonly peer: string;
  readonly commandTimeoutMs: number;
  /** Sends `query-status`; settles with QEMU's answer (an error reply counts as one). */
  probe(timeoutMs: number, signal: AbortSignal | undefined): Promise<unknown>;
  closed(): Promise<void>;
}

export async function watchLiveness(target: LivenessTarget, options: LivenessOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? target.commandTimeoutMs;
  const intervalMs = options.intervalMs ?? Math.min(5000, timeoutMs / 2);
  // One controller for the whole watch: aborted by the caller's signal or the connection's close.
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop.abort();
  void target.closed().then(onAbort);
  try {
    while (!stop.signal.aborted && Number.isFinite(timeoutMs)) {
      try {
        await target.probe(timeoutMs, options.signal);
      } catch (error) {
        if (error instanceof QmpTimeoutError) throw new MonitorUnresponsiveError(target.peer, timeoutMs, { cause: error });
        // An error reply is an answer too; anything else (aborted, closed) ends the watch.
        if (!(error instanceof QmpCommandError)) return;
      }
      await pause(intervalMs, stop.signal);
    }
    if (!Number.isFinite(timeoutMs)) await pause(Infinity, stop.signal);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

/** Waits `ms`, or less if `stop` fires; leaves no listener behind. */
function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (stop.aborted) return resolve();
    const done = (): void => {
      timer.clear();
      stop.removeEventListener('abort', done);
      resolve();
    };
    const timer = setLongTimeout(done, Math.max(1, ms));
    stop.addEventListener('abort', done, { once: true });
  });
}
