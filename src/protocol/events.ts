import { EventOverflowError, ProtocolError, type QmpError } from '../errors.js';
import { eventJobId, type QmpEvent } from '../qapi/types.js';

/** Which events a subscriber wants. All given criteria must match. */
export interface EventFilter {
  /** Event names to accept. */
  names?: readonly string[] | undefined;
  /** Only events about this job (JOB_STATUS_CHANGE.id, BLOCK_JOB_*.device, BLOCK_JOB_PENDING.id). */
  jobId?: string | undefined;
  /** Any further test. */
  where?: ((event: QmpEvent) => boolean) | undefined;
}

export function matchesFilter(event: QmpEvent, filter: EventFilter): boolean {
  if (filter.names && !filter.names.includes(event.event)) return false;
  if (filter.jobId !== undefined && eventJobId(event) !== filter.jobId) return false;
  if (filter.where && !filter.where(event)) return false;
  return true;
}

/** True when every member of `pattern` equals the same member of `data` (shallow). */
export function matchesData(data: Record<string, unknown>, pattern: Record<string, unknown>): boolean {
  for (const key of Object.keys(pattern)) {
    if (data[key] !== pattern[key]) return false;
  }
  return true;
}

interface Buffered {
  seq: number;
  event: QmpEvent;
}

/**
 * The last N events with sequence numbers. A caller takes a cursor before sending a command and
 * later asks for everything since it, so an event that arrived before the reply is never missed
 * (QEMU sends JOB_STATUS_CHANGE "created" and "running" before the block-commit reply).
 */
export class EventHistory {
  private readonly ring: Array<Buffered | undefined>;
  private nextSeq = 0;

  constructor(readonly capacity: number) {
    if (!(capacity >= 1)) throw new RangeError('event history capacity must be at least 1');
    this.ring = new Array<Buffered | undefined>(capacity);
  }

  /** The sequence number the next event will get. */
  get cursor(): number {
    return this.nextSeq;
  }

  add(event: QmpEvent): number {
    const seq = this.nextSeq++;
    this.ring[seq % this.capacity] = { seq, event };
    return seq;
  }

  /** Buffered events with seq >= since, oldest first (older ones than the buffer holds are gone). */
  since(since: number): QmpEvent[] {
    const out: QmpEvent[] = [];
    const first = Math.max(since, this.nextSeq - this.capacity, 0);
    for (let seq = first; seq < this.nextSeq; seq++) {
      const slot = this.ring[seq % this.capacity];
      if (slot && slot.seq === seq) out.push(slot.event);
    }
    return out;
  }
}

/**
 * A bounded FIFO of events for one consumer, exposed as an async iterator. It starts listening
 * when created, so nothing is missed between creation and the first `next()`. When the consumer
 * falls more than `maxQueued` events behind, the iterator fails instead of growing without bound.
 */
export class EventQueue implements AsyncIterableIterator<QmpEvent> {
  private readonly queue: QmpEvent[] = [];
  private head = 0;
  private waiter: { resolve: (r: IteratorResult<QmpEvent>) => void; reject: (e: Error) => void } | undefined;
  private finished = false;
  private failure: Error | undefined;

  constructor(
    private readonly filter: EventFilter,
    private readonly maxQueued: number,
    private readonly unsubscribe: (queue: EventQueue) => void,
    private readonly onOverflow?: (error: EventOverflowError) => void,
  ) {}

  /** Called by the client for every event. */
  offer(event: QmpEvent): void {
    if (this.finished || !matchesFilter(event, this.filter)) return;
    if (this.waiter) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve({ value: event, done: false });
      return;
    }
    if (this.queue.length - this.head >= this.maxQueued) {
      this.fail(new EventOverflowError(this.maxQueued));
      return;
    }
    this.queue.push(event);
  }

  /** Ends the stream: cleanly when `error` is undefined, else `next()` throws it after the queue drains. */
  end(error?: QmpError): void {
    if (this.finished) return;
    this.finished = true;
    this.failure = error;
    this.unsubscribe(this);
    if (this.waiter) {
      const waiter = this.waiter;
      this.waiter = undefined;
      if (error) waiter.reject(error);
      else waiter.resolve({ value: undefined, done: true });
    }
  }

  private fail(error: EventOverflowError): void {
    this.queue.length = 0;
    this.head = 0;
    this.end(error);
    this.onOverflow?.(error);
  }

  next(): Promise<IteratorResult<QmpEvent>> {
    if (this.head < this.queue.length) {
      const value = this.queue[this.head++] as QmpEvent;
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.finished) {
      if (this.failure) {
        const failure = this.failure;
        this.failure = undefined;
        return Promise.reject(failure);
      }
      return Promise.resolve({ value: undefined, done: true });
    }
    if (this.waiter) return Promise.reject(new ProtocolError('next() called again before the previous call settled'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<QmpEvent>> {
    this.end();
    this.failure = undefined;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<QmpEvent> {
    return this;
  }
}
