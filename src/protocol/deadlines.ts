import { setLongTimeout, type LongTimer } from '../util/timers.js';

/**
 * Deadlines of commands sent with the client's default timeout, checked by one timer per client
 * instead of one setTimeout per command (the round-trip hot path stays a map entry and a clock read).
 * All of them share one timeout, so their deadlines rise in the order they were added: the oldest
 * entry of the (insertion-ordered) map is always the next to expire. The timer is armed for it;
 * when it fires, every expired entry is handed to `expire` and the timer is re-armed for the next.
 */
export class CommandDeadlines {
  private readonly deadlines = new Map<number, number>();
  private timer: LongTimer | undefined;
  private armedFor = Infinity;

  constructor(
    readonly timeoutMs: number,
    private readonly expire: (id: number) => void,
  ) {}

  add(id: number): void {
    const deadline = performance.now() + this.timeoutMs;
    this.deadlines.set(id, deadline);
    if (this.timer === undefined) this.arm(deadline);
  }

  /** The command was answered (or failed otherwise): its deadline no longer matters. */
  delete(id: number): void {
    // The timer stays armed for a deadline that may be gone; when it fires it re-arms for the next.
    this.deadlines.delete(id);
  }

  clear(): void {
    this.deadlines.clear();
    this.timer?.clear();
    this.timer = undefined;
  }

  private arm(deadline: number): void {
    this.armedFor = deadline;
    this.timer = setLongTimeout(() => this.check(), Math.max(1, deadline - performance.now()));
    // A pending command's socket keeps the process alive; this timer need not.
    this.timer.unref();
  }

  private check(): void {
    this.timer = undefined;
    const now = performance.now();
    for (const [id, deadline] of this.deadlines) {
      if (deadline > now) {
        this.arm(deadline);
        return;
      }
      this.deadlines.delete(id);
      this.expire(id);
    }
    this.armedFor = Infinity;
  }

  /** For tests and benchmarks: when the timer fires next (Infinity: not armed). */
  get nextCheck(): number {
    return this.timer === undefined ? Infinity : this.armedFor;
  }
}
