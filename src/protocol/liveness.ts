import type { QmpClient } from './client.js';
import { MonitorUnresponsiveError, QmpCommandError, QmpTimeoutError } from './errors.js';
import { setLongTimeout } from '../util/timers.js';

export interface LivenessOptions {
  /** How long a probe may go unanswered. Default: the client's command timeout (30 s). */
  timeoutMs?: number;
  /** Pause between an answer and the next probe. Default: half the timeout, at most 5 s. */
  intervalMs?: number;
  /** Stops watching (the promise then resolves). */
  signal?: AbortSignal;
}

/**
 * Probes the monitor with `query-status` (cheap, answered even while a job runs) one at a time and
 * rejects with MonitorUnresponsiveError when a probe goes unanswered for `timeoutMs`. Resolves when
 * the signal fires or the connection closes (whoever waits on the connection learns why from its
 * own error, which says more than "closed"). Race it against a long wait for events:
 * `Promise.race([job.waitUntilReady(), client.watchLiveness({ signal })])`.
 */
export async function watchLiveness(client: QmpClient, options: LivenessOptions = {}): Promise<void> {
  const timeoutMs = options.timeoutMs ?? client.commandTimeoutMs;
  const intervalMs = options.intervalMs ?? Math.min(5000, timeoutMs / 2);
  const { signal } = options;
  let closed = false;
  void client.closed().then(() => (closed = true));
  while (!signal?.aborted && !closed && Number.isFinite(timeoutMs)) {
    try {
      await client.execute('query-status', undefined, { timeoutMs, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (error instanceof QmpTimeoutError) throw new MonitorUnresponsiveError(client.peer, timeoutMs, { cause: error });
      // An error reply is an answer too; anything else (aborted, closed) ends the watch.
      if (!(error instanceof QmpCommandError)) return;
    }
    await pause(intervalMs, signal, client);
  }
  if (!Number.isFinite(timeoutMs) && !signal?.aborted && !closed) await pause(Infinity, signal, client);
}

/** Waits `ms`, or less if the signal fires or the connection closes; leaves no listener behind. */
function pause(ms: number, signal: AbortSignal | undefined, client: QmpClient): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      timer.clear();
      signal?.removeEventListener('abort', done);
      client.off('close', done);
      resolve();
    };
    const timer = setLongTimeout(done, Math.max(1, ms));
    signal?.addEventListener('abort', done, { once: true });
    client.once('close', done);
  });
}
