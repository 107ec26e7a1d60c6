import { AbortedError, QmpTimeoutError } from '../errors.js';
import { checkTimeoutMs, setLongTimeout, type LongTimer } from './timers.js';

export interface WaitOptions {
  /** Give up after this many milliseconds. `undefined` or `Infinity`: no time limit (the signal still applies). */
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Runs `start(resolve, reject)` and settles with it, but rejects with QmpTimeoutError or
 * AbortedError first if the time runs out or the signal fires. `start` returns a cleanup
 * that always runs exactly once, whichever way the wait ends.
 */
export function boundedWait<T>(
  what: string,
  options: WaitOptions,
  start: (resolve: (value: T) => void, reject: (error: Error) => void) => () => void,
): Promise<T> {
  const { timeoutMs, signal } = options;
  // A bad timeout is the caller's bug: say so now, before anything was started.
  if (timeoutMs !== undefined) checkTimeoutMs(timeoutMs, `the timeout of ${what}`);
  if (signal?.aborted) return Promise.reject(new AbortedError(what, { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let timer: LongTimer | undefined;
    let cleanup: (() => void) | undefined;
    const onAbort = (): void => finish(() => reject(new AbortedError(what, { cause: signal?.reason })));
    const finish = (settle: () => void): void => {
      if (done) return;
      done = true;
      timer?.clear();
      signal?.removeEventListener('abort', onAbort);
      cleanup?.();
      settle();
    };
    cleanup = start(
      (value) => finish(() => resolve(value)),
      (error) => finish(() => reject(error)),
    );
    // start() may have settled synchronously, before cleanup was assigned.
    if (done) {
      cleanup();
      return;
    }
    if (timeoutMs !== undefined && Number.isFinite(timeoutMs)) {
      timer = setLongTimeout(() => finish(() => reject(new QmpTimeoutError(what, timeoutMs))), timeoutMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
