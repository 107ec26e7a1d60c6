import { AbortedError, ConnectionClosedError, type EventOverflowError } from '../errors.js';
import { EventHistory, EventQueue, matchesData, type EventFilter } from './events.js';
import type { QmpEvent } from '../qapi/types.js';
import { boundedWait, type WaitOptions } from '../util/wait.js';

export interface EventWaitOptions extends WaitOptions {
  /** Also consider buffered events from this cursor on (see `eventCursor`). */
  since?: number | undefined;
}

export interface EventStreamOptions extends EventFilter {
  /** When it fires, the stream rejects with AbortedError (after the events already queued); return() ends it quietly. */
  signal?: AbortSignal | undefined;
  /** Replay buffered events from this cursor first. */
  since?: number | undefined;
  /** Queue bound before the stream fails as too slow. Default 10,000. */
  maxQueued?: number | undefined;
  /** Called at once when the queue overflows (the iterator throws the same error once its consumer asks). */
  onOverflow?: ((error: EventOverflowError) => void) | undefined;
}

/** A QMP event message as the client hands it on (data always an object), or undefined without a name. */
export function toEvent(message: Record<string, unknown>): QmpEvent | undefined {
  if (typeof message.event !== 'string') return undefined;
  const data = message.data;
  return {
    event: message.event,
    data: data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {},
    timestamp: (message.timestamp as QmpEvent['timestamp'] | undefined) ?? { seconds: -1, microseconds: -1 },
  };
}

/**
 * Where a client's events go: the history (for `since` waits), the bounded streams and the waiters.
 * Kept apart from the client so the connection logic and the event logic each stay readable.
 */
export class EventHub {
  readonly history: EventHistory;
  private readonly queues = new Set<EventQueue>();
  private readonly waiters = new Set<{ onEvent: (event: QmpEvent) => void; onClose: (error: Error | undefined) => void }>();
  private ended: { byUs: boolean; reason: Error | undefined } | undefined;

  constructor(
    capacity: number,
    private readonly peer: string,
  ) {
    this.history = new EventHistory(capacity);
  }

  deliver(event: QmpEvent): void {
    this.history.add(event);
    for (const queue of this.queues) queue.offer(event);
    for (const waiter of [...this.waiters]) waiter.onEvent(event);
  }

  /** The connection ended: streams end (with `lost` unless we closed), waiters reject. */
  close(byUs: boolean, reason: Error | undefined, lost: ConnectionClosedError): void {
    this.ended = { byUs, reason };
    for (const queue of [...this.queues]) queue.end(byUs ? undefined : lost);
    const error = byUs ? undefined : (reason ?? new ConnectionClosedError(`${this.peer} closed the connection`));
    for (const waiter of [...this.waiters]) waiter.onClose(error);
  }

  waitFor(name: string, match: Record<string, unknown> | ((event: QmpEvent) => boolean) | undefined, options: EventWaitOptions): Promise<QmpEvent> {
    const accepts = (event: QmpEvent): boolean =>
      event.event === name && (match === undefined || (typeof match === 'function' ? match(event) : matchesData(event.data, match)));
    return boundedWait<QmpEvent>(`waiting for event ${name}`, options, (resolve, reject) => {
      if (options.since !== undefined) {
        const found = this.history.since(options.since).find(accepts);
        if (found) {
          resolve(found);
          return () => {};
        }
      }
      if (this.ended) {
        reject(new ConnectionClosedError(`connection to ${this.peer} is closed; ${name} will not arrive`, { cause: this.ended.reason }));
        return () => {};
      }
      const waiter = {
        onEvent: (event: QmpEvent): void => {
          if (accepts(event)) resolve(event);
        },
        onClose: (error: Error | undefined): void =>
          reject(new ConnectionClosedError(`connection to ${this.peer} closed while waiting for ${name}`, { cause: error })),
      };
      this.waiters.add(waiter);
      return () => this.waiters.delete(waiter);
    });
  }

  stream(options: EventStreamOptions): AsyncIterableIterator<QmpEvent> {
    const { signal } = options;
    const onAbort = (): void => queue.end(new AbortedError('reading the event stream', { cause: signal?.reason }));
    // Ending the queue (by return(), the signal, overflow or close) removes the abort listener too:
    // a signal reused for many streams would otherwise keep one listener per stream ever made.
    const unsubscribe = (q: EventQueue): void => {
      this.queues.delete(q);
      signal?.removeEventListener('abort', onAbort);
    };
    const queue = new EventQueue(options, options.maxQueued ?? 10_000, unsubscribe, options.onOverflow);
    if (options.since !== undefined) {
      for (const event of this.history.since(options.since)) queue.offer(event);
    }
    if (this.ended) {
      const reason = this.ended.reason;
      queue.end(reason ? new ConnectionClosedError(`connection to ${this.peer} is closed`, { cause: reason }) : undefined);
      return queue;
    }
    this.queues.add(queue);
    if (signal) {
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
    return queue;
  }
}
