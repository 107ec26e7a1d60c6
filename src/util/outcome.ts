/**
 * A result that arrives once, with listeners that can be removed. A promise cannot forget a `.then`:
 * a wait that gave up (timeout, abort) would leave its handler on the promise until it settles, so
 * a caller polling `job.waitUntilReady({ timeoutMs })` in a loop grew by one closure per call.
 */
export class Outcome<T> {
  private settled: { value: T } | { error: Error } | undefined;
  private readonly listeners = new Set<{ onValue: (value: T) => void; onError: (error: Error) => void }>();

  get isSettled(): boolean {
    return this.settled !== undefined;
  }

  resolve(value: T): void {
    this.settle({ value });
  }

  reject(error: Error): void {
    this.settle({ error });
  }

  /**
   * Calls one of the handlers once the outcome is known (in a microtask, as `.then` would), unless
   * the returned function was called first.
   */
  subscribe(onValue: (value: T) => void, onError: (error: Error) => void): () => void {
    const listener = { onValue, onError };
    if (this.settled) {
      const settled = this.settled;
      let cancelled = false;
      queueMicrotask(() => {
        if (!cancelled) deliver(listener, settled);
      });
      return () => (cancelled = true);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private settle(settled: { value: T } | { error: Error }): void {
    if (this.settled) return;
    this.settled = settled;
    const listeners = [...this.listeners];
    this.listeners.clear();
    queueMicrotask(() => {
      for (const listener of listeners) deliver(listener, settled);
    });
  }
}

function deliver<T>(listener: { onValue: (value: T) => void; onError: (error: Error) => void }, settled: { value: T } | { error: Error }): void {
  if ('value' in settled) listener.onValue(settled.value);
  else listener.onError(settled.error);
}
