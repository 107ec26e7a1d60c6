/*
 * The one place that turns a duration into a timer. Node's setTimeout takes at most 2^31-1 ms (a
 * longer delay fires after 1 ms with a TimeoutOverflowWarning) and AbortSignal.timeout wants an
 * integer (16.1 s = 16100.000000000002 ms throws "The value of "delay" is out of range"). Every
 * timeout in the library, the CLI and mock-qmp goes through here instead.
 */

/** The longest delay one node timer takes. Longer waits are chained timers. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A timer that may be longer than node allows; `clear()` stops it. */
export interface LongTimer {
  clear(): void;
  /** Lets the process exit while the timer is pending (as Timeout.unref). Returns the timer. */
  unref(): LongTimer;
}

/**
 * Checks a timeout in milliseconds: a number > 0 (fractions are fine: they round up), or Infinity
 * for none. Anything else (NaN, 0, negative) is a RangeError naming `what`.
 */
export function checkTimeoutMs(ms: number, what = 'timeout'): number {
  if (typeof ms !== 'number' || Number.isNaN(ms) || !(ms > 0)) {
    throw new RangeError(`${what} must be a positive number of milliseconds (or Infinity), got ${String(ms)}`);
  }
  return ms;
}

/** Calls `callback` once after `ms` milliseconds, for any ms > 0 (rounded up to whole ms; Infinity never fires). */
export function setLongTimeout(callback: () => void, ms: number): LongTimer {
  checkTimeoutMs(ms);
  let timer: NodeJS.Timeout | undefined;
  let unrefd = false;
  const deadline = performance.now() + ms;
  const arm = (left: number): void => {
    if (left === Infinity) return;
    timer = setTimeout(
      () => {
        const remaining = deadline - performance.now();
        if (remaining > 0.5) arm(remaining);
        else callback();
      },
      Math.max(1, Math.min(MAX_TIMER_MS, Math.ceil(left))),
    );
    if (unrefd) timer.unref();
  };
  arm(ms);
  const handle: LongTimer = {
    clear: () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
    unref: () => {
      unrefd = true;
      timer?.unref();
      return handle;
    },
  };
  return handle;
}

/**
 * Resolves after `ms` (as setLongTimeout), or at once when `signal` fires: the pause between two polls
 * of something that sends no notice (a guest agent's exec status, a socket not listening yet).
 */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      timer.clear();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setLongTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * AbortSignal.timeout for any ms > 0: aborts with a "TimeoutError" DOMException, as the original.
 * Like AbortSignal.timeout, the timer does not keep the process alive.
 */
export function timeoutSignal(ms: number): AbortSignal {
  const controller = new AbortController();
  setLongTimeout(() => controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms).unref();
  return controller.signal;
}
