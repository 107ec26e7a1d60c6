/*
 * How far a modelled job has copied: its offset grows while it runs, at the client's own `speed`
 * (bytes per second of real time, as QEMU's rate limit: the client's, not the recording's, so neither
 * `--speed` nor `--instant` changes it), or unthrottled at the recording's pace (its length over the
 * recorded time to the step that finished the copy), scaled as the replay (`--instant`: at once).
 */
export class CopyProgress {
  private copied = 0;
  private at = performance.now();
  private running = false;

  constructor(
    readonly len: number,
    private readonly recordedMs: number,
    private readonly scale: number,
    private speed: number,
  ) {}

  /** Bytes copied now. */
  offset(): number {
    if (!this.running) return this.copied;
    const rate = this.rate();
    if (rate === Infinity) return this.len;
    return Math.min(this.len, Math.floor(this.copied + rate * (performance.now() - this.at)));
  }

  setRunning(running: boolean): void {
    this.checkpoint();
    this.running = running;
  }

  setSpeed(speed: number): void {
    this.checkpoint();
    this.speed = speed;
  }

  finish(): void {
    this.copied = this.len;
    this.at = performance.now();
    this.running = false;
  }

  /** Milliseconds until the copy is done at the client's speed from now. */
  remainingMs(): number {
    const left = this.len - this.offset();
    const rate = this.rate();
    return left <= 0 || rate === Infinity ? 0 : left / rate;
  }

  /** Bytes per millisecond. */
  private rate(): number {
    if (this.speed > 0) return this.speed / 1000;
    return this.recordedMs > 0 && this.scale > 0 ? this.len / (this.recordedMs * this.scale) : Infinity;
  }

  private checkpoint(): void {
    this.copied = this.offset();
    this.at = performance.now();
  }
}
