/*
 * What a replay session sends, in due-time order: replies, events, raw bytes (faults) and the close,
 * with the backpressure that keeps a client that never reads from growing the queue without bound.
 */
import type { QmpMessage } from '../src/framing.js';
import type { ByteStream } from '../src/transport/byte-stream.js';
import { setLongTimeout, type LongTimer } from '../src/util/timers.js';
import type { FaultPlan } from './faults.js';

/** Output waiting for its time. Kept sorted by due time, then by insertion order. */
export interface Outgoing {
  due: number;
  seq: number;
  kind: 'message' | 'raw' | 'close';
  message?: QmpMessage;
  raw?: string;
  /** A reply (counted for backpressure), not an event. */
  reply?: boolean;
}

const MAX_QUEUED_REPLIES = 1024;
const MAX_INPUT_BACKLOG = 1024 * 1024;

export class OutputQueue {
  private readonly queue: Outgoing[] = [];
  private seq = 0;
  private timer: LongTimer | undefined;
  private writing = false;
  /** Set once the connection is over: nothing more is queued. */
  done = false;
  /** Replies queued and not yet written; with the parser's backlog, what decides reading (flow). */
  private repliesQueued = 0;
  private paused = false;

  constructor(
    private readonly stream: ByteStream,
    private readonly faults: FaultPlan,
    private readonly inputBacklog: () => number,
    private readonly negotiated: () => boolean,
  ) {}

  /**
   * Backpressure: a client that sends and never reads must not make the server queue replies without
   * bound (200k commands once took 207 MB). Reading stops while many replies wait to be written or
   * the parser is behind, and resumes when both are low again.
   */
  flow(): void {
    const busy = this.repliesQueued >= MAX_QUEUED_REPLIES || this.inputBacklog() >= MAX_INPUT_BACKLOG;
    if (busy && !this.paused) {
      this.paused = true;
      this.stream.pause();
    } else if (this.paused && this.repliesQueued < MAX_QUEUED_REPLIES / 4 && this.inputBacklog() < MAX_INPUT_BACKLOG / 4) {
      this.paused = false;
      this.stream.resume();
    }
  }

  stop(): void {
    this.done = true;
    this.timer?.clear();
    this.queue.length = 0;
    this.repliesQueued = 0;
  }

  /** A reply outside the recorded timeline (errors, repeated queries): sent now, ahead of pending events. */
  replyNow(now: number, message: QmpMessage, command?: string): void {
    this.reply(now + (command ? this.faults.extraDelayMs(command) : 0), message, command);
  }

  reply(due: number, message: QmpMessage, command: string | undefined): void {
    const raw = command ? this.faults.replaceReply(command, this.negotiated(), message.id) : undefined;
    this.enqueue(due, raw === undefined ? { kind: 'message', message, reply: true } : { kind: 'raw', raw, reply: true });
    if (!this.done) this.repliesQueued += 1;
    this.flow();
  }

  enqueue(due: number, item: Omit<Outgoing, 'due' | 'seq'>): void {
    if (this.done) return;
    const entry: Outgoing = { ...item, due, seq: this.seq++ };
    let at = this.queue.length;
    while (at > 0 && this.queue[at - 1]!.due > due) at--;
    this.queue.splice(at, 0, entry);
    this.pump();
  }

  private pump(): void {
    if (this.writing || (this.done && this.queue.length === 0)) return;
    if (this.timer) {
      this.timer.clear();
      this.timer = undefined;
    }
    const head = this.queue[0];
    if (!head) return;
    const wait = head.due - performance.now();
    if (wait > 0) {
      this.timer = setLongTimeout(() => {
        this.timer = undefined;
        this.pump();
      }, wait);
      return;
    }
    this.queue.shift();
    this.writing = true;
    void this.emit(head).then(() => {
      this.writing = false;
      if (head.reply) {
        this.repliesQueued -= 1;
        this.flow();
      }
      this.pump();
    });
  }

  private async emit(item: Outgoing): Promise<void> {
    if (item.kind === 'close') {
      this.stream.end();
      this.stop();
      return;
    }
    if (item.kind === 'message' && item.message) {
      const name = typeof item.message.event === 'string' ? item.message.event : undefined;
      const copies = name ? this.faults.eventCopies(name) : 1;
      for (let i = 0; i < copies; i++) {
        if (this.faults.closeBefore(item.message)) {
          this.stream.end();
          this.stop();
          return;
        }
        await this.write(`${JSON.stringify(item.message)}\r\n`);
      }
      return;
    }
    if (item.raw !== undefined) {
      if (this.faults.closeBefore({})) {
        this.stream.end();
        this.stop();
        return;
      }
      await this.write(item.raw);
    }
  }

  private async write(text: string): Promise<void> {
    if (!this.faults.byteByByte) {
      await this.stream.write(text);
      return;
    }
    for (const byte of Buffer.from(text)) {
      if (!(await this.stream.write(Uint8Array.of(byte)))) return;
      // A turn of the event loop between bytes, so the client reads them one at a time.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
