/*
 * The jobs one transaction started (a grouped backup): their steps go out in the order QEMU sent
 * them, by the recorded events' timestamps, not job by job (a job's step waits for an earlier
 * recorded step of another job) — so QEMU's grouped completion (each job waiting until all are done,
 * then pending, completed and gone one after the other) is in that order, --instant or not.
 */
import type { QmpMessage } from '../../src/framing.js';
import { isJsonObject as isObject } from '../../src/util/json.js';
import { setLongTimeout, type LongTimer } from '../../src/util/timers.js';

interface Due {
  owner: object;
  /** The recorded event's time, microseconds. */
  at: number;
  due: number;
  run: () => void;
}

/** Microseconds of a recorded event's timestamp (0 when it has none). */
export function recordedMicros(event: QmpMessage): number {
  const ts = event.timestamp;
  return isObject(ts) && typeof ts.seconds === 'number' && typeof ts.microseconds === 'number' ? ts.seconds * 1e6 + ts.microseconds : 0;
}

export class JobGroup {
  private pending: Due[] = [];
  private timer: LongTimer | undefined;

  /** Set while the transaction's jobs are being started: nothing runs until all have scheduled. */
  private held = true;
  private flushing = false;

  /**
   * `owner`'s next step, recorded at `event`, is due in `delayMs`: run it then, in recorded order
   * among what is due. What is due now runs at once, as a lone job's steps do (so --instant sends a
   * whole run of steps before the next command is answered).
   */
  schedule(owner: object, event: QmpMessage, delayMs: number, run: () => void): void {
    this.pending.push({ owner, at: recordedMicros(event), due: performance.now() + Math.max(delayMs, 0), run });
    if (delayMs <= 0 && !this.held) this.flush();
    this.arm();
  }

  /** Every job of the transaction has scheduled its first step: play on. */
  release(): void {
    this.held = false;
    this.flush();
    this.arm();
  }

  /** Runs what is due now, earliest recorded first, including what those runs schedule as due now. */
  private flush(): void {
    if (this.flushing) return;
    this.flushing = true;
    try {
      // Each job that is not waiting for a verb has its next step here, so the earliest recorded one
      // goes first, when it is due, even if another job's later step is due before it.
      for (let first = this.first(); first && first.due <= performance.now(); first = this.first()) {
        this.pending.splice(this.pending.indexOf(first), 1);
        first.run();
      }
    } finally {
      this.flushing = false;
    }
  }

  /** Drops what `owner` had scheduled (its timer stopped: cancelled, or the model stopped). */
  cancel(owner: object): void {
    this.pending = this.pending.filter((d) => d.owner !== owner);
    if (!this.pending.length) {
      this.timer?.clear();
      this.timer = undefined;
    }
  }

  private first(): Due | undefined {
    return this.pending.reduce<Due | undefined>((a, b) => (a === undefined || b.at < a.at ? b : a), undefined);
  }

  private arm(): void {
    const first = this.first();
    if (this.timer || this.held || !first) return;
    this.timer = setLongTimeout(() => this.fire(), Math.max(first.due - performance.now(), 0.001));
  }

  private fire(): void {
    this.timer = undefined;
    this.flush();
    this.arm();
  }
}
